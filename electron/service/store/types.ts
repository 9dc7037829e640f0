/**
 * The mail store's public face: what POP3, SMTP and the admin operations use.
 *
 * Layout on disk (all names lower case):
 *
 *   <mailroot>/.winpop/               service state: audit.log, trash/, control socket
 *   <mailroot>/<domain>/.winpop-domain.json        domain state (lock)
 *   <mailroot>/<domain>/<mailbox>/                 a standard Maildir: tmp/ new/ cur/
 *   <mailroot>/<domain>/<mailbox>/.winpop-mailbox.json   password hash, lock
 *
 * Messages are stored with LF line ends, as Maildir readers expect; the file
 * name carries `,S=<bytes on disk>,W=<bytes with CRLF line ends>`, so neither
 * listing nor POP3 needs a `stat` per message.
 */

import type { Readable } from 'node:stream';
import type { DomainSummary, LockInfo, MailboxSummary } from '../../../shared/contract.js';

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
  /** The message file as stored (LF line ends); the caller converts for the wire. */
  openMessage(message: StoredMessage): Readable;
  /**
   * Deletes messages all or nothing: an intent record is written first, so a
   * crash part-way is completed when the mailbox is next opened.
   */
  expunge(messages: readonly StoredMessage[]): Promise<void>;
}

/** Store-level change notices; the admin layer turns them into AdminEvents. */
export type StoreChange =
  | { readonly type: 'mailArrived'; readonly address: string; readonly messages: number; readonly bytes: number }
  | { readonly type: 'mailboxChanged'; readonly address: string; readonly messages: number; readonly bytes: number };

export interface DeliveryResult {
  readonly address: string;
  /** Octets on disk. */
  readonly size: number;
}

export interface MailStore {
  readonly root: string;

  // --- used by POP3 ---------------------------------------------------------
  /** Verifies a full address and password; reads lock state from disk. */
  checkLogin(address: string, password: string): Promise<LoginCheck>;
  /** True when the mailbox or its domain is locked, read from disk now. */
  isLocked(address: string): Promise<boolean>;
  openMaildrop(address: string): Promise<Maildrop>;

  // --- used by SMTP ---------------------------------------------------------
  /** True when the mailbox exists (locked or not). */
  hasMailbox(address: string): Promise<boolean>;
  /**
   * Stores one message atomically: tmp/, fsync, rename into new/. Line ends
   * are stored as LF. Rejects (and leaves nothing) if the stream errors or
   * exceeds maxBytes; the error then has code `EMSGSIZE`.
   */
  deliver(address: string, content: Readable, options?: { maxBytes?: number }): Promise<DeliveryResult>;

  // --- used by the admin operations -----------------------------------------
  listDomains(): Promise<DomainSummary[]>;
  getDomain(domain: string): Promise<DomainSummary>;
  listMailboxes(domain: string): Promise<MailboxSummary[]>;
  getMailbox(address: string): Promise<MailboxSummary>;
  addDomain(domain: string): Promise<DomainSummary>;
  /** Deletes the domain, its mailboxes and all their mail. */
  deleteDomain(domain: string): Promise<void>;
  addMailbox(address: string, password: string): Promise<MailboxSummary>;
  deleteMailbox(address: string): Promise<void>;
  setPassword(address: string, password: string): Promise<void>;
  /** Writes the lock (or null to unlock); returns the previous value. */
  setMailboxLock(address: string, lock: LockInfo | null): Promise<LockInfo | null>;
  setDomainLock(domain: string, lock: LockInfo | null): Promise<LockInfo | null>;

  /** Subscribes to store changes; returns the unsubscribe. */
  onChange(listener: (change: StoreChange) => void): () => void;

  /**
   * Writes the listing snapshots this store keeps in memory and lets go of
   * them; for a service that stops. Nothing else needs it: a store that is
   * never closed leaves no wrong listing behind, only a slower first one.
   */
  close(): Promise<void>;
}
