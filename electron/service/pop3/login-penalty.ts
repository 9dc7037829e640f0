/**
 * Slows password guessing, after Dovecot's auth penalty: each failed log-in
 * delays the next log-in answer to the same client address and to the same
 * mailbox, 2 s after one failure, doubling with each further failure, to a
 * cap of 15 s. A success clears both. Other addresses and mailboxes are never
 * slowed, so one attacker cannot lock everybody out.
 *
 * The counts live in a bounded FailureTable (see failure-table.ts), so a
 * flood of made-up mailbox names costs a fixed amount of memory.
 */

import { clientAddressKey } from '../client-address.js';
import { doublingDelayMs, FailureTable } from '../failure-table.js';

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
  return doublingDelayMs(failures, options);
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
  /** Keys `a:<client>` and `m:<mailbox>`. */
  private readonly table: FailureTable;

  constructor(options: Partial<PenaltyOptions> = {}, now: () => number = Date.now) {
    this.options = { ...DEFAULT_PENALTY, ...options };
    this.table = new FailureTable(this.options, now);
  }

  /**
   * How long to hold back the answer to a log-in from `address` to `mailbox`;
   * with `mailbox` null, the address's own penalty alone (a place the
   * mailbox's owner logs in from, see login-gate.ts).
   */
  delayFor(address: string, mailbox: string | null): number {
    const mailboxFailures = mailbox === null ? 0 : this.table.count(mailboxKey(mailbox));
    return penaltyDelayMs(Math.max(this.table.count(addressKey(address)), mailboxFailures), this.options);
  }

  /** Records a failed log-in; returns the counts for the log. */
  failure(address: string, mailbox: string): FailureCounts {
    const a = this.table.record(addressKey(address));
    const m = this.table.record(mailboxKey(mailbox));
    return { address: a, mailbox: m, nextDelayMs: penaltyDelayMs(Math.max(a, m), this.options) };
  }

  /**
   * An attempt refused without a check (the password workers were busy, a
   * line was full): no guess was made, but the client is slowed as after a
   * failure, or a refused client would come straight back, again and again.
   */
  refusal(address: string): number {
    return penaltyDelayMs(this.table.record(addressKey(address)), this.options);
  }

  /** A log-in with the right password: that address and that mailbox are trusted again. */
  success(address: string, mailbox: string): void {
    this.table.clear(addressKey(address));
    this.table.clear(mailboxKey(mailbox));
  }

  /** Entries held; bounded by `maxEntries`. */
  get size(): number {
    return this.table.size;
  }
}

/** Per client as clientAddressKey counts them: IPv4-mapped as IPv4, IPv6 by its /64. */
function addressKey(address: string): string {
  return `a:${clientAddressKey(address)}`;
}

function mailboxKey(mailbox: string): string {
  return `m:${mailbox.toLowerCase().slice(0, 400)}`;
}
