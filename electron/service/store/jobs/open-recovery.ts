/**
 * Crash recovery when the store is opened, before it is used.
 *
 * `full` (the service): removes the lock files of stopped processes, holds
 * every domain's listing snapshot (listing-snapshot.ts), and walks every
 * mailbox (recovery.ts); the same walk builds the index of every domain, so
 * even the first listing is answered from memory. The listing job then
 * writes the snapshots of the big domains it holds. `lazy` (one-shot
 * commands on a big store): only the store-wide state now, and each mailbox
 * when it is first used (mailbox-sync.ts).
 */

import { forEachLimit } from '../fs-util.js';
import { scanMailbox } from '../mailbox-sync.js';
import { recoverStore, type RecoveryReport } from '../recovery.js';
import type { StoreCore } from '../store-core.js';

export async function recoverAtOpen(core: StoreCore, mode: 'full' | 'lazy'): Promise<RecoveryReport> {
  if (mode === 'lazy') {
    core.recovery.lazy = true;
    return recoverStore(core.root, core.fsync, core.log, undefined, { mailboxes: false });
  }
  core.recovery.all = true;
  core.snapshots.keepMarks = true;
  try {
    core.sweepLockFiles();
  } catch (err) {
    // Each stale lock file is also removed by the next change that needs it.
    core.log.warn('Could not remove the stale lock files of stopped processes', { error: (err as Error).message });
  }
  // Held before the walk, so that the walk's result plus this store's own changes stay exact (listing-snapshot.ts).
  await forEachLimit(await core.domainFolderNames(), 16, async (domain) => {
    await core.snapshots.hold(domain);
  });
  return recoverStore(core.root, core.fsync, core.log, {
    domain: (domain, stamp, readAt, mailboxes) => {
      const d = core.index.domain(domain);
      d.names = new Set(mailboxes);
      d.stamp = stamp;
      d.stampReadAt = readAt;
    },
    mailbox: async (domain, mailbox) => {
      const entry = await scanMailbox(core, { domain, mailbox, address: `${mailbox}@${domain}` }, { known: true });
      if (entry) core.index.domain(domain).entries.set(mailbox, entry);
    },
    change: (domain, mailbox, work) => core.index.change(domain, mailbox, work, (d) => d.entries.delete(mailbox)),
  });
}
