/**
 * The mail store's public face: one narrow port for each of its users
 * (`Pop3StorePort`, `SmtpStorePort`, `AdminStorePort`), and `MailStore`,
 * all of them together.
 *
 * Layout on disk (all names lower case):
 *
 *   <mailroot>/.winpop/               service state: audit.log, trash/, control socket
 *   <mailroot>/<domain>/.winpop-domain.json        domain state (lock)
 *   <mailroot>/<domain>/<mailbox>/                 a standard Maildir: tmp/ new/ cur/
 *   <mailroot>/<domain>/<mailbox>/.winpop-mailbox.json   password hash, lock
 *
 * Messages are stored with CRLF line ends, in POP3 wire form (older stores
 * and other Maildir writers may have LF: both are read); the file name
 * carries `,S=<bytes on disk>,W=<bytes with CRLF line ends>`, so neither
 * listing nor POP3 needs a `stat` per message.
 */

import type { FileHandle } from 'node:fs/promises';
import type { PasswordAuthority } from '../auth/password-authority.js';
import type { Readable } from 'node:stream';
import type { DomainSummary, LockInfo, MailboxSummary } from '../../../shared/contract.js';
import type { LockTarget } from '../../../shared/lock-rule.js';
import type { CheckOptions } from './passwords.js';

export type { CheckOptions, LockTarget };

/** One message of a maildrop, as a POP3 session sees it. */
export interface StoredMessage {
  /** Path relative to the mailbox folder: `new/<name>` or `cur/<name>`. */
  readonly file: string;
  /** Stable, never reused within the mailbox, 1–70 printable ASCII characters. */
  readonly uidl: string;
  /** Octets as sent over POP3 (CRLF line ends, before dot-stuffing). */
  readonly size: number;
}

/** The outcome of a log-in attempt. The caller decides what to tell the client. */
export type LoginCheck =
  | { readonly ok: true; readonly address: string }
  /** Unknown mailbox or wrong password: the two are never told apart. */
  | { readonly ok: false; readonly reason: 'bad-credentials' }
  /** The password was right, but the mailbox or its domain is locked. */
  | { readonly ok: false; readonly reason: 'locked'; readonly by: 'mailbox' | 'domain' };

/** A snapshot of one mailbox opened for a POP3 session. */
export interface Maildrop {
  readonly address: string;
  /** In delivery order, oldest first. Mail that arrives later is not added. */
  readonly messages: readonly StoredMessage[];
  /** The message file as stored (CRLF or LF line ends); the caller converts for the wire. */
  openMessage(message: StoredMessage): Readable;
  /** The message file opened for reading in large pieces (RETR of a large message); the caller closes it. */
  openMessageFile(message: StoredMessage): Promise<FileHandle>;
  /**
   * A message file read whole into `scratch`, at once: one system call each
   * for open, read and close, instead of a stream through the thread pool
   * (the usual RETR). Returns the part of `scratch` that holds it; null when
   * the file does not fit with an octet to spare: stream it with
   * `openMessage`.
   */
  readMessage(message: StoredMessage, scratch: Buffer): Buffer | null;
  /**
   * True when the file is in wire form already: CRLF line ends and a line
   * end at its end (its size on disk is its size on the wire), so RETR
   * sends it as it is, dot-stuffed.
   */
  isWireForm(message: StoredMessage): boolean;
  /**
   * Deletes messages all or nothing: an intent record is written first, so a
   * crash part-way is completed when the mailbox is next opened. A failure
   * after the record is durable (an unlink failing) rejects with an
   * ExpungePendingError: the deletion is decided and the next
   * `openMaildrop` of this mailbox finishes it before it lists anything.
   */
  expunge(messages: readonly StoredMessage[]): Promise<void>;
  /**
   * A session's maildrop (`openMaildrop` with `session: true`): lets go of
   * its lock file once an expunge under way has finished, and stops
   * following its state. Other maildrops: nothing to do.
   */
  release(): void;
  /**
   * Called once when a session's maildrop must close because of what
   * another process (or this one) wrote: a lock, a password change, the
   * mailbox deleted, or its lock file lost (maildrop-watch.ts).
   */
  onRevoked(listener: (revoked: MaildropRevoked) => void): void;
}

/** Why a session's maildrop must close, found by polling its state. */
export interface MaildropRevoked {
  readonly why: 'locked' | 'password-changed' | 'deleted' | 'lock-lost';
  /** For the log: what was found. */
  readonly reason: string;
}

/** How a maildrop is opened. */
export interface OpenMaildropOptions {
  /**
   * For a POP3 session: the maildrop lock file is taken (a
   * MaildropInUseError while another process holds it), and the mailbox's
   * state is followed until `release()`.
   */
  readonly session?: boolean;
}

