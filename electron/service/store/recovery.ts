/**
 * Crash recovery, run when the store opens (the service's runs in the
 * background after, and per mailbox before its first use: see
 * jobs/open-recovery.ts): finishes what a crash cut short and sweeps away
 * what it left behind. Nothing here can make a message
 * appear half-written: unfinished deliveries only ever live in tmp/.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { domainNameProblem, mailboxNameProblem } from '../../../shared/names.js';
import { ATOMIC_TEMP_PREFIX } from './atomic-file.js';
import { forEachLimit, isCode, isProcessAlive, pidInName, readdirOrEmpty } from './fs-util.js';
import { EXPUNGE_RECORD, MAILDROP_LOCK, spoolDir, STAGING_PREFIX, STATE_DIR, trashDir } from './layout.js';
import { sweepHolders } from './maildrop-holder.js';
import { sweepMaildropLock } from './maildrop-lock.js';
import { completePendingExpunges } from './maildir.js';
import { ownHostTag, parseMessageName, writerOf } from './message-names.js';

/** Maildir's rule: a tmp/ file untouched for 36 hours is abandoned. */
export const TMP_MAX_AGE_MS = 36 * 3600 * 1000;
/** Staging folders and temp files of a live process are left alone unless this old. */
export const STAGING_MAX_AGE_MS = 3600 * 1000;
const PARALLEL = 64;

export interface RecoveryReport {
  trashRemoved: number;
  stagingRemoved: number;
  tmpRemoved: number;
  expungesCompleted: number;
}

/** True for a staging folder or temp file whose writer is gone (another process that died) or that is old. */
async function abandoned(file: string, name: string, prefix: string, now: number): Promise<boolean> {
  const pid = pidInName(name, prefix);
  if (pid !== null && pid !== process.pid && !isProcessAlive(pid)) return true;
  try {
    return now - (await fsp.lstat(file)).mtimeMs > STAGING_MAX_AGE_MS;
  } catch {
    return false;
  }
}

/** Calls at a time of a gentle removal (see removeTreeGently). */
const GENTLE_PARALLEL = 4;

async function removeTree(p: string, log: Logger, gentle = false): Promise<boolean> {
  try {
    if (gentle) await removeTreeGently(p);
    else await fsp.rm(p, { recursive: true, force: true, maxRetries: 3 });
    return true;
  } catch (err) {
    log.warn('Could not remove a leftover folder; will retry at the next start', { path: p, error: (err as Error).message });
    return false;
  }
}

/**
 * Removes a folder tree a few calls at a time (fs.rm issues one call per
 * entry at once): a running service's sessions share libuv's thread pool,
 * and a deleted domain of 100,000 mailboxes is millions of entries.
 */
async function removeTreeGently(p: string): Promise<void> {
  let entries;
  try {
    entries = await fsp.readdir(p, { withFileTypes: true });
  } catch (err) {
    if (isCode(err, 'ENOENT')) return;
    if (!isCode(err, 'ENOTDIR')) throw err;
    await fsp.rm(p, { force: true });
    return;
  }
  for (const e of entries) if (e.isDirectory()) await removeTreeGently(path.join(p, e.name));
  await forEachLimit(
    entries.filter((e) => !e.isDirectory()),
    GENTLE_PARALLEL,
    (e) => fsp.rm(path.join(p, e.name), { force: true }),
  );
  await fsp.rmdir(p).catch((err: unknown) => {
    if (!isCode(err, 'ENOENT')) throw err;
  });
}

/** Is this tmp/ file abandoned: old, or written by a process of this host that no longer runs? */
async function staleTmp(file: string, name: string, now: number): Promise<boolean> {
  const parsed = parseMessageName(name);
  const writer = parsed ? writerOf(parsed.unique) : null;
  if (writer && writer.host === ownHostTag() && writer.pid !== process.pid && !isProcessAlive(writer.pid)) return true;
  try {
    return now - (await fsp.lstat(file)).mtimeMs > TMP_MAX_AGE_MS;
  } catch {
    return false;
  }
}

