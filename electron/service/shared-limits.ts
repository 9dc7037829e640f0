/**
 * The abuse limits of the mail listeners, as one service keeps them: POP3
 * connections per client and sessions in all, SMTP connections in all and
 * per client, the failed-log-in gate and penalty, and the unknown-recipient
 * count that follows a client across connections.
 *
 * In one process the tables are the listeners' own (local, synchronous: the
 * same code as before there were workers). With worker processes they are the
 * primary's, asked over IPC (workers/remote-limits.ts), so N workers do not
 * give one client N times a limit. Each answer is therefore a value or a
 * promise of it (`Maybe`), and callers go on at once when it is a value.
 */

import { ConnectionSlots, type SlotVerdict } from './connection-slots.js';
import { FailureTable } from './failure-table.js';
import type { Admission } from './pop3/login-gate.js';
import type { FailureCounts } from './pop3/login-penalty.js';

export type Maybe<T> = T | Promise<T>;

/** Runs `next` on the value now, or when the promise settles. */
export function andThen<T, R>(value: Maybe<T>, next: (value: T) => R): Maybe<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** The log-in gate as the POP3 session uses it (pop3/login-gate.ts is the local one). */
export interface LoginGatePort {
  admit(remoteAddress: string, mailbox: string, signal: AbortSignal): Promise<Admission>;
  succeeded(remoteAddress: string, mailbox: string): void;
  failed(remoteAddress: string, mailbox: string): Maybe<FailureCounts>;
  refused(remoteAddress: string): Maybe<number>;
}

/** POP3's connection and session caps, and its log-in gate. */
export interface Pop3Limits {
  /**
   * A slot for one more connection (waiting or served) from `client`; false:
   * it already holds `perAddress`. `sessionMax` is the `startSession` limit
   * that will follow: limits asked over IPC may grant that slot in the same
   * answer (remote-limits.ts).
   */
  connect(client: string, perAddress: number, sessionMax: number): Maybe<boolean>;
  /** Gives back a slot `connect` granted. */
  disconnect(client: string): void;
  /** A session slot within `max` sessions at once; false: all are taken. */
  startSession(max: number): Maybe<boolean>;
  /** Gives back a slot `startSession` granted. */
  endSession(): void;
  readonly gate: LoginGatePort;
}

/** SMTP's connection caps and the per-client count of unknown recipients. */
export interface SmtpLimits {
  connect(client: string, limits: { readonly total: number; readonly perAddress: number }): Maybe<SlotVerdict>;
  disconnect(client: string): void;
  /** Records an unknown recipient from `client`; its count since its last delivered message. */
  unknownRecipient(client: string): Maybe<number>;
  /** A message from `client` was delivered: its count starts afresh. */
  delivered(client: string): void;
}

/** The connection counts of POP3 in one table: slots per client, and sessions. */
export class Pop3Slots {
  private readonly clients = new ConnectionSlots();
  private sessions = 0;

  connect(client: string, perAddress: number): boolean {
    return this.clients.take(client, { total: Infinity, perAddress }) === 'ok';
  }

  disconnect(client: string): void {
    this.clients.release(client);
  }

  startSession(max: number): boolean {
    if (this.sessions >= max) return false;
    this.sessions++;
    return true;
  }

  endSession(): void {
    this.sessions = Math.max(0, this.sessions - 1);
  }

  /** Connections holding a slot, and sessions. */
  get size(): { connections: number; sessions: number } {
    return { connections: this.clients.size, sessions: this.sessions };
  }
}

/** The SMTP tables of one service (or one process): connection slots and unknown-recipient counts by client. */
export class SmtpTables implements SmtpLimits {
  private readonly slots = new ConnectionSlots();
  private readonly unknowns: FailureTable;

  constructor(options: { readonly forgetAfterMs: number; readonly maxEntries: number }, now: () => number = Date.now) {
    this.unknowns = new FailureTable(options, now);
  }

  connect(client: string, limits: { readonly total: number; readonly perAddress: number }): SlotVerdict {
    return this.slots.take(client, limits);
  }

  disconnect(client: string): void {
    this.slots.release(client);
  }

  unknownRecipient(client: string): number {
    return this.unknowns.record(client);
  }

  delivered(client: string): void {
    this.unknowns.clear(client);
  }

  get size(): number {
    return this.slots.size;
  }
}
