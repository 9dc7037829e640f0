/**
 * A one-shot command's first scan of a domain, synchronous on purpose.
 *
 * A mailbox costs a handful of tiny reads (its folder, tmp/, new/, cur/, its
 * state file). Through the thread pool each read is a round trip, a promise
 * and a wake-up; read in a plain loop the same 100,000 mailboxes take a
 * third of the time. Only one-shot commands (lazy recovery) scan this way:
 * nothing else is waiting on their event loop. The service scans at open,
 * asynchronously, as part of its recovery walk.
 *
 * It never changes anything. A mailbox that lazy recovery would have work in
 * (an interrupted expunge, a leftover temp or tmp/ file) is handed back to
 * the caller, which recovers and scans it the usual way; every other mailbox
 * counts as recovered, since recovery would have found nothing to do.
 */

import fs from 'node:fs';
import path from 'node:path';
import type { LockInfo } from '../../../shared/contract.js';
import { mailboxNameProblem } from '../../../shared/names.js';
import type { Logger } from '../log.js';
import { ATOMIC_TEMP_PREFIX } from './atomic-file.js';
import { keepable, readStampsSync } from './folder-stamps.js';
import { isCode, isDirectorySync, readdirOrEmptySync } from './fs-util.js';
import { domainDir, EXPUNGE_RECORD, MAILBOX_META, STAGING_PREFIX } from './layout.js';
import type { MailboxEntry } from './mailbox-index.js';
import { addNamedSizes, type MessageTotals } from './message-names.js';
import { mailboxProblem, MetaFileError, missingMailboxMeta, readMailboxMetaSync } from './meta.js';

export interface DomainScan {
  /** Every mailbox folder, in name order. */
  readonly names: string[];
  /** Entries of the mailboxes scanned here. */
  readonly entries: Map<string, MailboxEntry>;
  /** Mailboxes with recovery work: the caller recovers and scans them. */
  readonly needRecovery: string[];
  /** Staging folders and temp files in the domain folder, for the caller to check (recovery's cleanLeftover). */
  readonly leftovers: string[];
}

/** True for a folder name that can be a mailbox (valid and already in canonical case). */
export const isMailboxName = (name: string): boolean => mailboxNameProblem(name) === null && name === name.toLowerCase();

/** Scans every mailbox of a domain. Throws what the file system throws (the caller's guard words it). */
export function scanDomainSync(root: string, domain: string, log: Logger): DomainScan {
  const dir = domainDir(root, domain);
  const names: string[] = [];
  const leftovers: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) {
      if (entry.name.startsWith(STAGING_PREFIX) || entry.name.startsWith(ATOMIC_TEMP_PREFIX)) leftovers.push(entry.name);
      continue;
    }
    if (entry.isDirectory() && isMailboxName(entry.name)) names.push(entry.name);
    else log.debug('Skipping an entry that is not a mailbox', { domain, name: entry.name });
  }
  names.sort();
  const entries = new Map<string, MailboxEntry>();
  const needRecovery: string[] = [];
  const found: string[] = [];
  for (const mailbox of names) {
    const result = scanMailboxSync(`${dir}${path.sep}${mailbox}`, `${mailbox}@${domain}`, log);
    if (result === 'gone') continue;
    found.push(mailbox);
    if (result === 'recover') needRecovery.push(mailbox);
    else entries.set(mailbox, result);
  }
  return { names: found, entries, needRecovery, leftovers };
}

function scanMailboxSync(dir: string, address: string, log: Logger): MailboxEntry | 'gone' | 'recover' {
  let top: string[];
  try {
    top = fs.readdirSync(dir);
  } catch (err) {
    if (isCode(err, 'ENOENT', 'ENOTDIR')) return 'gone';
    throw err;
  }
  if (top.some((n) => EXPUNGE_RECORD.test(n) || n.startsWith(ATOMIC_TEMP_PREFIX))) return 'recover';
  // Plain concatenation: path.join's normalising is a noticeable share of 400,000 paths, and these need none.
  const sub = (name: string): string => `${dir}${path.sep}${name}`;
  if (readdirOrEmptySync(sub('tmp')).length > 0) return 'recover';
  // Before new/ and cur/ are read, as in mailbox-sync.ts's scan.
  const readAt = performance.now();
  const stamps = keepable(readStampsSync(dir));
  const totals: MessageTotals = { messages: 0, bytes: 0 };
  for (const folder of ['new', 'cur']) {
    for (const name of addNamedSizes(readdirOrEmptySync(sub(folder)), totals)) {
      try {
        const st = fs.statSync(path.join(dir, folder, name));
        if (!st.isFile()) continue;
        totals.messages += 1;
        totals.bytes += st.size;
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw err;
      }
    }
  }
  const { messages, bytes } = totals;
  let lock: LockInfo | null = null;
  let problem: string | null = null;
  try {
    const meta = top.includes(MAILBOX_META) ? readMailboxMetaSync(sub(MAILBOX_META), address) : null;
    // Gone since the folder was read: deleted meanwhile, not broken.
    if (meta === null && messages === 0 && !isDirectorySync(dir)) return 'gone';
    if (meta === null) problem = mailboxProblem(missingMailboxMeta(sub(MAILBOX_META), address));
    else lock = meta.lock;
  } catch (err) {
    if (!(err instanceof MetaFileError)) throw err;
    problem = mailboxProblem(err);
  }
  if (problem === null) return { messages, bytes, lock, broken: false, stamps, readAt };
  log.warn(problem);
  return { messages, bytes, lock: null, broken: true, problem, stamps, readAt };
}