/**
 * An expunge whose intent record is written but whose files could not all
 * be removed yet. The deletion stands: the record stays, and the next open
 * of the maildrop (or the store's recovery) completes it first, so no later
 * session sees those messages.
 */
export class ExpungePendingError extends Error {
  readonly code = 'EXPUNGE_PENDING';

  constructor(
    /** The intent record that is left to finish. */
    readonly record: string,
    cause: unknown,
  ) {
    super(`The deletion is recorded in ${record} but not finished yet: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Another session holds the maildrop: in another process (its lock file,
 * maildrop-lock.ts), on this machine or another one sharing the store.
 */
export class MaildropInUseError extends Error {
  readonly code = 'IN_USE';

  constructor(
    /** The lock file. */
    readonly file: string,
    /** Who holds it, for the log. */
    readonly holder: string,
  ) {
    super(`The maildrop is in use: ${file} is held by ${holder}.`);
  }
}

/**
 * `deliverAll` failed in phase 2 and could not take back every copy it had
 * already made visible: those mailboxes keep one (the sender's retry
 * duplicates it). The store logged which files.
 */
export class DeliveryIncompleteError extends Error {
  readonly code = 'DELIVERY_INCOMPLETE';

  constructor(
    /** Copies that stayed in their mailboxes. */
    readonly copiesKept: number,
    cause: unknown,
  ) {
    super(`${cause instanceof Error ? cause.message : String(cause)} (${copiesKept} copies could not be taken back)`, { cause });
  }
}

/** One copy of a message for `deliverAll`. */
export interface DeliveryCopy {
  /** A full address, accepted at RCPT time. */
  readonly address: string;
  /** Called once, when this copy is written; each copy reads its own stream. */
  readonly content: () => Readable;
  /** As in `deliver`: over this many bytes of content, the whole delivery fails with EMSGSIZE. */
  readonly maxBytes?: number;
}

/** Store-level change notices; the admin layer turns them into AdminEvents. */
export type StoreChange =
  | { readonly type: 'mailArrived'; readonly address: string; readonly messages: number; readonly bytes: number }
  | { readonly type: 'mailboxChanged'; readonly address: string; readonly messages: number; readonly bytes: number }
  /** A state file found missing or damaged (the listing's `problem`), or found whole again (null). */
  | { readonly type: 'stateProblem'; readonly target: string; readonly kind: 'domain' | 'mailbox'; readonly problem: string | null };

/** What `changeLock` found and left, read and written in one step. */
export interface LockUpdate {
  /** The lock found. */
  readonly before: LockInfo | null;
  /** The lock left: the new one, or the one found when nothing changed. */
  readonly after: LockInfo | null;
  /** False when the target already was in the requested state (nothing was written). */
  readonly changed: boolean;
  /** The target's lock serial after the call: one more per change, so equal serials name the same state. */
  readonly serial: number;
}

export interface DeliveryResult {
  readonly address: string;
  /** Octets on disk. */
  readonly size: number;
}

/**
 * What POP3 may do to the store: check a log-in, look at the locks, and open
 * a maildrop (whose `expunge` is the only change a session makes).
 */
export interface Pop3StorePort {
  /**
   * Verifies a full address and password; reads lock state from disk. A
   * password not verified recently waits for the password workers
   * (`options`: its place there, and a signal to give up): it may be refused
   * (LoginBusyError) or abandoned (PasswordCheckAbandoned) before hashing.
   */
  checkLogin(address: string, password: string, options?: CheckOptions): Promise<LoginCheck>;
  /** True when the mailbox or its domain is locked, read from disk now. */
  isLocked(address: string): Promise<boolean>;
  openMaildrop(address: string, options?: OpenMaildropOptions): Promise<Maildrop>;
}

/** What SMTP may do to the store: tell hosted domains and mailboxes, and deliver. */
export interface SmtpStorePort {
  /** The mail root, whose `.winpop/spool/` holds a message with several recipients while its copies are written. */
  readonly root: string;
  /** True when the mailbox exists (locked or not). */
  hasMailbox(address: string): Promise<boolean>;
  /**
   * True when the domain is hosted here: tells an unknown mailbox of a
   * hosted domain (550 5.1.1) from a domain not hosted here (550 5.7.1).
   * One look at its folder, never its mailboxes (the domain's totals would
   * scan them all while the service's recovery has not indexed them yet).
   */
  hasDomain(domain: string): Promise<boolean>;
  /**
   * Stores one message atomically: tmp/, fsync, rename into new/. Line ends
   * are stored as LF. Rejects (and leaves nothing) if the stream errors or
   * exceeds maxBytes; the error then has code `EMSGSIZE`.
   */
  deliver(address: string, content: Readable, options?: { maxBytes?: number }): Promise<DeliveryResult>;
  /**
   * Stores several copies all or nothing. Phase 1 writes and fsyncs every
   * copy into its mailbox's tmp/; any failure there removes them all and
   * rejects with no mailbox changed (EMSGSIZE when a copy is too big, NOT_FOUND
   * for a mailbox that is gone). Phase 2 renames them into new/; if a rename
   * (or the fsync of new/) fails, the copies already made visible are removed
   * again before it rejects, so a retry does not duplicate them. Only when
   * even that fails (logged as an error) can a copy stay behind; the
   * rejection is then a DeliveryIncompleteError.
   */
  deliverAll(copies: readonly DeliveryCopy[]): Promise<DeliveryResult[]>;
}

/** What the admin operations (console, winpop) may do to the store: list, change the directory, lock, and hear of changes. */
export interface AdminStorePort {
  /** The mail root, whose `.winpop/audit.log` records each change. */
  readonly root: string;
  listDomains(): Promise<DomainSummary[]>;
  getDomain(domain: string): Promise<DomainSummary>;
  /**
   * The domain's mailboxes as on disk, mail other programs delivered
   * included. `checkAfter` (a console's table, which follows events): a
   * domain of more than a few thousand mailboxes is answered from memory
   * and checked right after, what changed announced as `mailArrived` or
   * `mailboxChanged`.
   */
  listMailboxes(domain: string, options?: { checkAfter?: boolean }): Promise<MailboxSummary[]>;
  addDomain(domain: string): Promise<DomainSummary>;
  /** Deletes the domain, its mailboxes and all their mail. */
  deleteDomain(domain: string): Promise<void>;
  addMailbox(address: string, password: string | null): Promise<MailboxSummary>;
  deleteMailbox(address: string): Promise<void>;
  setPassword(address: string, password: string): Promise<void>;
  /**
   * Locks (a lock given) or unlocks (null) a mailbox or a domain as one step:
   * the state file is read, the decision made and the change written while
   * no other change of that target can run, in this process (its guard, and
   * for a mailbox its domain's guard first) and in others (a lock file per
   * target). A lock keeps a lock that is already there; a mailbox's unlock
   * is refused with DOMAIN_LOCKED while its domain is locked, and then
   * changes nothing (shared/lock-rule.ts). Calls on one target take effect
   * in the order they were made.
   *
   * `effect` runs synchronously inside the same step, after the write (or
   * the decision that nothing changes): what the caller does there (closing
   * sessions, announcing the change) happens before any later change of the
   * target, in the order the changes took effect. If it throws, the change
   * stands and the call rejects with that error.
   */
  changeLock(target: LockTarget, lock: LockInfo | null, effect?: (update: LockUpdate) => void): Promise<LockUpdate>;
  /** Subscribes to store changes; returns the unsubscribe. */
  onChange(listener: (change: StoreChange) => void): () => void;
  /**
   * Follows exactly these domains (none: stops) for mail other programs put
   * into their mailboxes or take out: their folders are watched (or polled)
   * and a change is announced as `mailArrived` or `mailboxChanged` within a
   * few seconds, so a console showing them updates by itself. Listings do
   * not need it: each one checks the disk.
   */
  followDomains(domains: readonly string[]): void;
}

/** The whole store: every port, plus what tests, tools and the service's start and stop use. */
export interface MailStore extends Pop3StorePort, SmtpStorePort, AdminStorePort {
  readonly root: string;
  /** The Encrypted Password File method (auth 3): the hashes in the mailboxes' state files. */
  readonly passwordFile: PasswordAuthority;
  /** Who decides log-in passwords (auth/authorities.ts picks it by the settings); the password file until called. */
  useAuthority(pick: () => PasswordAuthority): void;
  /** One mailbox's row, from a fresh scan of its Maildir. */
  getMailbox(address: string): Promise<MailboxSummary>;
  /**
   * Writes the lock (or null to unlock) whatever is there, without the
   * domain check; returns the previous value. For tests and tools that set
   * up a state; the admin operations use `changeLock`.
   */
  setMailboxLock(address: string, lock: LockInfo | null): Promise<LockInfo | null>;
  setDomainLock(domain: string, lock: LockInfo | null): Promise<LockInfo | null>;
  /**
   * Resolves once recovery has ended: at once, except for a store opened
   * with `recovery: 'background'`, whose sweep recovers every mailbox
   * after the open (or stops at `close()`).
   */
  recovered(): Promise<void>;
  /**
   * Writes the listing snapshots this store keeps in memory and lets go of
   * them; for a service that stops. Nothing else needs it: a store that is
   * never closed leaves no wrong listing behind, only a slower first one.
   */
  close(): Promise<void>;
}
