/**
 * The console's connections to other computers, held by the main process.
 *
 * Each remembered computer is signed in to over its admin endpoint
 * (remote-link.ts) and kept on one WebSocket: its admin operations go there
 * and its events come back, tagged with the computer's id. Every computer
 * runs alone (its own attempts, timers and calls), so one that is dead or
 * slow never holds up another. A lost connection is retried with a doubling
 * back-off; a wrong password or a changed certificate is not retried, since
 * only the admin can settle those. No Electron import: the saved credential's
 * encryption (Electron safeStorage) is passed in, so this runs under plain
 * Node in the tests and in the Chromium harness.
 */

import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { AdminEvent, ComputerEvent, ComputerInfo, ComputerOperations, ComputerState, ErrorCode, OperationName } from '../../shared/contract.js';
import { AdminError } from '../../shared/errors.js';
import { validateComputerArgs } from '../../shared/validate.js';
import type { Logger } from '../service/log.js';
import { readComputerList, writeComputerList, type ComputerRecord } from './computer-list-file.js';
import { FingerprintMismatch, connectPinned } from './pinned-tls.js';
import { LoginRefused, openSocket, signIn, type Endpoint } from './remote-link.js';

/** Encrypts and decrypts a saved password (Electron safeStorage in the console); base64 text on disk. */
export interface CredentialVault {
  encrypt(password: string): string;
  decrypt(saved: string): string;
}

export interface ComputerManagerOptions {
  /** The JSON file of remembered computers (in the app's user-data folder). */
  readonly file: string;
  /** Saving passwords; without it (no key store on this machine) the admin enters the password each time. */
  readonly vault?: CredentialVault | null;
  readonly log: Logger;
  /** The first wait before reconnecting, doubled after each failure up to `maxMs` (defaults 1 s and 60 s). */
  readonly backoff?: { readonly firstMs: number; readonly maxMs: number };
  /** How long a connection attempt or a call may take (default 15 s). */
  readonly timeoutMs?: number;
}

const DEFAULT_BACKOFF = { firstMs: 1000, maxMs: 60_000 };
/** A reply frame larger than this is not waited for any longer than a normal one; calls have their own time limit. */
const CALL_TIMEOUT_FACTOR = 4;

