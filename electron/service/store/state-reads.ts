/**
 * Reading the state files (a domain's and a mailbox's lock, a mailbox's
 * password hash) where a decision depends on them, and keeping the index
 * and the listeners in step with what was found: a file found damaged is
 * announced once, and again when it is whole.
 *
 * Part of the store's core (store-core.ts): every job reads state this way.
 *
 * The reads are synchronous: a log-in makes five of them, each one open,
 * read and close of a file of a few hundred bytes, microseconds in the page
 * cache, where the thread pool costs three round trips apiece (about a
 * tenth of a whole POP3 session's CPU, issue 13). RETR reads its messages
 * the same way.
 */

import type { LockInfo, MailboxSummary } from '../../../shared/contract.js';
import { isLocked } from '../../../shared/lock-rule.js';
import type { Address } from '../../../shared/names.js';
import { isDirectory } from './fs-util.js';
import { domainDir, domainMetaFile, mailboxDir, mailboxMetaFile } from './layout.js';
import type { MailboxEntry } from './mailbox-index.js';
import {
  domainProblem,
  mailboxProblem,
  MetaFileError,
  missingDomainMeta,
  missingMailboxMeta,
  readDomainMetaSync,
  readMailboxMetaSync,
  type DomainMeta,
  type MailboxMeta,
} from './meta.js';
import { noDomain, noMailbox, type StoreCore } from './store-core.js';

/** A domain's lock as a listing gives it, and its `problem` when its state file cannot be used. */
export interface DomainState {
  readonly lock: LockInfo | null;
  readonly problem?: string;
}

/** The domain's state; NOT_FOUND when the domain does not exist, STORE_ERROR when its file is missing or damaged. */
export async function readDomainMetaStrict(core: StoreCore, domain: string): Promise<DomainMeta> {
  const file = domainMetaFile(core.root, domain);
  try {
    const meta = readDomainMetaSync(file, domain);
    if (meta) {
      noteDomainProblem(core, domain, null);
      return meta;
    }
    if (!(await isDirectory(domainDir(core.root, domain)))) throw noDomain(domain);
    throw missingDomainMeta(file, domain);
  } catch (err) {
    if (err instanceof MetaFileError) noteDomainProblem(core, domain, domainProblem(err));
    throw err;
  }
}

/**
 * The domain's lock for a listing. A damaged domain file does not stop the
 * listing: it is logged and given as the domain's `problem` (no lock known).
 */
export async function domainStateForListing(core: StoreCore, domain: string): Promise<DomainState> {
  try {
    return { lock: (await readDomainMetaStrict(core, domain)).lock };
  } catch (err) {
    if (!(err instanceof MetaFileError)) throw err;
    const problem = domainProblem(err);
    core.log.warn(problem);
    return { lock: null, problem };
  }
}

/** Remembers what the domain's state file was last found to be, and announces a change of it. */
export function noteDomainProblem(core: StoreCore, domain: string, problem: string | null): void {
  if ((core.domainProblems.get(domain) ?? null) === problem) return;
  if (problem === null) core.domainProblems.delete(domain);
  else core.domainProblems.set(domain, problem);
  core.emit({ type: 'stateProblem', target: domain, kind: 'domain', problem });
}

/**
 * The mailbox's state. When the mailbox does not exist: null if asked
 * (`missingIsNull`), else NOT_FOUND. A mailbox folder without its file, or
 * a damaged file, is a STORE_ERROR naming the file.
 */
export async function readMailboxMetaStrict(core: StoreCore, a: Address, opts: { missingIsNull: boolean }): Promise<MailboxMeta | null> {
  const file = mailboxMetaFile(core.root, a);
  const mark = core.index.quietMark(a.domain, a.mailbox);
  let meta: MailboxMeta | null;
  try {
    meta = readMailboxMetaSync(file, a.address);
    if (!meta && (await isDirectory(mailboxDir(core.root, a)))) throw missingMailboxMeta(file, a.address);
  } catch (err) {
    if (err instanceof MetaFileError) noteMailboxState(core, a, mark, { problem: mailboxProblem(err) });
    throw err;
  }
  if (meta) {
    noteMailboxState(core, a, mark, { lock: meta.lock });
    return meta;
  }
  if (opts.missingIsNull) return null;
  throw noMailbox(a);
}

/**
 * Keeps the index's view of a mailbox's state file in step with a read of
 * it (found damaged by a log-in, or put back by hand), and announces the
 * change, unless a change of that mailbox overlapped the read.
 */
function noteMailboxState(core: StoreCore, a: Address, mark: number | null, found: { problem: string } | { lock: LockInfo | null }): void {
  const e = core.index.domains.get(a.domain)?.entries.get(a.mailbox);
  if (!core.index.domains.has(a.domain)) return noteUnindexedMailboxState(core, a, found);
  if (!e || mark === null || core.index.quietMark(a.domain, a.mailbox) !== mark) return;
  const problem = 'problem' in found ? found.problem : null;
  if ((e.broken ? (e.problem ?? '') : null) === problem) return;
  if ('problem' in found) {
    e.broken = true;
    e.problem = found.problem;
    e.lock = null;
  } else {
    e.broken = false;
    delete e.problem;
    e.lock = found.lock;
  }
  core.emit({ type: 'stateProblem', target: a.address, kind: 'mailbox', problem });
  core.heldDomainChanged(a.domain);
}

/**
 * A store that holds no index of the domain (a worker process, which never
 * lists) still announces what its reads found, once per change: the primary
 * hears it and the consoles show it.
 */
function noteUnindexedMailboxState(core: StoreCore, a: Address, found: { problem: string } | { lock: LockInfo | null }): void {
  const problem = 'problem' in found ? found.problem : null;
  if ((core.mailboxProblems.get(a.address) ?? null) === problem) return;
  if (problem === null) core.mailboxProblems.delete(a.address);
  else core.mailboxProblems.set(a.address, problem);
  core.emit({ type: 'stateProblem', target: a.address, kind: 'mailbox', problem });
}

/** Keeps the index's copy of a lock in step with what was just read from disk. */
export function noteLock(core: StoreCore, a: Address, lock: LockInfo | null): void {
  const e = core.index.domains.get(a.domain)?.entries.get(a.mailbox);
  if (e && !e.broken) e.lock = lock;
}

/** A mailbox's listing row: its index entry under its domain's state. */
export function mailboxSummary(mailbox: string, domain: string, e: MailboxEntry, d: DomainState): MailboxSummary {
  const row: MailboxSummary = {
    name: mailbox,
    domain,
    address: `${mailbox}@${domain}`,
    messages: e.messages,
    bytes: e.bytes,
    lock: e.lock,
    domainLocked: d.lock !== null,
    locked: isLocked(d.lock, e.lock),
  };
  // The optional fields only where they have a value: most rows of a big listing have neither.
  if (!e.broken && d.problem === undefined) return row;
  const address = row.address;
  return {
    ...row,
    ...(e.broken ? { problem: e.problem ?? `The state file of ${address} is missing or damaged. Set a new password with \`winpop changepwd ${address}\`.` } : {}),
    ...(d.problem === undefined ? {} : { domainProblem: d.problem }),
  };
}
