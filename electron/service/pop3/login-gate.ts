/**
 * The way in to a password check: one check at a time per client and per
 * mailbox, the penalty paid by each attempt in its turn, and an order for
 * the shared password workers.
 *
 * The penalty alone slows one connection; a guesser with N connections
 * would still get N guesses per penalty period. So each attempt first waits
 * its turn in the line of its client (clientKey: an IPv4 address, an IPv6
 * /64) and then in the line of the mailbox name it tries, and only then
 * waits out the penalty and has its password checked. The guess rate from
 * one client or against one mailbox is then one per penalty period, however
 * many connections make it. The lines are bounded: a newcomer that finds one
 * full is turned away untested.
 *
 * An attacker hammering a mailbox name must not lock its owner out. As with
 * Dovecot, whose penalty counts per client address only, the owner's own
 * places are exempt from what strangers cause: a client address from which
 * the right password for that mailbox was given recently (a known origin)
 * skips the mailbox's line and the mailbox's penalty, and pays only its own
 * address's. Its attempts on that mailbox wait in a line of their own (that
 * address and that mailbox), not behind the address's other users. A stranger, even one whose password would match the cache of
 * verified passwords, goes through the mailbox's line: a faster answer for a
 * right password would let a guesser tell "wrong" by the wait and move on.
 *
 * Order for the password workers (store/password-pool.ts): known origins
 * first, then clients by how many of their attempts lately failed or were
 * refused, so a flood of guesses from busy addresses waits behind a first
 * log-in from a quiet one.
 */

import { clientAddressKey as clientKey } from '../client-address.js';
import { KeyedLine } from './keyed-line.js';
import type { FailureCounts, LoginPenalty } from './login-penalty.js';

export interface GateOptions {
  /** Attempts from one client that may wait behind the one being checked. */
  readonly clientLineLimit: number;
  /** Attempts by strangers on one mailbox that may wait behind the one being checked. */
  readonly mailboxLineLimit: number;
  /** How long a client address stays a known origin of a mailbox after its last right password, ms. */
  readonly knownOriginMs: number;
  /** Most (mailbox, client) pairs remembered as known origins. */
  readonly maxKnownOrigins: number;
  /** Half-life of the count of a client's recent failed or refused attempts, ms. */
  readonly strikeHalfLifeMs: number;
  /** Most clients whose strikes are counted. */
  readonly maxCounted: number;
}

const DEFAULT_GATE: GateOptions = {
  // Above the default per-address connection cap: the cap, not this, is what limits one client.
  clientLineLimit: 64,
  // With the 15 s penalty, eight in line are two minutes of waiting: longer than the log-in timeout.
  mailboxLineLimit: 8,
  knownOriginMs: 7 * 24 * 60 * 60 * 1000,
  maxKnownOrigins: 20_000,
  strikeHalfLifeMs: 60_000,
  maxCounted: 10_000,
};

export type Admission =
  | {
      readonly kind: 'turn';
      /** The penalty this attempt waits out before its check, ms. */
      readonly delayMs: number;
      /** Its place with the password workers: lower goes first. */
      readonly priority: number;
      /** The client is a known origin of the mailbox. */
      readonly known: boolean;
      /** Ends this attempt's turn: the next in its lines goes. */
      release(): void;
    }
  /** A line was full: the attempt is refused without a check. */
  | { readonly kind: 'busy'; readonly line: 'client' | 'mailbox' }
  /** The signal aborted (the session ended) before the turn came. */
  | { readonly kind: 'gone' };

export class LoginGate {
  readonly options: GateOptions;
  private readonly clients: KeyedLine;
  private readonly mailboxes: KeyedLine;
  /** `<mailbox>\n<client>` → expiry; insertion order is expiry order. */
  private readonly origins = new Map<string, number>();
  /** Client → its failed or refused attempts lately, decaying; insertion order is "quiet longest first". */
  private readonly strikes = new Map<string, { count: number; at: number }>();