/** The wait before reconnect attempt number `failures` (1 for the first failure). */
export function backoffDelay(failures: number, backoff: { firstMs: number; maxMs: number }): number {
  return Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** One remote computer: what is remembered, plus its live connection. */
class Remote {
  record: ComputerRecord;
  state: ComputerState;
  reason: string | undefined;
  offered: string | undefined;
  computerName: string | undefined;
  retryAt: number | undefined;
  password: string | null = null;
  ws: WebSocket | null = null;
  /** Bumped by every new attempt, disconnect and removal: what an older attempt finds changed, it drops. */
  generation = 0;
  failures = 0;
  retryTimer: NodeJS.Timeout | undefined;
  nextCallId = 1;
  readonly pending = new Map<number, Pending>();

  constructor(record: ComputerRecord, state: ComputerState, reason?: string) {
    this.record = record;
    this.state = state;
    this.reason = reason;
  }

  label(): string {
    return `${this.record.host}:${this.record.port}`;
  }

  info(): ComputerInfo {
    const { id, host, port, admin, fingerprint } = this.record;
    return {
      id,
      host,
      port,
      admin,
      state: this.state,
      fingerprint,
      saved: this.record.credential !== undefined,
      ...(this.reason === undefined ? {} : { reason: this.reason }),
      ...(this.offered === undefined ? {} : { offeredFingerprint: this.offered }),
      ...(this.computerName === undefined ? {} : { computerName: this.computerName }),
      ...(this.retryAt === undefined ? {} : { retryAt: new Date(this.retryAt).toISOString() }),
    };
  }
}

function message(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return message(err.errors[0]);
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ECONNREFUSED') return 'nothing answers at that port (the service or its admin endpoint is not running)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the name is not known (check its spelling, or use the address)';
  if (code === 'ECONNRESET') return 'the connection was cut';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'there is no route to that computer';
  return err instanceof Error ? err.message : String(err);
}

export class ComputerManager {
  readonly #remotes = new Map<string, Remote>();
  readonly #listeners = new Set<(event: ComputerEvent) => void>();
  readonly #file: string;
  readonly #vault: CredentialVault | null;
  readonly #log: Logger;
  readonly #backoff: { firstMs: number; maxMs: number };
  readonly #timeoutMs: number;
  #saving: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(options: ComputerManagerOptions) {
    this.#file = options.file;
    this.#vault = options.vault ?? null;
    this.#log = options.log;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** Opens the manager with the remembered computers; those with a saved credential start connecting. */
  static async open(options: ComputerManagerOptions): Promise<ComputerManager> {
    const manager = new ComputerManager(options);
    let records: ComputerRecord[] = [];
    try {
      records = await readComputerList(options.file);
    } catch (err) {
      options.log.error('the remembered computers could not be read', { file: options.file, error: message(err) });
    }
    for (const record of records) {
      const remote = new Remote(record, 'signedOut', 'Connect to sign in: the password is not saved.');
      manager.#remotes.set(record.id, remote);
      if (record.credential !== undefined && manager.#vault) {
        try {
          remote.password = manager.#vault.decrypt(record.credential);
        } catch (err) {
          remote.reason = `The saved password could not be decrypted (${message(err)}); connect to enter it again.`;
        }
      }
      if (remote.password !== null) void manager.#attempt(remote);
    }
    return manager;
  }

  /** Subscribes to state changes and the computers' admin events; returns the unsubscribe. */
  onEvent(listener: (event: ComputerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Runs one computer operation; `raw` is checked here (shared/validate.ts), so callers may pass untrusted input. */
  async run<K extends keyof ComputerOperations>(op: K, raw: unknown): Promise<ComputerOperations[K]['result']> {
    const args = validateComputerArgs(op, raw) as ComputerOperations[keyof ComputerOperations]['args'];
    switch (op) {
      case 'listComputers':
        return this.list();
      case 'connectComputer':
        return this.connect(args as ComputerOperations['connectComputer']['args']);
      case 'confirmFingerprint':
        return this.confirmFingerprint(args as ComputerOperations['confirmFingerprint']['args']);
      case 'disconnectComputer':
        return this.disconnect((args as { computer: string }).computer);
      case 'removeComputer':
        return this.remove((args as { computer: string }).computer);
      case 'callComputer': {
        const call = args as ComputerOperations['callComputer']['args'];
        return this.call(call.computer, call.op, call.args);
      }
    }
    throw new AdminError('INVALID_ARGUMENT', `Unknown operation "${String(op).slice(0, 40)}".`);
  }

  list(): ComputerInfo[] {
    return [...this.#remotes.values()].map((r) => r.info());
  }

  /** The computer with this id; NOT_FOUND names what to do when the console does not know it (any more). */
  #get(id: string): Remote {
    const remote = this.#remotes.get(id);
    if (!remote) throw new AdminError('NOT_FOUND', `The console knows no computer "${id.slice(0, 40)}"; it may have been removed. Connect to it again.`);
    return remote;
  }

  async connect(args: ComputerOperations['connectComputer']['args']): Promise<ComputerInfo> {
    this.#assertOpen();
    let remote = args.computer === undefined ? [...this.#remotes.values()].find((r) => r.record.host.toLowerCase() === args.host.toLowerCase() && r.record.port === args.port) : this.#get(args.computer);
    if (!remote) {
      const record: ComputerRecord = { id: `c-${randomBytes(8).toString('hex')}`, host: args.host, port: args.port, admin: args.admin, fingerprint: null };
      remote = new Remote(record, 'connecting');
      this.#remotes.set(record.id, remote);
    } else if (remote.record.host !== args.host || remote.record.port !== args.port) {
      // Another address is another certificate to confirm.
      remote.record = { ...remote.record, host: args.host, port: args.port, fingerprint: null };
    }
    remote.record = { ...remote.record, admin: args.admin };
    remote.password = args.password;
    const { credential: _dropped, ...withoutCredential } = remote.record;
    if (args.remember && this.#vault) remote.record = { ...remote.record, credential: this.#vault.encrypt(args.password) };
    else remote.record = withoutCredential;
    if (args.remember && !this.#vault) this.#log.warn('no key store to save the password in: it will be asked for at the next start', { computer: remote.label() });
    this.#save();
    await this.#attempt(remote);
    return remote.info();
  }

  async confirmFingerprint(args: ComputerOperations['confirmFingerprint']['args']): Promise<ComputerInfo> {
    this.#assertOpen();
    const remote = this.#get(args.computer);
    if (remote.offered !== args.fingerprint) {
      throw new AdminError(
        'INVALID_ARGUMENT',
        remote.offered === undefined
          ? `${remote.label()} has not offered a certificate to confirm; connect to it first.`
          : `${remote.label()} offers the certificate ${remote.offered}, not the one confirmed; compare the fingerprint again.`,
      );
    }
    remote.record = { ...remote.record, fingerprint: args.fingerprint };
    remote.offered = undefined;
    this.#log.info('certificate of another computer trusted', { computer: remote.label(), fingerprint: args.fingerprint });
    this.#save();
    if (remote.password === null) {
      this.#set(remote, 'signedOut', 'Connect to sign in with the password.');
      return remote.info();
    }
    await this.#attempt(remote);
    return remote.info();
  }

  disconnect(id: string): ComputerInfo {
    const remote = this.#get(id);
    this.#stop(remote, 'disconnected');
    remote.password = remote.record.credential !== undefined && this.#vault ? remote.password : null;
    this.#set(remote, 'signedOut', 'Disconnected; connect to sign in again.');
    return remote.info();
  }

  remove(id: string): { computer: string } {
    const remote = this.#get(id);
    this.#stop(remote, 'removed');
    this.#remotes.delete(id);
    this.#save();
    this.#emit({ type: 'computerRemoved', computer: id });
    return { computer: id };
  }

  /** Runs one admin operation (already validated) on a connected computer. */
  call(id: string, op: OperationName, args: unknown): Promise<unknown> {
    const remote = this.#get(id);
    const ws = remote.ws;
    if (remote.state !== 'connected' || ws === null) {
      throw new AdminError('UNAVAILABLE', `${remote.computerName ?? remote.label()} is not connected${remote.reason ? `: ${remote.reason}` : '.'}`);
    }
    const callId = remote.nextCallId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        remote.pending.delete(callId);
        reject(new AdminError('UNAVAILABLE', `${remote.label()} did not answer ${op} within ${Math.round((this.#timeoutMs * CALL_TIMEOUT_FACTOR) / 1000)} s.`));
      }, this.#timeoutMs * CALL_TIMEOUT_FACTOR);
      remote.pending.set(callId, { resolve, reject, timer });
      ws.send(JSON.stringify({ id: callId, op, args }));
    });
  }

  /** Closes every connection and waits for the list to be written. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const remote of this.#remotes.values()) this.#stop(remote, 'the console is closing');
    this.#listeners.clear();
    await this.#saving;
  }

  #assertOpen(): void {
    if (this.#closed) throw new AdminError('UNAVAILABLE', 'The console is closing.');
  }

  #emit(event: ComputerEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#log.error('a computer event listener failed', { error: message(err) });
      }
    }
  }

  #set(remote: Remote, state: ComputerState, reason?: string): void {
    remote.state = state;
    remote.reason = reason;
    if (state !== 'unreachable') remote.retryAt = undefined;
    if (this.#remotes.get(remote.record.id) === remote) this.#emit({ type: 'computerState', computer: remote.info() });
  }

  #save(): void {
    const records = [...this.#remotes.values()].map((r) => r.record);
    this.#saving = this.#saving
      .then(() => writeComputerList(this.#file, records))
      .catch((err: unknown) => this.#log.error('the remembered computers could not be saved', { file: this.#file, error: message(err) }));
  }

  /** Ends the connection, the retry timer and the calls waiting; later news of the old attempt is dropped. */
  #stop(remote: Remote, why: string): void {
    remote.generation++;
    clearTimeout(remote.retryTimer);
    remote.retryTimer = undefined;
    const ws = remote.ws;
    remote.ws = null;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
    }
    this.#failCalls(remote, 'UNAVAILABLE', `${remote.label()}: ${why}.`);
  }

  #failCalls(remote: Remote, code: ErrorCode, text: string): void {
    for (const [id, pending] of remote.pending) {
      clearTimeout(pending.timer);
      remote.pending.delete(id);
      pending.reject(new AdminError(code, text));
    }
  }

  #endpoint(remote: Remote, fingerprint: string): Endpoint {
    return { host: remote.record.host, port: remote.record.port, fingerprint, timeoutMs: this.#timeoutMs };
  }

  #retryLater(remote: Remote, reason: string, atLeastMs = 0): void {
    remote.failures++;
    const delay = Math.max(atLeastMs, backoffDelay(remote.failures, this.#backoff));
    remote.retryAt = Date.now() + delay;
    const generation = remote.generation;
    remote.retryTimer = setTimeout(() => {
      if (remote.generation === generation && !this.#closed) void this.#attempt(remote);
    }, delay);
    remote.state = 'unreachable';
    remote.reason = `${reason}; trying again in ${Math.ceil(delay / 1000)} s.`;
    this.#emit({ type: 'computerState', computer: remote.info() });
  }

  /** One attempt to connect: resolves when it is connected or has settled in the state that says why not. */
  async #attempt(remote: Remote): Promise<void> {
    this.#stop(remote, 'reconnecting');
    const generation = remote.generation;
    const current = (): boolean => remote.generation === generation && !this.#closed;
    this.#set(remote, 'connecting');
    const expected = remote.record.fingerprint;
    try {
      if (expected === null) {
        const { socket, fingerprint } = await connectPinned(remote.record.host, remote.record.port, null, this.#timeoutMs);
        socket.destroy();
        if (!current()) return;
        remote.offered = fingerprint;
        remote.failures = 0;
        this.#set(remote, 'unconfirmed', `First contact: confirm that the certificate's SHA-256 fingerprint is ${fingerprint} (compare it on that computer: winpop get, or Server Properties).`);
        return;
      }
      if (remote.password === null) {
        this.#set(remote, 'signedOut', 'Connect to sign in with the password.');
        return;
      }
      const endpoint = this.#endpoint(remote, expected);
      const cookie = await signIn(endpoint, remote.record.admin, remote.password);
      if (!current()) return;
      const ws = await openSocket(endpoint, cookie);
      if (!current()) {
        ws.terminate();
        return;
      }
      await this.#adopt(remote, ws, generation);
    } catch (err) {
      if (!current()) return;
      if (err instanceof FingerprintMismatch) {
        remote.offered = err.offered;
        this.#set(
          remote,
          'fingerprintChanged',
          `WARNING: the certificate of ${remote.label()} has changed. Remembered: ${expected}; offered now: ${err.offered}. Someone may be impersonating that computer, or its certificate was replaced. Connect only after checking the new fingerprint on that computer; then accept it.`,
        );
      } else if (err instanceof LoginRefused && err.status === 401) {
        this.#set(remote, 'loginFailed', `Log-in failed: ${err.message}`);
      } else if (err instanceof LoginRefused && (err.status === 429 || err.status === 503)) {
        this.#retryLater(remote, err.message, (err.retryAfterSeconds ?? 0) * 1000);
      } else if (err instanceof LoginRefused) {
        this.#set(remote, 'loginFailed', `Log-in refused: ${err.message}`);
      } else {
        this.#retryLater(remote, `Unreachable: ${message(err)}`);
      }
    }
  }

  /** Takes a freshly opened WebSocket into use: reads its hello, subscribes to events, and watches for its end. */
  async #adopt(remote: Remote, ws: WebSocket, generation: number): Promise<void> {
    const current = (): boolean => remote.generation === generation && !this.#closed;
    const hello = await new Promise<{ computer?: unknown }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the endpoint sent no hello')), this.#timeoutMs);
      ws.once('message', (data) => {
        clearTimeout(timer);
        try {
          const frame = JSON.parse(String(data)) as { hello?: { computer?: unknown } };
          if (!frame.hello) throw new Error('the first frame was not a hello');
          resolve(frame.hello);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      ws.once('close', () => {
        clearTimeout(timer);
        reject(new Error('the endpoint closed the WebSocket at once'));
      });
    }).catch((err: unknown) => {
      ws.terminate();
      throw err;
    });
    if (!current()) {
      ws.terminate();
      return;
    }
    ws.removeAllListeners();
    remote.ws = ws;
    remote.computerName = typeof hello.computer === 'string' ? hello.computer.slice(0, 255) : undefined;
    ws.on('message', (data) => this.#onFrame(remote, String(data)));
    ws.on('error', (err) => this.#log.warn('connection to another computer failed', { computer: remote.label(), error: err.message }));
    ws.on('close', (code, reasonBuffer) => {
      if (!current()) return;
      remote.ws = null;
      const reason = reasonBuffer.toString();
      this.#failCalls(remote, 'UNAVAILABLE', `${remote.label()}: the connection closed before the answer came.`);
      if (code === 4001) {
        // The session ended (expired, or the account's password changed): sign in again at once.
        this.#log.info('session on another computer ended; signing in again', { computer: remote.label(), reason });
        void this.#attempt(remote);
      } else {
        this.#retryLater(remote, `Unreachable: the connection closed (${code === 1001 ? 'the service stopped' : code === 1006 ? 'cut without a goodbye' : `code ${code}${reason ? `, ${reason}` : ''}`})`);
      }
    });
    ws.send(JSON.stringify({ id: remote.nextCallId++, subscribe: true }));
    remote.failures = 0;
    remote.offered = undefined;
    this.#set(remote, 'connected');
  }

  #onFrame(remote: Remote, text: string): void {
    let frame: { id?: unknown; reply?: { ok?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } }; event?: unknown; error?: unknown };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      this.#log.warn('another computer sent a frame that is not JSON', { computer: remote.label() });
      return;
    }
    if (typeof frame.id === 'number' && frame.reply) {
      const pending = remote.pending.get(frame.id);
      if (!pending) return;
      remote.pending.delete(frame.id);
      clearTimeout(pending.timer);
      if (frame.reply.ok === true) pending.resolve(frame.reply.result);
      else {
        const code = typeof frame.reply.error?.code === 'string' ? (frame.reply.error.code as ErrorCode) : 'INTERNAL';
        const text = typeof frame.reply.error?.message === 'string' ? frame.reply.error.message : 'the operation failed without a message';
        pending.reject(new AdminError(code, text));
      }
    } else if (frame.event !== undefined && typeof frame.event === 'object' && frame.event !== null) {
      this.#emit({ type: 'computerEvent', computer: remote.record.id, event: frame.event as AdminEvent });
    } else if (frame.error !== undefined) {
      this.#log.warn('another computer reported an error', { computer: remote.label(), error: JSON.stringify(frame.error).slice(0, 300) });
    }
  }
}