/** Runs work that changes what a listing shows (finishing an expunge) as a change of the store's index. */
export type ChangeRunner = <T>(work: () => Promise<T>) => Promise<T>;

const runDirectly: ChangeRunner = (work) => work();

/**
 * Recovers one mailbox: pending expunges (unless a live session holds the
 * maildrop), a maildrop lock whose holder is gone, leftover temp files,
 * abandoned tmp/ files. Finishing an expunge changes the mailbox's counts, so it runs
 * through `asChange` (the store's index: it keeps listing snapshots honest).
 */
export async function recoverMailbox(dir: string, fsync: boolean, log: Logger, report: RecoveryReport, now = Date.now(), asChange: ChangeRunner = runDirectly): Promise<void> {
  const tmp = path.join(dir, 'tmp');
  const [entries, tmpEntries] = await Promise.all([readdirOrEmpty(dir), readdirOrEmpty(tmp)]);
  // A live holder of the maildrop (another process's session) may be applying its expunge right now: it finishes it, or the next opener does.
  const held = entries.includes(MAILDROP_LOCK) && sweepMaildropLock(dir);
  if (!held && entries.some((n) => EXPUNGE_RECORD.test(n))) report.expungesCompleted += await asChange(() => completePendingExpunges(dir, fsync, log, entries));
  for (const name of entries) {
    if (name.startsWith(ATOMIC_TEMP_PREFIX) && (await abandoned(path.join(dir, name), name, ATOMIC_TEMP_PREFIX, now))) {
      await fsp.rm(path.join(dir, name), { force: true });
    }
  }
  for (const name of tmpEntries) {
    const file = path.join(tmp, name);
    if (await staleTmp(file, name, now)) {
      try {
        await fsp.unlink(file);
        report.tmpRemoved += 1;
      } catch (err) {
        if (!isCode(err, 'ENOENT', 'EISDIR', 'EPERM')) throw err;
      }
    }
  }
}

/**
 * Removes one leftover of a crash (an abandoned staging folder or temp file)
 * in a domain folder or the mail root; true when `name` is not a mailbox or
 * domain to look at (a dot name).
 */
export async function cleanLeftover(dir: string, name: string, log: Logger, report: RecoveryReport, now = Date.now()): Promise<boolean> {
  if (!name.startsWith('.')) return false;
  const p = path.join(dir, name);
  if (name.startsWith(STAGING_PREFIX) && (await abandoned(p, name, STAGING_PREFIX, now))) {
    if (await removeTree(p, log)) report.stagingRemoved += 1;
  } else if (name.startsWith(ATOMIC_TEMP_PREFIX) && (await abandoned(p, name, ATOMIC_TEMP_PREFIX, now))) {
    await fsp.rm(p, { force: true });
  }
  return true;
}

/** A domain folder as recovery read it: its modification time (ns) before the read, when the read began, and its mailbox folders. */
export interface DomainFolderRead {
  readonly stamp: bigint;
  readonly readAt: number;
  readonly mailboxes: string[];
}

/** Reads a domain folder's mailbox names and removes the leftovers of crashes there (staging folders, temp files). */
export async function recoverDomainFolder(root: string, domain: string, log: Logger, report: RecoveryReport, now = Date.now()): Promise<DomainFolderRead> {
  const dir = path.join(root, domain);
  const stamp = (await fsp.lstat(dir, { bigint: true })).mtimeNs;
  const readAt = Date.now();
  const mailboxes: string[] = [];
  for (const sub of await fsp.readdir(dir, { withFileTypes: true })) {
    if (await cleanLeftover(dir, sub.name, log, report, now)) continue;
    if (sub.isDirectory() && mailboxNameProblem(sub.name) === null && sub.name === sub.name.toLowerCase()) mailboxes.push(sub.name);
  }
  return { stamp, readAt, mailboxes };
}

