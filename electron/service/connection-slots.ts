/**
 * Connection caps of a listener: open connections in total and per client
 * address (an IPv6 client by its /64, see client-address.ts), with the
 * limits passed in at each connection so a settings change applies to the
 * next one without a restart. SMTP uses both; POP3 caps per address here
 * and keeps its own total (socketmax, with a backlog).
 */

import { FailureTable } from './failure-table.js';

export type SlotVerdict = 'ok' | 'address' | 'total';

export class ConnectionSlots {
  private readonly byClient = new Map<string, number>();
  private open = 0;

  /** Takes a slot for a connection from `client`, or says which cap it is over (the address's first). */
  take(client: string, limits: { readonly total: number; readonly perAddress: number }): SlotVerdict {
    const fromClient = this.byClient.get(client) ?? 0;
    if (fromClient >= limits.perAddress) return 'address';
    if (this.open >= limits.total) return 'total';
    this.byClient.set(client, fromClient + 1);
    this.open++;
    return 'ok';
  }

  /** Gives back a slot `take` granted. */
  release(client: string): void {
    const fromClient = this.byClient.get(client) ?? 0;
    if (fromClient <= 1) this.byClient.delete(client);
    else this.byClient.set(client, fromClient - 1);
    this.open = Math.max(0, this.open - 1);
  }

  /** Open connections holding a slot. */
  get size(): number {
    return this.open;
  }
}

/**
 * Lets a log line through once per key per interval, so a flood of refused
 * connections writes one line a minute per address, not one per connection;
 * bounded like the failure tables.
 */
export class LogOnce {
  private readonly recent: FailureTable;

  constructor(intervalMs: number, maxKeys = 1000, now: () => number = Date.now) {
    // An entry lives as long as its last line is younger than the interval.
    this.recent = new FailureTable({ forgetAfterMs: intervalMs, maxEntries: maxKeys }, now);
  }

  /** True when `key` has had no line within the interval (and starts a new one). */
  due(key: string): boolean {
    if (this.recent.count(key) > 0) return false;
    this.recent.record(key);
    return true;
  }
}
