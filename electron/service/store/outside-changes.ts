/**
 * Mail that other programs put into a mailbox (an MTA delivering straight
 * into Maildir, another server sharing the store) or took out of it,
 * brought into the index and announced.
 *
 * The index counts what this store did; it cannot see what others do. So
 * whatever shows counts (every listing, the watch on the domains a console
 * shows) first checks each mailbox's new/ and cur/ stamps against those its
 * counts were read under (folder-stamps.ts): two `stat` calls per mailbox,
 * no folder read. A mailbox whose stamps no longer hold is read again, and
 * when its counts differ from what the index had, that is announced as
 * `mailArrived` (more messages) or `mailboxChanged` (fewer or other), as
 * for the store's own changes, so a console showing it updates.
 *
 * Part of the store's core (store-core.ts), on top of mailbox-sync.ts.
 */

import path from 'node:path';
import type { Address } from '../../../shared/names.js';
import { stampsHoldSync } from './folder-stamps.js';
import { forEachLimit } from './fs-util.js';
import { domainDir } from './layout.js';
import type { DomainIndex, MailboxEntry } from './mailbox-index.js';
import { scanMailbox } from './mailbox-sync.js';
import type { StoreCore } from './store-core.js';
import type { StoreChange } from './types.js';

/** Synchronous stats between two turns of the event loop. */
const SLICE_MS = 8;
/** Mailboxes read again at once. */
const RESCAN_PARALLEL = 16;

/**
 * Checks the given mailboxes of a domain (all of them by default) against
 * their disk and reads again those that changed. Entries whose counts were
 * read at or after `readSince` (performance.now()) are taken as they are:
 * they were just read.
 */
export async function checkMailboxes(core: StoreCore, domain: string, d: DomainIndex, options: { names?: Iterable<string>; readSince?: number } = {}): Promise<void> {
  const folder = domainDir(core.root, domain);
  const changed: string[] = [];
  let sliceStart = performance.now();
  let count = 0;
  for (const mailbox of options.names ?? d.names) {
    const e = d.entries.get(mailbox);
    if (!e || (options.readSince !== undefined && e.readAt !== undefined && e.readAt >= options.readSince)) continue;
    if (!stampsHoldSync(`${folder}${path.sep}${mailbox}`, e.stamps)) changed.push(mailbox);
    // The clock is read every 64 mailboxes: a few microseconds each, against hundreds of thousands of checks.
    if (++count % 64 === 0 && performance.now() - sliceStart >= SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  await forEachLimit(changed, RESCAN_PARALLEL, async (mailbox) => {
    await rescan(core, { domain, mailbox, address: `${mailbox}@${domain}` });
  });
}

/**
 * Reads one mailbox again into the index and announces a change of its
 * counts. Returns its entry; null when it is gone.
 */
export async function rescan(core: StoreCore, a: Address): Promise<MailboxEntry | null> {
  let change: StoreChange | null = null;
  // Compared with the entry the scan replaces, when it does: what the index had with every change of this store so far.
  const entry = await core.index.load(a.domain, a.mailbox, () => scanMailbox(core, a, { known: true }), (old, fresh) => {
    if (!old || !fresh || (old.messages === fresh.messages && old.bytes === fresh.bytes)) return;
    change = { type: fresh.messages > old.messages ? 'mailArrived' : 'mailboxChanged', address: a.address, messages: fresh.messages, bytes: fresh.bytes };
  });
  if (change) core.emit(change);
  return entry;
}
