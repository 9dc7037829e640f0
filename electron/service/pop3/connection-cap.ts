/**
 * The per-client connection cap: how many connections each client
 * (clientKey) holds, waiting or served, greeted or not; and a log of the
 * refusals that writes at most one line per client per minute, so a client
 * hammering the cap cannot flood the log either.
 */

import type { Logger } from '../log.js';
import { clientAddressKey as clientKey } from '../client-address.js';

/** One refusal line per client per this long. */
const LOG_EVERY_MS = 60_000;
/** Clients whose refusals are being summed at once; past it the oldest is written out early. */
const MAX_LOGGED_CLIENTS = 10_000;

export class ConnectionCap {
  private readonly held = new Map<string, number>();
  /** Client → when its last line was written and the refusals since; insertion order is time order. */
  private readonly logged = new Map<string, { at: number; since: number }>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts a new connection of the client, or refuses it (false) when the
   * client holds `cap` already. A counted one is uncounted by `release`.
   */
  take(remoteAddress: string, cap: number): boolean {
    const key = clientKey(remoteAddress);
    const held = this.held.get(key) ?? 0;
    if (held >= cap) {
      this.noteRefusal(key, held);
      return false;
    }
    this.held.set(key, held + 1);
    return true;
  }

  release(remoteAddress: string): void {
    const key = clientKey(remoteAddress);
    const held = (this.held.get(key) ?? 0) - 1;
    if (held > 0) this.held.set(key, held);
    else this.held.delete(key);
  }

  /** Connections the client holds now. */
  count(remoteAddress: string): number {
    return this.held.get(clientKey(remoteAddress)) ?? 0;
  }

  /** Clients with a connection, and clients whose refusals are being summed; both bounded. */
  get size(): { clients: number; logged: number } {
    return { clients: this.held.size, logged: this.logged.size };
  }

  private noteRefusal(key: string, held: number): void {
    const now = this.now();
    this.flushOlderThan(now - LOG_EVERY_MS);
    const entry = this.logged.get(key);
    if (entry !== undefined) {
      entry.since++;
      return;
    }
    this.log.warn('pop3 connection refused: too many from one client', { client: key, connections: held, nextLineAfterSeconds: LOG_EVERY_MS / 1000 });
    this.logged.set(key, { at: now, since: 0 });
    while (this.logged.size > MAX_LOGGED_CLIENTS) this.flushOldest();
  }

  private flushOlderThan(cutoff: number): void {
    for (const entry of this.logged.values()) {
      if (entry.at > cutoff) return;
      this.flushOldest();
    }
  }

  /** Forgets the oldest client's line, writing how many refusals it had since, if any. */
  private flushOldest(): void {
    const first = this.logged.entries().next();
    if (first.done === true) return;
    const [key, entry] = first.value;
    this.logged.delete(key);
    if (entry.since > 0) {
      this.log.warn('pop3 connections refused: too many from one client', { client: key, refused: entry.since, seconds: Math.round((this.now() - entry.at) / 1000) });
    }
  }
}
