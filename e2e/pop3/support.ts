/**
 * Shared pieces of the POP3 tests: a real store in a temporary folder, a real
 * listener on an ephemeral loopback port, a raw line-based socket client, and
 * a runner for external clients (python3, curl, mpop).
 */

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { Readable } from 'node:stream';
import { silentLogger } from '../../electron/service/log.js';
import { createPop3Server, type Pop3Options, type Pop3Server } from '../../electron/service/pop3/index.js';
import { openMailStore } from '../../electron/service/store/index.js';
import type { MailStore } from '../../electron/service/store/types.js';

export type Pop3TestSettings = ReturnType<Pop3Options['settings']>;
export type Pop3TestEvent = Parameters<NonNullable<Pop3Options['onEvent']>>[0];

export interface TestStore {
  readonly store: MailStore;
  readonly root: string;
  /** Opens the same mail root again, as a restarted service would. */
  reopen(): Promise<MailStore>;
  cleanup(): Promise<void>;
}

export async function makeStore(): Promise<TestStore> {
  const root = await mkdtemp(path.join(tmpdir(), 'pop3-test-'));
  const store = await openMailStore(root, { fsync: false });
  return {
    store,
    root,
    reopen: () => openMailStore(root, { fsync: false }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** Creates the domain if needed, the mailbox, and delivers the messages in order. */
export async function seedMailbox(store: MailStore, address: string, password: string, messages: readonly (string | Buffer)[] = []): Promise<void> {
  const domain = address.slice(address.lastIndexOf('@') + 1);
  const known = await store.listDomains();
  if (!known.some((d) => d.name === domain)) await store.addDomain(domain);
  await store.addMailbox(address, password);
  for (const message of messages) await deliver(store, address, message);
}

export async function deliver(store: MailStore, address: string, message: string | Buffer): Promise<void> {
  await store.deliver(address, Readable.from([Buffer.from(message)]));
}

/** How a message looks on the wire before dot-stuffing: every line end CRLF. */
export function wireForm(message: string): Buffer {
  return Buffer.from(message.replace(/\r\n/g, '\n').replace(/\n/g, '\r\n'));
}

export interface TestServer {
  readonly server: Pop3Server;
  readonly port: number;
  readonly events: Pop3TestEvent[];
  /** Change to alter the settings the server reads per connection and timer. */
  readonly settings: { -readonly [K in keyof Pop3TestSettings]: Pop3TestSettings[K] };
  stop(): Promise<void>;
}

/**
 * The failed-log-in penalty of these tests: short, so that a test with a wrong
 * password does not slow the tests after it (e2e/auth tests the real schedule).
 */
export const TEST_PENALTY = { baseMs: 20, capMs: 100 } as const;

export async function startServer(
  store: MailStore,
  overrides: Partial<Pop3TestSettings> = {},
  options: Partial<Pick<Pop3Options, 'tls' | 'penalty' | 'gate' | 'log'>> = {},
): Promise<TestServer> {
  const settings = {
    idleTimeoutSeconds: 600,
    loginTimeoutSeconds: 60,
    connectionsPerAddress: 10,
    sparequired: false,
    socket: { max: 50, backlog: 50 },
    ...overrides,
  };
  const events: Pop3TestEvent[] = [];
  const server = createPop3Server({
    store,
    log: options.log ?? silentLogger,
    settings: () => settings,
    onEvent: (e) => events.push(e),
    greeting: 'pop3.test',
    penalty: options.penalty ?? TEST_PENALTY,
    ...(options.gate === undefined ? {} : { gate: options.gate }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  });
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, port, events, settings, stop: () => server.close() };
}

/** Waits until `check` holds, polling; fails after `ms` with `what`. */
export async function waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A raw POP3 client: what it reads is exactly what the server sent. */
export class RawClient {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;
  readonly closed: Promise<void>;

  private readonly onData = (chunk: Buffer): void => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.wake();
  };

  private constructor(readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      }),
    );
  }

  /**
   * Connects to 127.0.0.1 (or `host`); `from` picks another loopback source
   * address (127.0.0.2 …) to be another client.
   */
  static async connect(port: number, from?: string, host = '127.0.0.1'): Promise<RawClient> {
    const socket = connect({ port, host, ...(from === undefined ? {} : { localAddress: from }) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Connects with TLS from the first byte (POP3S), trusting only `ca` (for the name `host`), and reads the greeting. */
  static async openTls(port: number, ca: string, host = '127.0.0.1'): Promise<RawClient> {
    const socket = tlsConnect({ port, host, ca });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    const greeting = await client.line();
    if (!greeting.startsWith('+OK')) throw new Error(`unexpected greeting: ${greeting}`);
    return client;
  }

  /**
   * After the server's "+OK" to STLS: runs the TLS handshake on this
   * connection, trusting only `ca` for the name `host`, and returns the client
   * that reads and writes through it. Bytes already received in plain text
   * stay with this (now finished) client.
   */
  async startTls(ca: string, host = '127.0.0.1'): Promise<RawClient> {
    this.socket.off('data', this.onData);
    const socket: TLSSocket = tlsConnect({ socket: this.socket, host, ca });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Connects (to 127.0.0.1 unless `host` is given) and reads the greeting. */
  static async open(port: number, from?: string, host?: string): Promise<RawClient> {
    const client = await RawClient.connect(port, from, host);
    const greeting = await client.line();
    if (!greeting.startsWith('+OK')) throw new Error(`unexpected greeting: ${greeting}`);
    return client;
  }

  /** Connects, logs in, and returns the client and the PASS answer. */
  static async login(port: number, user: string, password: string): Promise<RawClient> {
    const client = await RawClient.open(port);
    const userReply = await client.command(`USER ${user}`);
    if (!userReply.startsWith('+OK')) throw new Error(`USER refused: ${userReply}`);
    const passReply = await client.command(`PASS ${password}`);
    if (!passReply.startsWith('+OK')) throw new Error(`PASS refused: ${passReply}`);
    return client;
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Bytes received and not yet read. */
  get unread(): number {
    return this.buffer.length;
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  async command(line: string): Promise<string> {
    this.send(`${line}\r\n`);
    return this.line();
  }

  /** One line without its CRLF; rejects when the connection closes first. */
  async line(ms = 5000): Promise<string> {
    const raw = await this.rawLine(ms);
    return raw.toString('latin1').replace(/\r\n$/, '');
  }

  /** One line with its line end, as bytes. */
  async rawLine(ms = 5000): Promise<Buffer> {
    const until = Date.now() + ms;
    for (;;) {
      const lf = this.buffer.indexOf(0x0a);
      if (lf >= 0) {
        const line = this.buffer.subarray(0, lf + 1);
        this.buffer = this.buffer.subarray(lf + 1);
        return line;
      }
      if (this.ended) throw new Error('connection closed');
      const left = until - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a line');
      await this.waitData(left);
    }
  }

  /** The body of a multi-line response, still dot-stuffed, up to (not including) the ".\r\n" terminator. */
  async multiline(ms = 5000): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (;;) {
      const line = await this.rawLine(ms);
      if (line.equals(Buffer.from('.\r\n'))) return Buffer.concat(parts);
      parts.push(line);
    }
  }

  /** Lines of a multi-line response (for LIST, UIDL, CAPA). */
  async lines(ms = 5000): Promise<string[]> {
    const body = (await this.multiline(ms)).toString('latin1');
    return body === '' ? [] : body.replace(/\r\n$/, '').split('\r\n');
  }

  /** Resolves when the server closes the connection; rejects after `ms`. */
  async waitClosed(ms = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the server did not close the connection')), ms);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops buffering input and returns what was buffered: the caller reads the socket itself from here on. */
  handOver(): Buffer {
    this.socket.off('data', this.onData);
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    return rest;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private waitData(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Removes RFC 1939 dot-stuffing from a multi-line body. */
export function unstuff(body: Buffer): Buffer {
  const text = body.toString('latin1');
  return Buffer.from(text.replace(/(^|\r\n)\./g, '$1'), 'latin1');
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs an external program with a time limit; never throws for a non-zero exit. */
export function run(file: string, args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? 20_000, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(err);
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** One store and one listener for a describe block: made before its tests, stopped and removed after them. */
export function useStoreAndServer(): { readonly t: TestStore; readonly srv: TestServer } {
  const fixture = {} as { t: TestStore; srv: TestServer };
  before(async () => {
    fixture.t = await makeStore();
    fixture.srv = await startServer(fixture.t.store);
  });
  after(async () => {
    await fixture.srv?.stop();
    await fixture.t?.cleanup();
  });
  return fixture;
}
