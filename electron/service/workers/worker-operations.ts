/**
 * The questions a primary can put to every worker process, and what each
 * worker answers: operations whose state is per process (the sessions a
 * worker holds), gathered by the primary into one answer. (The counters take
 * another road: each worker reports its snapshot when it changes, since the
 * `counters` event needs them every second without asking.)
 *
 * To add one (a `listSessions`, an `endSession`), three short steps:
 *   1. declare it here: `listSessions: { args: Record<string, never>; result: SessionRow[] };`
 *   2. answer it in worker-main.ts's `answers`: `listSessions: () => mail.pop3.listSessions(),`
 *   3. gather it in the primary (host.ts) from the pool's `askAll`:
 *      `const rows = (await pool.askAll('listSessions', {})).flatMap((a) => (a.ok ? a.value : []));`
 *      (each answer says which worker `pid` it came from; a worker that died or
 *      did not answer in time is an `ok: false` answer, never a wait).
 * The compiler checks that every worker answers every operation declared here.
 */

import type { LockTarget } from '../../../shared/lock-rule.js';

export interface WorkerOperations {
  /** Closes the worker's sessions of the target (a lock, a password change, a deletion); how many it closed. */
  closeSessions: { args: { readonly target: LockTarget; readonly reason: string }; result: number };
  /** The worker's connections, as `ServerInfo.sessions` counts them. */
  sessionCount: { args: Record<string, never>; result: number };
}

export type WorkerOperationName = keyof WorkerOperations;

/** One worker's answer to one request. */
export type WorkerAnswer<T> =
  | { readonly pid: number; readonly ok: true; readonly value: T }
  | { readonly pid: number; readonly ok: false; readonly error: string };
