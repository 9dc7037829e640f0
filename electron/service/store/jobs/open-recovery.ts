/**
 * Crash recovery when the store is opened.
 *
 * `full`: removes the lock files of stopped processes, holds every domain's
 * listing snapshot (listing-snapshot.ts), and walks every mailbox
 * (recovery.ts) before the store is used; the same walk builds the index of
 * every domain, so even the first listing is answered from memory. The
 * listing job then writes the snapshots of the big domains it holds.
 *
 * `lazy` (one-shot commands on a big store): only the store-wide state now,
 * and each mailbox when it is first used (mailbox-sync.ts).
 *
 * `background` (the service): only the stale lock files before the store is
 * used, so that the service serves at once whatever the store's size. Each
 * mailbox is recovered on first use, before anything of it is served, and a
 * sweep does what `full` does, a few calls at a time: each domain (held when
 * the sweep is the first to read it; its folder's leftovers removed) and each
 * of its mailboxes (recovered unless a first use did it, then scanned into
 * the index), then the store-wide part (trash, spool, the root's staging
 * folders: out of sight, so they can wait). A killed sweep leaves nothing
 * half done: each step is the same as at open, and the next start begins
 * again.
 */

import { performance } from 'node:perf_hooks';
import { forEachLimit, isCode } from '../fs-util.js';
import { recoverOnce, scanMailbox } from '../mailbox-sync.js';
import { passwordPoolStats } from '../passwords.js';
import { recoverDomainFolder, recoverStore, type RecoveryReport } from '../recovery.js';
import type { StoreCore } from '../store-core.js';

/**
 * Mailboxes the sweep works on at once: few, so that a log-in or a delivery
 * waits behind at most a dozen file-system calls of the sweep in libuv's
 * thread pool.
 */
const SWEEP_PARALLEL = 4;
/**
 * Longest the sweep waits, before each mailbox, while passwords are being
 * hashed: it yields to log-ins, and still gets through a flood of them.
 */
const YIELD_MAX_MS = 100;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits while a password is being hashed or waits to be. Hashing is a log-in's
 * CPU work, in threads that run at a lower priority than the service's own
 * (password-worker.ts): beside a running sweep on a busy machine, the first
 * log-ins after a start took twice as long.
 */
async function yieldToLogins(): Promise<void> {
  const until = Date.now() + YIELD_MAX_MS;
  for (;;) {
    const pool = passwordPoolStats();
    if (pool.running + pool.queued === 0 || Date.now() >= until) return;
    await pause(5);
  }
}

export async function recoverAtOpen(core: StoreCore, mode: 'full' | 'lazy'): Promise<RecoveryReport> {
  if (mode === 'lazy') {
    core.recovery.lazy = true;
    return recoverStore(core.root, core.fsync, core.log, undefined, { mailboxes: false });
  }
  core.recovery.all = true;
  takeOverStore(core);
  // Held before the walk, so that the walk's result plus this store's own changes stay exact (listing-snapshot.ts).
  await forEachLimit(await core.domainFolderNames(), 16, async (domain) => {
    await core.snapshots.hold(domain);
  });
  return recoverStore(core.root, core.fsync, core.log, {
    domain: (domain, read) => {
      const d = core.index.domain(domain);
      d.names = new Set(read.mailboxes);
      d.stamp = read.stamp;
      d.stampReadAt = read.readAt;
    },
    mailbox: async (domain, mailbox) => {
      const entry = await scanMailbox(core, { domain, mailbox, address: `${mailbox}@${domain}` }, { known: true });
      if (entry) core.index.domain(domain).entries.set(mailbox, entry);
    },
    change: (domain, mailbox, work) => core.index.change(domain, mailbox, work, (d) => d.entries.delete(mailbox)),
  });
}

/**
 * What a long-running store does before it is used: keeps its listing
 * change marks until it closes, and removes the lock files of stopped
 * processes.
 */
