/**
 * One mailbox brought in step with its disk: recovered once (on first use,
 * until every mailbox has been), its unfinished expunges completed, and its
 * index entry (message count, bytes, own lock, problem) read from its folder.
 *
 * Part of the store's core (store-core.ts): log-in, delivery, listing and
 * the walk at open all look at a mailbox this way.
 */

import fs from 'node:fs';
import type { LockInfo } from '../../../shared/contract.js';
import type { Address } from '../../../shared/names.js';
import { keepable, readStamps } from './folder-stamps.js';
import { isDirectory } from './fs-util.js';
import { EXPUNGE_RECORD, mailboxDir, mailboxMetaFile } from './layout.js';
import type { MailboxEntry } from './mailbox-index.js';
import { completePendingExpunges, countMessages } from './maildir.js';
import { mailboxProblem, MetaFileError, missingMailboxMeta, readMailboxMeta } from './meta.js';
import { recoverMailbox } from './recovery.js';
import type { StoreCore } from './store-core.js';

/**
 * Recovers a mailbox the open did not (lazy recovery, or one the service's
 * background sweep has not reached yet): pending expunges, tmp/ leftovers.
 * Every first use waits for it, so no one sees the mailbox half recovered;
 * first uses at the same time (a log-in, a delivery, a listing, the sweep)
 * share one run. It takes no mutex, so a caller may hold the mailbox's.
 */
export function recoverOnce(core: StoreCore, a: Address): Promise<void> {
  const { recovery } = core;
  if (recovery.all || recovery.done.has(a.address)) return Promise.resolve();
  let running = recovery.running.get(a.address);
  if (!running) {
    running = recoverNow(core, a).finally(() => recovery.running.delete(a.address));
    recovery.running.set(a.address, running);
  }
  return running;
}

async function recoverNow(core: StoreCore, a: Address): Promise<void> {
  try {
    await recoverMailbox(mailboxDir(core.root, a), core.fsync, core.log, core.recovery.report, Date.now(), (work) =>
      core.index.change(a.domain, a.mailbox, work, (d) => d.entries.delete(a.mailbox)),
    );
  } catch (err) {
    // A one-shot command reports it. The service logs it and serves the mailbox, as a recovery at
    // open always did: an expunge it could not finish is finished, or the log-in refused, by finishExpunges.
    if (core.recovery.lazy) throw err;
    core.log.error('Recovery failed for a mailbox', { path: mailboxDir(core.root, a), error: (err as Error).message });
  }
  core.recovery.done.add(a.address);
}

/** Completes expunge records a crash left in this mailbox, if any. */
export async function finishExpunges(core: StoreCore, a: Address): Promise<void> {
  const dir = mailboxDir(core.root, a);
  // At every log-in, and nearly always nothing there: one system call, not a thread-pool round trip.
  const entries = fs.readdirSync(dir);
  if (!entries.some((n) => EXPUNGE_RECORD.test(n))) return;
  await core.index.change(
    a.domain,
    a.mailbox,
    () => completePendingExpunges(dir, core.fsync, core.log, entries),
    (d) => d.entries.delete(a.mailbox),
  );
}

/** Current counts of a mailbox, from the index or by scanning it once. */
export async function countsOf(core: StoreCore, a: Address): Promise<{ messages: number; bytes: number }> {
  const known = core.index.domains.get(a.domain)?.entries.get(a.mailbox);
  if (known) return { messages: known.messages, bytes: known.bytes };
  const entry = await core.index.load(a.domain, a.mailbox, () => scanMailbox(core, a));
  return entry ? { messages: entry.messages, bytes: entry.bytes } : { messages: 0, bytes: 0 };
}

/** One mailbox's index entry from disk; null when the mailbox does not exist. */
export async function scanMailbox(core: StoreCore, a: Address, opts: { known?: boolean } = {}): Promise<MailboxEntry | null> {
  const dir = mailboxDir(core.root, a);
  if (!opts.known && !(await isDirectory(dir))) return null;
  await recoverOnce(core, a);
  const metaRead = readMailboxMeta(mailboxMetaFile(core.root, a), a.address);
  metaRead.catch(() => undefined); // handled below, after the counts
  // Before the folders are read: a change while they are read moves the stamps past these.
  const readAt = performance.now();
  const stamps = keepable(await readStamps(dir));
  const counts = await countMessages(dir);
  let lock: LockInfo | null = null;
  let problem: string | null = null;
  try {
    const meta = await metaRead;
    // Listed a moment ago but gone now: deleted meanwhile, not broken.
    if (meta === null && opts.known && counts.messages === 0 && !(await isDirectory(dir))) return null;
    if (meta === null) problem = mailboxProblem(missingMailboxMeta(mailboxMetaFile(core.root, a), a.address));
    else lock = meta.lock;
  } catch (err) {
    if (!(err instanceof MetaFileError)) throw err;
    problem = mailboxProblem(err);
  }
  const known = core.index.domains.get(a.domain)?.entries.get(a.mailbox);
  // Found damaged, or whole again, since the index last looked (a fresh scan for getMailbox): say so to whoever shows it.
  if (known && (known.broken ? (known.problem ?? '') : null) !== problem) core.emit({ type: 'stateProblem', target: a.address, kind: 'mailbox', problem });
  if (problem === null) return { messages: counts.messages, bytes: counts.bytes, lock, broken: false, stamps, readAt };
  core.log.warn(problem);
  return { messages: counts.messages, bytes: counts.bytes, lock: null, broken: true, problem, stamps, readAt };
}
