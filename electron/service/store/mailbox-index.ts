/**
 * The in-memory index that makes listing a domain of 100,000 mailboxes fast:
 * per mailbox its message count, bytes and own lock, built on first use by
 * one scan (or read from a listing snapshot) and then kept current by this
 * store's own changes.
 *
 * Races between a scan and a change are settled by a per-mailbox change
 * counter: a scan only keeps its result when no change started or ended
 * while it ran; otherwise it scans again. Per-domain counters tell a writer
 * of a listing snapshot whether a change of this process overlapped it.
 */

import type { LockInfo } from '../../../shared/contract.js';
import type { FolderStamps } from './folder-stamps.js';

export interface MailboxEntry {
  messages: number;
  bytes: number;
  lock: LockInfo | null;
  /** Its meta file is missing or damaged (the problem was logged when scanned). */
  broken: boolean;
  /**
   * For a broken entry: what is wrong (the file and the repair). Listings show
   * it as the mailbox's `problem`; a listing from a snapshot logs it again.
   */
  problem?: string;
  /**
   * new/ and cur/ as they were just before the counts were read
   * (folder-stamps.ts); absent or null when unknown or not settled. A check
   * (outside-changes.ts) reads the mailbox again when they no longer hold:
   * mail another program put there or took away.
   */
  stamps?: FolderStamps | null;
  /** When (performance.now()) the counts were read, in this process; absent for entries from a listing snapshot. */
  readAt?: number;
}

/** What a change does around its work besides the index: the listing snapshot protocol (listing-snapshot.ts). */
export interface ChangeHooks {
  /** Before the work; throwing stops the change before it starts. */
  before(domain: string): void;
  /** After the work, whether it succeeded or not; must not throw. */
  after(domain: string): void;
}

export interface DomainIndex {
  /** Mailbox folder names as last read from the domain folder. */
  names: Set<string>;
  /** Loaded entries; a name without one is loaded on demand. */
  entries: Map<string, MailboxEntry>;
  /** Modification time (ns) of the domain folder when `names` was read; null before the first read. */
  stamp: bigint | null;
  /** When (ms since the epoch) the folder read that gave `names` began; see stampTooFresh. */
  stampReadAt: number;
  /** A read of the folder in progress, shared by concurrent callers. */
  reading: Promise<void> | null;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Index state for all domains, plus the change counters that keep scans honest. */
export class StoreIndex {
  readonly domains = new Map<string, DomainIndex>();
  private readonly inFlight = new Map<string, number>();
  private readonly changes = new Map<string, number>();
  private readonly domainInFlight = new Map<string, number>();
  private readonly domainStarted = new Map<string, number>();

  constructor(private readonly hooks?: ChangeHooks) {}

  /**
   * A mark for "no change of this mailbox since": null while one runs. A read
   * of its state file may update the index only if the marks taken before
   * and after the read are equal and not null, or it could undo a change.
   */
  quietMark(domain: string, mailbox: string): number | null {
    const key = `${mailbox}@${domain}`;
    return (this.inFlight.get(key) ?? 0) > 0 ? null : (this.changes.get(key) ?? 0);
  }

  /** Changes of this domain running now in this process. */
  inFlightIn(domain: string): number {
    return this.domainInFlight.get(domain) ?? 0;
  }

  /** How many changes of this domain this process has started so far. */
  startedIn(domain: string): number {
    return this.domainStarted.get(domain) ?? 0;
  }

  domain(name: string): DomainIndex {
    let d = this.domains.get(name);
    if (!d) {
      d = { names: new Set(), entries: new Map(), stamp: null, stampReadAt: 0, reading: null };
      this.domains.set(name, d);
    }
    return d;
  }

  /**
   * Runs a change of one mailbox on disk; `apply` updates the index right
   * after it, with no await in between, so scans see either both or neither.
   */
  async change<T>(domain: string, mailbox: string, work: () => Promise<T>, apply: (d: DomainIndex, result: T) => void): Promise<T> {
    const key = `${mailbox}@${domain}`;
    this.hooks?.before(domain);
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    this.domainInFlight.set(domain, this.inFlightIn(domain) + 1);
    this.domainStarted.set(domain, this.startedIn(domain) + 1);
    try {
      const result = await work();
      apply(this.domain(domain), result);
      return result;
    } finally {
      this.changes.set(key, (this.changes.get(key) ?? 0) + 1);
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(key);
      else this.inFlight.set(key, left);
      const domainLeft = this.inFlightIn(domain) - 1;
      if (domainLeft <= 0) this.domainInFlight.delete(domain);
      else this.domainInFlight.set(domain, domainLeft);
      this.hooks?.after(domain);
    }
  }

  /**
   * Scans one mailbox into the index (or drops it when `scan` says it is
   * gone), retrying while changes overlap. `replaced` hears the entry the
   * scan replaces, at the moment it does.
   */
  async load(domain: string, mailbox: string, scan: () => Promise<MailboxEntry | null>, replaced?: (old: MailboxEntry | undefined, entry: MailboxEntry | null) => void): Promise<MailboxEntry | null> {
    const key = `${mailbox}@${domain}`;
    for (;;) {
      while ((this.inFlight.get(key) ?? 0) > 0) await pause(2);
      const before = this.changes.get(key) ?? 0;
      const entry = await scan();
      if ((this.inFlight.get(key) ?? 0) === 0 && (this.changes.get(key) ?? 0) === before) {
        const d = this.domain(domain);
        replaced?.(d.entries.get(mailbox), entry);
        if (entry) {
          d.entries.set(mailbox, entry);
          d.names.add(mailbox);
        } else {
          d.entries.delete(mailbox);
          d.names.delete(mailbox);
        }
        return entry;
      }
    }
  }
}
