/**
 * What the primary and its worker processes say to each other over the
 * cluster's IPC channel (JSON-serialisable messages).
 *
 * The primary keeps the control channel, the admin endpoint and the admin
 * operations; each worker serves POP3, POP3S and SMTP on the same store and
 * reports what happens there (sessions, mail) so the primary's subscribers
 * see one service.
 */

import type { AdminEvent, ListenerStatus, Settings } from '../../../shared/contract.js';
import type { CounterSnapshot } from '../observe/counters.js';
import type { VerifiedEntry } from '../store/verified-cache.js';
import type { NoteMessage } from './limit-operations.js';

/** The environment variable that carries a worker's WorkerInit, as JSON. */
export const WORKER_INIT_ENV = 'WINPOP_WORKER';

/** What a worker needs to start: the effective settings (this run's overrides included) and the store's options. */
export interface WorkerInit {
  readonly settings: Settings;
  /** The ports to bind; 0 (a run on free ports) is shared by every worker through the cluster. */
  readonly ports: { readonly pop3: number; readonly smtp: number; readonly pop3s: number };
  readonly fsync?: boolean;
  /** Someone listens for events: session events are sent from the start (see `watch`). */
  readonly watched: boolean;
}

/** Worker → primary. */
export type FromWorker =
  /** It answers requests from now on (sent before it listens, so no session of it can miss a kick). */
  | { readonly t: 'answering' }
  /** Listening (or not: the statuses say why); sent once, after start. */
  | { readonly t: 'ready'; readonly listeners: readonly ListenerStatus[]; readonly ports: { pop3: number | null; smtp: number | null; pop3s: number | null } }
  /** A session event or a store change, for the primary's subscribers. */
  | { readonly t: 'event'; readonly event: AdminEvent }
  /** Its connection count changed. */
  | { readonly t: 'sessions'; readonly count: number }
  /** Its counters changed (observe/counters.ts): the primary merges every worker's last snapshot into the service's. */
  | { readonly t: 'counters'; readonly snapshot: CounterSnapshot }
  /** The answer to one request. */
  | { readonly t: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'reply'; readonly id: number; readonly ok: false; readonly error: string }
  /** A question about the service's limits (limit-operations.ts), answered with `answer` and the same id. */
  | { readonly t: 'ask'; readonly id: number; readonly op: string; readonly args: unknown; readonly notes?: readonly NoteMessage[] }
  /** The asker no longer waits for that question (its session ended): a waiting turn is answered `gone`. */
  | { readonly t: 'cancel'; readonly id: number }
  /** A password it verified with scrypt, for the other workers' caches (store/verified-cache.ts). */
  | { readonly t: 'verified'; readonly entry: VerifiedEntry }
  /** Notes about the limits that need no answer (a slot given back), in the order made. */
  | { readonly t: 'tell'; readonly notes: readonly NoteMessage[] };

/** Primary → worker. */
export type ToWorker =
  | { readonly t: 'settings'; readonly settings: Settings }
  /**
   * Whether the primary has event subscribers. Session events are sent only
   * while it has: with nobody watching they would be half of a session's
   * messages to the primary, each one a wake-up of another process.
   */
  | { readonly t: 'watch'; readonly sessions: boolean }
  /** The key of the service's shared verified-password cache (base64), sent first; kept out of the environment. */
  | { readonly t: 'verifiedKey'; readonly key: string }
  /** A password another worker verified. */
  | { readonly t: 'verified'; readonly entry: VerifiedEntry }
  | { readonly t: 'request'; readonly id: number; readonly op: string; readonly args: unknown }
  /** The answer to one `ask`. */
  | { readonly t: 'answer'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'answer'; readonly id: number; readonly ok: false; readonly error: string }
  /** Stop listening, end the sessions, close the store, exit. */
  | { readonly t: 'stop' };

/** A message from a worker. */
export function isFromWorker(message: unknown): message is FromWorker {
  const t = (message as { t?: unknown } | null)?.t;
  return t === 'answering' || t === 'ready' || t === 'event' || t === 'sessions' || t === 'counters' || t === 'reply' || t === 'ask' || t === 'cancel' || t === 'tell' || t === 'verified';
}

/** A message from the primary (the cluster's own internal messages are told apart by their shape). */
export function isToWorker(message: unknown): message is ToWorker {
  const t = (message as { t?: unknown } | null)?.t;
  return t === 'settings' || t === 'watch' || t === 'verifiedKey' || t === 'verified' || t === 'request' || t === 'stop' || t === 'answer';
}
