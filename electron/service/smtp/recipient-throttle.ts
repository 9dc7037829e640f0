/**
 * Slows down listing mailboxes through RCPT (a directory harvest), after
 * Postfix's smtpd_soft_error_limit, smtpd_error_sleep_time and
 * smtpd_hard_error_limit.
 *
 * Each "550 5.1.1 no such mailbox" counts for the connection and for the
 * client's address (see client-address.ts). The first `softLimit` are
 * answered at once; each further one waits base, 2×base… up to the cap
 * before it is answered; the `hardLimit`-th on one connection is answered
 * with 421 instead, which closes the connection. The address's count
 * survives the connection, so reconnecting does not buy fast answers again
 * until the address has been quiet for `forgetAfterMs`.
 *
 * Accepted recipients are never slowed and do not reset the counts: if they
 * did, a harvester who knows one real address (postmaster) would put it
 * between its guesses and never be slowed. A delivered message resets the
 * counts of its connection and address (as a delivered message resets
 * Postfix's error count), so a mail server whose lists hold a few stale
 * addresses gets its answers at full speed again after each message, and
 * never meets the hard limit unless one message has that many of them.
 */

import { doublingDelayMs, FailureTable } from '../failure-table.js';

export interface RecipientThrottleOptions {
  /** Unknown recipients answered at once; the ones after them are slowed. */
  readonly softLimit: number;
  /** Delay of the first slowed answer, ms; it doubles with each further one. */
  readonly baseMs: number;
  /** Longest delay, ms. */
  readonly capMs: number;
  /** The unknown recipient on one connection that is answered with 421, closing it. */
  readonly hardLimit: number;
  /** An address with no unknown recipient for this long is forgotten, ms. */
  readonly forgetAfterMs: number;
  /** Most addresses remembered at once. */
  readonly maxEntries: number;
}

export const DEFAULT_RECIPIENT_THROTTLE: RecipientThrottleOptions = {
  // Three free: a typo and a stale address or two in one message are normal.
  softLimit: 3,
  // Postfix's smtpd_error_sleep_time, doubling to the POP3 log-in penalty's cap.
  // A sending MTA waits 5 minutes for a RCPT answer (RFC 5321 section 4.5.3.2.3), so 15 s fails nobody.
  baseMs: 1000,
  capMs: 15_000,
  // Postfix's smtpd_hard_error_limit. One connection gets 3 fast and 16 slowed
  // answers (about 3.5 minutes), then must reconnect, and its address is still
  // slowed: with 20 connections from one address, fewer than 1.5 guesses a second.
  hardLimit: 20,
  forgetAfterMs: 15 * 60 * 1000,
  maxEntries: 10_000,
};

/** The delay before answering the `unknowns`-th unknown recipient since the last delivered message. */
export function unknownRecipientDelayMs(unknowns: number, options: RecipientThrottleOptions = DEFAULT_RECIPIENT_THROTTLE): number {
  return doublingDelayMs(unknowns - options.softLimit, options);
}

export interface UnknownRecipientVerdict {
  /** Unknown recipients since the last delivered message: the larger of the connection's and the address's count. */
  readonly unknowns: number;
  /** How long to hold the answer back, ms. */
  readonly delayMs: number;
  /** Answer 421 and close instead of 550. */
  readonly close: boolean;
}

/** The unknown-recipient counts of one listener. */
export class RecipientThrottle {
  readonly options: RecipientThrottleOptions;
  private readonly byAddress: FailureTable;
  /** Open connections only (removed when they close), so bounded by the connection caps. */
  private readonly byConnection = new Map<string, number>();

  constructor(options: Partial<RecipientThrottleOptions> = {}, now: () => number = Date.now) {
    this.options = { ...DEFAULT_RECIPIENT_THROTTLE, ...options };
    this.byAddress = new FailureTable(this.options, now);
  }

  /** Records a 550 5.1.1 for `connection` from the client counted as `client`; says how to answer it. */
  unknown(client: string, connection: string): UnknownRecipientVerdict {
    return this.verdict(this.countOnConnection(connection), this.byAddress.record(client));
  }

  /** Records a 550 5.1.1 on `connection` alone (the address's count kept elsewhere: shared-limits.ts); its count there. */
  countOnConnection(connection: string): number {
    const onConnection = (this.byConnection.get(connection) ?? 0) + 1;
    this.byConnection.set(connection, onConnection);
    return onConnection;
  }

  /** How to answer, from the connection's count and the address's. */
  verdict(onConnection: number, onAddress: number): UnknownRecipientVerdict {
    const unknowns = Math.max(onConnection, onAddress);
    return { unknowns, delayMs: unknownRecipientDelayMs(unknowns, this.options), close: onConnection >= this.options.hardLimit };
  }

  /** A message was delivered: the connection and its address start afresh. */
  delivered(client: string, connection: string): void {
    this.byConnection.delete(connection);
    this.byAddress.clear(client);
  }

  /** The connection is gone. */
  closed(connection: string): void {
    this.byConnection.delete(connection);
  }

  /** Addresses held; bounded by `maxEntries`. */
  get size(): number {
    return this.byAddress.size;
  }
}
