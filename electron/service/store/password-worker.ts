/**
 * A password worker thread (see password-pool.ts): derives scrypt keys, one
 * at a time, with the synchronous call, so the hashing stays on this thread
 * and never takes a thread of libuv's pool, which the whole process shares
 * for file I/O.
 *
 * On Linux the nice value is per thread: this one lowers its own, so that
 * when the CPUs are short, the thread that serves mail goes first.
 */

import { scryptSync } from 'node:crypto';
import os from 'node:os';
import { parentPort } from 'node:worker_threads';
import type { DeriveJob } from './password-pool.js';

export interface DeriveRequest extends DeriveJob {
  readonly id: number;
}

export type DeriveResponse = { readonly id: number; readonly key: Uint8Array } | { readonly id: number; readonly error: string };

/** How much lower than the thread that started it this thread runs. */
const NICER_BY = 10;

if (process.platform === 'linux') {
  try {
    os.setPriority(0, Math.min(19, os.getPriority(0) + NICER_BY));
  } catch {
    // Not allowed here (a sandbox): the hashing still runs apart from file I/O, only at the same priority.
  }
}

const port = parentPort;
if (port === null) throw new Error('password-worker.js runs as a worker thread of the service, not on its own.');

port.on('message', (request: DeriveRequest) => {
  let response: DeriveResponse;
  try {
    const key = scryptSync(request.password, request.salt, request.keyLength, { N: request.N, r: request.r, p: request.p, maxmem: request.maxmem });
    // A copy of exactly the key: a small Buffer may be a view of a larger shared slab.
    response = { id: request.id, key: new Uint8Array(key) };
  } catch (err) {
    response = { id: request.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(response);
});
