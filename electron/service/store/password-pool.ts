/**
 * The password workers: scrypt runs in a few worker threads of its own, under
 * a global budget, so that guessing cannot starve the service.
 *
 * One scrypt costs about 100 ms of CPU. Run by node:crypto's asynchronous
 * scrypt, it would take a thread of libuv's pool, the same four threads that
 * do every file read and write of the service: a flood of wrong passwords
 * then queues every RETR behind it. Here each worker thread hashes one
 * password at a time (as Dovecot's auth workers do); at most `workers`
 * hashes run at once, whatever the load, and the rest wait in one queue.
 *
 * The queue is ordered, not first come first served: each log-in job comes
 * with a priority (lower first; see pop3/login-gate.ts), so a first log-in
 * from a quiet client goes before a flood of guesses from busy ones. The
 * log-in jobs waiting are bounded: past the bound, the job that would wait
 * last is refused (LoginBusyError) before any hashing, for a known mailbox
 * and an unknown name alike. A job whose signal aborts leaves the queue.
 * Hashing for the administrator (a new password) waits in the same queue
 * but is never refused.
 *
 * Idle workers do not keep the process alive; `stop` ends them.
 */

import { Worker } from 'node:worker_threads';
import type { DeriveRequest, DeriveResponse } from './password-worker.js';

export interface DeriveJob {
  readonly password: string;
  readonly salt: Uint8Array;
  readonly keyLength: number;
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly maxmem: number;
}

export interface JobOptions {
  /** `login`: bounded and refusable; `admin`: a new password being set, never refused. */
  readonly lane: 'login' | 'admin';
  /** Lower goes first; equal ones in order of arrival. */
  readonly priority?: number;
  /** Aborting removes a job that has not started (its promise rejects with PasswordCheckAbandoned). */
  readonly signal?: AbortSignal | undefined;
}

export interface PoolOptions {
  /** Worker threads, each hashing one password at a time. */
  readonly workers: number;
  /** Log-in jobs that may wait for a worker. */
  readonly queueLimit: number;
  /** The worker script; tests may point at another. */
  readonly workerUrl?: URL;
}

export interface PoolStats {
  readonly workers: number;
  readonly running: number;
  readonly queued: number;
  /** Keys derived since the pool was made. */
  readonly derived: number;
  /** Log-in jobs refused because the queue was full. */
  readonly refused: number;
  /** Jobs that left the queue because their signal aborted. */
  readonly abandoned: number;
}

/** The log-in budget is spent: the attempt was refused before any hashing. */
export class LoginBusyError extends Error {
  readonly code = 'LOGIN_BUSY';
  constructor() {
    super('too many password checks are waiting; this one was refused before hashing');
  }
}

/** The caller gave up (its signal aborted) before the job started. */
export class PasswordCheckAbandoned extends Error {
  readonly code = 'ABANDONED';
  constructor() {
    super('the password check was abandoned before it started');
  }
}

interface Entry {
  readonly job: DeriveJob;
  readonly lane: 'login' | 'admin';
  readonly priority: number;
  readonly seq: number;
  readonly resolve: (key: Buffer) => void;
  readonly reject: (err: Error) => void;
  /** Undoes the abort listener. */
  detach(): void;
}

interface Slot {
  readonly worker: Worker;
  entry: Entry | null;
  requestId: number;
  /** End the worker when its job is done (stop() came while it ran). */
  retire: boolean;
}

/** Default size: every CPU but one (the one that serves mail), at least one, at most four (32 MiB each). */
export function defaultPoolOptions(cpus: number): PoolOptions {
  return { workers: Math.max(1, Math.min(4, cpus - 1)), queueLimit: 256 };
}

export class PasswordPool {
  private readonly slots: Slot[] = [];
  /** Sorted by (priority, seq). */
  private readonly queue: Entry[] = [];
  private loginQueued = 0;
  private seq = 0;
  private nextRequestId = 1;
  private derived = 0;
  private refused = 0;
  private abandoned = 0;
  private readonly workerUrl: URL;

  constructor(private readonly options: PoolOptions) {
    this.workerUrl = options.workerUrl ?? new URL('./password-worker.js', import.meta.url);
  }