/** Lets the store build its index during the one walk recovery makes anyway. */
export interface RecoveryVisitor {
  /** A domain folder was read (see DomainFolderRead). */
  domain(domain: string, read: DomainFolderRead): void;
  /** A mailbox has been recovered. */
  mailbox(domain: string, mailbox: string): Promise<void>;
  /** Runs recovery work that changes a mailbox's counts (see recoverMailbox). */
  change: <T>(domain: string, mailbox: string, work: () => Promise<T>) => Promise<T>;
}

/** True when something was recovered, i.e. a crash left work behind. */
export const recoveredAnything = (r: RecoveryReport): boolean => r.trashRemoved + r.stagingRemoved + r.tmpRemoved + r.expungesCompleted > 0;

/**
 * Runs recovery over the whole store. Problems in one mailbox are logged and
 * do not stop the rest. With `mailboxes: false` only the store-wide part runs
 * (trash, spool, leftovers in the mail root); the caller then recovers each
 * domain folder's leftovers when it first reads that folder, and each
 * mailbox on first use. `gentle`: the trash is emptied a few calls at a
 * time, for a store that serves meanwhile.
 */
export async function recoverStore(root: string, fsync: boolean, log: Logger, visitor?: RecoveryVisitor, options: { mailboxes?: boolean; gentle?: boolean } = {}): Promise<RecoveryReport> {
  const report: RecoveryReport = { trashRemoved: 0, stagingRemoved: 0, tmpRemoved: 0, expungesCompleted: 0 };
  const now = Date.now();
  const trash = trashDir(root);
  for (const name of await readdirOrEmpty(trash)) {
    if (await removeTree(path.join(trash, name), log, options.gentle)) report.trashRemoved += 1;
  }
  // SMTP spools a message for several recipients here; one a crash left behind is old and unread.
  const spool = spoolDir(root);
  for (const name of await readdirOrEmpty(spool)) {
    const file = path.join(spool, name);
    const age = await fsp.lstat(file).then((st) => now - st.mtimeMs, () => 0);
    if (age > STAGING_MAX_AGE_MS) await fsp.rm(file, { force: true }).catch(() => undefined);
  }
  // Holder files of maildrop locks whose process is gone: one per process, so a loop of crashes would pile them up.
  await sweepHolders(root, now).catch((err: unknown) => {
    log.warn('Could not remove the holder files of stopped processes; will retry at the next start', { error: (err as Error).message });
  });

  const walk = options.mailboxes !== false;
  const mailboxes: { domain: string; mailbox: string }[] = [];
  for (const entry of await fsp.readdir(root, { withFileTypes: true })) {
    if (entry.name === STATE_DIR) continue;
    if (await cleanLeftover(root, entry.name, log, report, now)) continue;
    if (!walk || !entry.isDirectory() || domainNameProblem(entry.name) !== null || entry.name !== entry.name.toLowerCase()) continue;
    try {
      const read = await recoverDomainFolder(root, entry.name, log, report, now);
      for (const mailbox of read.mailboxes) mailboxes.push({ domain: entry.name, mailbox });
      visitor?.domain(entry.name, read);
    } catch (err) {
      log.error('Recovery could not read a domain folder', { path: path.join(root, entry.name), error: (err as Error).message });
    }
  }
  await forEachLimit(mailboxes, PARALLEL, async ({ domain, mailbox }) => {
    try {
      await recoverMailbox(path.join(root, domain, mailbox), fsync, log, report, now, visitor ? (work) => visitor.change(domain, mailbox, work) : runDirectly);
      await visitor?.mailbox(domain, mailbox);
    } catch (err) {
      log.error('Recovery failed for a mailbox', { path: path.join(root, domain, mailbox), error: (err as Error).message });
    }
  });
  if (recoveredAnything(report)) log.info('Store recovery done', { ...report });
  return report;
}
