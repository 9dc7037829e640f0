/**
 * Slows password guessing, after Dovecot's auth penalty: each failed log-in
 * delays the next log-in answer to the same client address and to the same
 * mailbox, 2 s after one failure, doubling with each further failure, to a
 * cap of 15 s. A success clears both. Other addresses and mailboxes are never
 * slowed, so one attacker cannot lock everybody out.
 *
 * The table is bounded: entries expire after a quiet period, and when it is
 * full the entry idle the longest goes first. A flood of made-up mailbox
 * names therefore costs a fixed amount of memory, and never evicts the
 * flooding address's own entry (touched at every failure, it stays newest).
 */

import { clientKey } from './client-key.js';

export interface PenaltyOptions {
  /** Delay after the first failure, ms. */
  readonly baseMs: number;
  /** Longest delay, ms. */
  readonly capMs: number;
  /** An entry with no failure for this long is forgotten, ms. */
  readonly forgetAfterMs: number;
  /** Most addresses and mailboxes remembered at once. */
  readonly maxEntries: number;
}

export const DEFAULT_PENALTY: PenaltyOptions = {
  baseMs: 2000,
  capMs: 15_000,
  forgetAfterMs: 15 * 60 * 1000,
  maxEntries: 10_000,
};

/** The delay after `failures` failed log-ins: 0, then base, 2×base, 4×base… up to the cap. */
export function penaltyDelayMs(failures: number, options: Pick<PenaltyOptions, 'baseMs' | 'capMs'> = DEFAULT_PENALTY): number {
  if (!(failures >= 1)) return 0;
  // 2^30 × base overflows nothing and is past any cap; larger exponents are the cap anyway.
  const doubled = options.baseMs * 2 ** Math.min(failures - 1, 30);
  return Math.min(doubled, options.capMs);
}

interface Entry {
  failures: number;
  last: number;
}

export interface FailureCounts {
  /** Failures in a row from this client address. */
  readonly address: number;
  /** Failures in a row for this mailbox. */
  readonly mailbox: number;
  /** The delay the next log-in answer to either will get, ms. */
  readonly nextDelayMs: number;
}

/** The failure table of one listener. */
export class LoginPenalty {
  readonly options: PenaltyOptions;
  /** Keys `a:<ip>` and `m:<mailbox>`; insertion order is idle order (oldest first). */
  private readonly entries = new Map<string, Entry>();

  constructor(
    options: Partial<PenaltyOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...DEFAULT_PENALTY, ...options };
  }

  /**
   * How long to hold back the answer to a log-in from `address` to `mailbox`;
   * with `mailbox` null, the address's own penalty alone (a place the
   * mailbox's owner logs in from, see login-gate.ts).
   */
  delayFor(address: string, mailbox: string | null): number {
    this.forgetExpired();
    const mailboxFailures = mailbox === null ? 0 : (this.entries.get(mailboxKey(mailbox))?.failures ?? 0);
    const failures = Math.max(this.entries.get(addressKey(address))?.failures ?? 0, mailboxFailures);
    return penaltyDelayMs(failures, this.options);
  }

  /** Records a failed log-in; returns the counts for the log. */
  failure(address: string, mailbox: string): FailureCounts {
    this.forgetExpired();
    const a = this.bump(addressKey(address));
    const m = this.bump(mailboxKey(mailbox));
    this.trim();
    return { address: a, mailbox: m, nextDelayMs: penaltyDelayMs(Math.max(a, m), this.options) };
  }

  /**
   * An attempt refused without a check (the password workers were busy, a
   * line was full): no guess was made, but the client is slowed as after a
   * failure, or a refused client would come straight back, again and again.
   */
  refusal(address: string): number {
    this.forgetExpired();
    const failures = this.bump(addressKey(address));
    this.trim();
    return penaltyDelayMs(failures, this.options);
  }

  /** A log-in with the right password: that address and that mailbox are trusted again. */
  success(address: string, mailbox: string): void {
    this.entries.delete(addressKey(address));
    this.entries.delete(mailboxKey(mailbox));
  }

  /** Entries held; bounded by `maxEntries`. */
  get size(): number {
    return this.entries.size;
  }

  private bump(key: string): number {
    const failures = (this.entries.get(key)?.failures ?? 0) + 1;
    // Re-inserted so the Map's order stays "idle longest first".
    this.entries.delete(key);
    this.entries.set(key, { failures, last: this.now() });
    return failures;
  }

  private forgetExpired(): void {
    const cutoff = this.now() - this.options.forgetAfterMs;
    for (const [key, entry] of this.entries) {
      if (entry.last > cutoff) break;
      this.entries.delete(key);
    }
  }

  private trim(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.options.maxEntries) break;
      this.entries.delete(key);
    }
  }
}

/** Per client as clientKey counts them: IPv4-mapped as IPv4, IPv6 by its /64. */
function addressKey(address: string): string {
  return `a:${clientKey(address)}`;
}

function mailboxKey(mailbox: string): string {
  return `m:${mailbox.toLowerCase().slice(0, 400)}`;
}