  /** Derives a scrypt key in a worker thread, in the order of the queue. */
  derive(job: DeriveJob, options: JobOptions): Promise<Buffer> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new PasswordCheckAbandoned());
    const priority = options.priority ?? 1;
    if (options.lane === 'login' && this.loginQueued >= this.options.queueLimit) {
      // Full: the newcomer waits only if it goes before the last log-in job, which then makes room.
      const last = this.lastLoginEntry();
      if (last === null || last.priority <= priority) {
        this.refused++;
        return Promise.reject(new LoginBusyError());
      }
      this.remove(last);
      this.refused++;
      last.reject(new LoginBusyError());
    }
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.remove(entry)) return;
        this.abandoned++;
        reject(new PasswordCheckAbandoned());
      };
      const entry: Entry = {
        job,
        lane: options.lane,
        priority,
        seq: this.seq++,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.insert(entry);
      this.dispatch();
    });
  }

  stats(): PoolStats {
    return {
      workers: this.slots.length,
      running: this.slots.filter((s) => s.entry !== null).length,
      queued: this.queue.length,
      derived: this.derived,
      refused: this.refused,
      abandoned: this.abandoned,
    };
  }

  /**
   * Ends the worker threads: idle ones now, busy ones when their job is done.
   * The pool stays usable; a later job starts a new worker.
   */
  async stop(): Promise<void> {
    const ending: Promise<number>[] = [];
    for (const slot of [...this.slots]) {
      if (slot.entry === null) {
        this.dropSlot(slot);
        ending.push(slot.worker.terminate());
      } else {
        slot.retire = true;
      }
    }
    await Promise.all(ending);
  }

  private insert(entry: Entry): void {
    let at = this.queue.length;
    while (at > 0 && (this.queue[at - 1] as Entry).priority > entry.priority) at--;
    this.queue.splice(at, 0, entry);
    if (entry.lane === 'login') this.loginQueued++;
  }

  /** Takes a waiting entry out of the queue; false when it is not there (started or gone). */
  private remove(entry: Entry): boolean {
    const at = this.queue.indexOf(entry);
    if (at < 0) return false;
    this.queue.splice(at, 1);
    if (entry.lane === 'login') this.loginQueued--;
    entry.detach();
    return true;
  }

  private lastLoginEntry(): Entry | null {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const entry = this.queue[i] as Entry;
      if (entry.lane === 'login') return entry;
    }
    return null;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.entry === null && !s.retire);
      if (slot === undefined) {
        if (this.slots.filter((s) => !s.retire).length >= this.options.workers) return;
        slot = this.spawn();
      }
      const entry = this.queue.shift() as Entry;
      if (entry.lane === 'login') this.loginQueued--;
      entry.detach();
      slot.entry = entry;
      slot.requestId = this.nextRequestId++;
      slot.worker.ref();
      const request: DeriveRequest = { id: slot.requestId, ...entry.job };
      slot.worker.postMessage(request);
    }
  }

  private spawn(): Slot {
    // Not the process's own flags (--input-type, --cpu-prof…): some are refused in a worker, none is needed to hash.
    const worker = new Worker(this.workerUrl, { execArgv: [] });
    const slot: Slot = { worker, entry: null, requestId: 0, retire: false };
    worker.unref();
    worker.on('message', (response: DeriveResponse) => {
      const entry = slot.entry;
      if (entry === null || response.id !== slot.requestId) return;
      slot.entry = null;
      worker.unref();
      if ('key' in response) {
        this.derived++;
        entry.resolve(Buffer.from(response.key.buffer, response.key.byteOffset, response.key.byteLength));
      } else {
        entry.reject(new Error(`password hashing failed: ${response.error}`));
      }
      if (slot.retire) {
        this.dropSlot(slot);
        void worker.terminate();
      }
      this.dispatch();
    });
    const fail = (err: Error): void => {
      if (!this.slots.includes(slot)) return;
      this.dropSlot(slot);
      const entry = slot.entry;
      slot.entry = null;
      entry?.reject(new Error(`the password worker stopped: ${err.message}`));
      // Jobs still queued get a fresh worker, unless the script itself cannot load (then they fail the same way, one by one).
      this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  private dropSlot(slot: Slot): void {
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
  }
}