  constructor(
    readonly penalty: LoginPenalty,
    options: Partial<GateOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...DEFAULT_GATE, ...options };
    this.clients = new KeyedLine(this.options.clientLineLimit);
    this.mailboxes = new KeyedLine(this.options.mailboxLineLimit);
  }

  /** Waits for the turn of a log-in attempt from `remoteAddress` on `mailbox`. */
  async admit(remoteAddress: string, mailbox: string, signal: AbortSignal): Promise<Admission> {
    const client = clientKey(remoteAddress);
    const known = this.isKnownOrigin(mailbox, client);
    // A known origin has a line of its own per mailbox: the users behind one address (an office's
    // NAT, a fetching service) do not wait for each other, and a guesser there still gets one
    // guess at a time for each mailbox whose password was given from there.
    const byClient = await this.clients.enter(known ? originKey(mailbox, client) : client, signal);
    if (byClient.kind === 'full') return { kind: 'busy', line: 'client' };
    if (byClient.kind === 'aborted') return { kind: 'gone' };
    let release = byClient.release;
    if (!known) {
      const byMailbox = await this.mailboxes.enter(mailboxKey(mailbox), signal);
      if (byMailbox.kind !== 'turn') {
        byClient.release();
        return byMailbox.kind === 'full' ? { kind: 'busy', line: 'mailbox' } : { kind: 'gone' };
      }
      release = () => {
        byMailbox.release();
        byClient.release();
      };
    }
    return {
      kind: 'turn',
      delayMs: this.penalty.delayFor(remoteAddress, known ? null : mailbox),
      priority: known ? 0 : 1 + Math.round(this.strikesOf(client)),
      known,
      release,
    };
  }

  /** The right password was given (the mailbox may still be locked): clears the penalty, remembers the origin. */
  succeeded(remoteAddress: string, mailbox: string): void {
    this.penalty.success(remoteAddress, mailbox);
    const key = originKey(mailbox, clientKey(remoteAddress));
    this.origins.delete(key);
    this.origins.set(key, this.now() + this.options.knownOriginMs);
    for (const oldest of this.origins.keys()) {
      if (this.origins.size <= this.options.maxKnownOrigins) break;
      this.origins.delete(oldest);
    }
  }

  /** A wrong password (or an unknown name); returns the counts for the log. */
  failed(remoteAddress: string, mailbox: string): FailureCounts {
    this.strike(clientKey(remoteAddress));
    return this.penalty.failure(remoteAddress, mailbox);
  }

  /**
   * An attempt refused unchecked (a full line, the workers' budget spent):
   * the client's own penalty grows as after a failure (not the mailbox's: no
   * guess was made), and its place in the queue goes back. Returns the
   * client's next delay, ms.
   */
  refused(remoteAddress: string): number {
    this.strike(clientKey(remoteAddress));
    return this.penalty.refusal(remoteAddress);
  }

  /** Known origins and counted clients held; both bounded. */
  get size(): { origins: number; counted: number } {
    return { origins: this.origins.size, counted: this.strikes.size };
  }

  private isKnownOrigin(mailbox: string, client: string): boolean {
    const now = this.now();
    for (const [key, expires] of this.origins) {
      if (expires > now) break;
      this.origins.delete(key);
    }
    return this.origins.has(originKey(mailbox, client));
  }

  /** The client's recent strikes, decayed to now. */
  private strikesOf(client: string): number {
    const entry = this.strikes.get(client);
    return entry === undefined ? 0 : entry.count * 0.5 ** ((this.now() - entry.at) / this.options.strikeHalfLifeMs);
  }

  private strike(client: string): void {
    const count = this.strikesOf(client) + 1;
    // Re-inserted so the Map's order is "quiet longest first", and the oldest goes when full.
    this.strikes.delete(client);
    this.strikes.set(client, { count, at: this.now() });
    for (const oldest of this.strikes.keys()) {
      if (this.strikes.size <= this.options.maxCounted) break;
      this.strikes.delete(oldest);
    }
  }
}

function mailboxKey(mailbox: string): string {
  return mailbox.toLowerCase().slice(0, 400);
}

function originKey(mailbox: string, client: string): string {
  return `${mailboxKey(mailbox)}\n${client}`;
}