export function takeOverStore(core: StoreCore): void {
  core.snapshots.keepMarks = true;
  try {
    core.sweepLockFiles();
  } catch (err) {
    // Each stale lock file is also removed by the next change that needs it.
    core.log.warn('Could not remove the stale lock files of stopped processes', { error: (err as Error).message });
  }
}

/**
 * The background sweep of `background` recovery. Resolves when every
 * mailbox has been recovered (then `recovery.all` is set, `afterwards` has
 * run, e.g. the snapshots written, and "Store recovery finished" is
 * logged), when `recovery.stopping` was set, or when it could not go on
 * (logged; the mailboxes it did not reach are still recovered on first use).
 */
export async function sweepInBackground(core: StoreCore, afterwards: () => Promise<void>): Promise<void> {
  const { recovery, log } = core;
  const started = performance.now();
  let mailboxes = 0;
  log.info('Store recovery started in the background; each mailbox is recovered before its first use');
  try {
    for (const domain of await core.domainFolderNames()) {
      if (recovery.stopping) return;
      mailboxes += await sweepDomain(core, domain);
    }
    // Last: what is in the trash, the spool and the root's staging folders is out of everyone's sight.
    if (recovery.stopping) return;
    addTo(recovery.report, await recoverStore(core.root, core.fsync, log, undefined, { mailboxes: false, gentle: true }));
  } catch (err) {
    log.error('Store recovery stopped before the end; each mailbox it did not reach is recovered when first used', { error: (err as Error).message });
    return;
  }
  if (recovery.stopping) return;
  recovery.all = true;
  recovery.done.clear();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  await afterwards();
  log.info('Store recovery finished', { mailboxes, seconds, ...recovery.report });
}

/** Recovers one domain folder and each of its mailboxes; returns how many mailboxes it has. */
async function sweepDomain(core: StoreCore, domain: string): Promise<number> {
  const { index, snapshots, recovery, log } = core;
  const d = index.domain(domain);
  const untouched = (): boolean => d.stamp === null && d.reading === null;
  // Held only where the sweep builds the domain's index: it must be built after `held` exists (listing-snapshot.ts).
  if (untouched() && (await snapshots.hold(domain)) && !untouched()) await snapshots.release(domain);
  const quiet = index.inFlightIn(domain) === 0;
  const startedBefore = index.startedIn(domain);
  let read;
  try {
    read = await recoverDomainFolder(core.root, domain, log, recovery.report);
  } catch (err) {
    await snapshots.release(domain);
    if (!isCode(err, 'ENOENT', 'ENOTDIR')) log.error('Recovery could not read a domain folder', { domain, error: (err as Error).message });
    return 0;
  }
  // The domain's names, unless a change of this process overlapped the read: then the listing reads the folder again.
  if (untouched() && quiet && index.startedIn(domain) === startedBefore && index.inFlightIn(domain) === 0) {
    d.names = new Set(read.mailboxes);
    d.stamp = read.stamp;
    d.stampReadAt = read.readAt;
  }
  const names = read.mailboxes.sort();
  await forEachLimit(names, SWEEP_PARALLEL, async (mailbox) => {
    await yieldToLogins();
    if (recovery.stopping) return;
    const a = { domain, mailbox, address: `${mailbox}@${domain}` };
    try {
      await recoverOnce(core, a);
      await index.load(domain, mailbox, () => scanMailbox(core, a, { known: true }));
    } catch (err) {
      log.error('Recovery failed for a mailbox', { mailbox: a.address, error: (err as Error).message });
    }
  });
  // Stopped half-way: the domain's index is not whole, so no snapshot of it may be written from memory.
  if (recovery.stopping) await snapshots.release(domain);
  return names.length;
}

function addTo(total: RecoveryReport, more: RecoveryReport): void {
  total.trashRemoved += more.trashRemoved;
  total.stagingRemoved += more.stagingRemoved;
  total.tmpRemoved += more.tmpRemoved;
  total.expungesCompleted += more.expungesCompleted;
}
