/**
 * The questions a primary can put to every worker process, and what each
 * worker answers: operations whose state is per process (the sessions a
 * worker holds), gathered by the primary into one answer. (The counters take
 * another road: each worker reports its snapshot when it changes, since the
 * `counters` event needs them every second without asking.)
 *
 * To add one, three short steps (`listSessions` went this way):
 *   1. declare it here: `listSessions: { args: { domain?: string }; result: SessionInfo[] };`
 *   2. answer it in worker-main.ts's `answers`: `listSessions: ({ domain }) => mail?.pop3.listSessions(domain) ?? [],`
 *   3. gather it in the primary (worker-pool.ts) with `askAll`:
 *      `(await askAll('listSessions', { domain })).flatMap((a) => (a.ok ? a.value : []))`
 *      (each answer says which worker `pid` it came from; a worker that died or
 *      did not answer in time is an `ok: false` answer, never a wait).
 * The compiler checks that every worker answers every operation declared here.
 */

import type { SessionInfo } from '../../../shared/contract.js';
import type { LockTarget } from '../../../shared/lock-rule.js';

export interface WorkerOperations {
  /** Closes the worker's sessions of the target (a lock, a password change, a deletion); how many it closed. */
  closeSessions: { args: { readonly target: LockTarget; readonly reason: string }; result: number };
  /** The worker's connections, as `ServerInfo.sessions` counts them. */
  sessionCount: { args: Record<string, never>; result: number };
  /** The worker's open sessions (those of one domain, when given), oldest first. */
  listSessions: { args: { readonly domain?: string }; result: SessionInfo[] };
  /** Ends one of the worker's sessions; its row, or null when it has no such session. */
  endSession: { args: { readonly id: string; readonly reason: string }; result: SessionInfo | null };
}

export type WorkerOperationName = keyof WorkerOperations;

/** One worker's answer to one request. */
export type WorkerAnswer<T> =
  | { readonly pid: number; readonly ok: true; readonly value: T }
  | { readonly pid: number; readonly ok: false; readonly error: string };
