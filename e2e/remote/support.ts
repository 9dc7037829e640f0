/**
 * What the admin endpoint tests share: a whole service started in this
 * process with the endpoint on a loopback port and its control channel (for
 * `winpop` and for making admin accounts as the service's user), HTTPS
 * requests that check the service's certificate for real, and a console
 * WebSocket that reads the frames back.
 */

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { Readable } from 'node:stream';
import { WebSocket } from 'ws';
import { connectControl, type ControlClient } from '../../electron/service/admin/control-client.js';
import type { AdminEndpointOptions } from '../../electron/service/admin/remote/endpoint-server.js';
import { startService, type ServiceHost } from '../../electron/service/host.js';
import { openMailStore } from '../../electron/service/store/index.js';
import { freePort } from '../helpers/free-port.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { capturingLogger } from '../tls/tls-support.js';

export { freePort } from '../helpers/free-port.js';

export interface Mailbox {
  readonly address: string;
  readonly password: string;
}

export interface EndpointHost {
  readonly dir: TempDir;
  readonly mailroot: string;
  readonly configPath: string;
  readonly host: ServiceHost;
  /** The admin endpoint's port (null when it is off). */
  readonly port: number;
  /** `https://127.0.0.1:<port>`: the origin a browser at the endpoint sends. */
  readonly origin: string;
  /** The service's certificate (PEM), to trust it in clients. */
  readonly ca: string;
  readonly logs: ReturnType<typeof capturingLogger>;
  /** The control channel, as winpop reaches it (admin accounts are made there). */
  control(): Promise<ControlClient>;
  /** Stops the service and removes its folder. */
  stop(): Promise<void>;
}

export interface EndpointHostOptions {
  /** Start with the endpoint on (a free port) or off (default on). */
  readonly endpoint?: boolean;
  readonly adminEndpoint?: AdminEndpointOptions;
  readonly mailboxes?: readonly Mailbox[];
  /** Admin accounts made before the test, through the control channel. */
  readonly admins?: readonly { name: string; password: string }[];
}

/** The whole service on free loopback ports, logging into memory, with the admin endpoint on a free port. */
export async function startEndpointHost(options: EndpointHostOptions = {}): Promise<EndpointHost> {
  const dir = await tempDir('winpop-remote-');
  const mailroot = path.join(dir.path, 'mail');
  const configPath = path.join(dir.path, 'config.json');
  if (options.mailboxes && options.mailboxes.length > 0) {
    const store = await openMailStore(mailroot, { fsync: false });
    const domains = new Set<string>();
    for (const m of options.mailboxes) {
      const domain = m.address.slice(m.address.lastIndexOf('@') + 1);
      if (!domains.has(domain)) await store.addDomain(domain);
      domains.add(domain);
      await store.addMailbox(m.address, m.password);
      await store.deliver(m.address, Readable.from([Buffer.from('Subject: waiting\r\n\r\nbody\r\n')]));
    }
    await store.close();
  }
  const logs = capturingLogger();
  const adminPort = options.endpoint === false ? undefined : await freePort();
  const host = await startService({
    mailroot,
    configPath,
    listen: '127.0.0.1',
    pop3Port: 0,
    smtpPort: 0,
    fsync: false,
    log: logs.log,
    ...(adminPort === undefined ? {} : { adminPort }),
    ...(options.adminEndpoint ? { adminEndpoint: options.adminEndpoint } : {}),
  });
  const certificate = host.info().tls?.certificate;
  assert.ok(certificate, `the service has no certificate: ${host.info().tls?.error}`);
  const control = async (): Promise<ControlClient> => {
    const client = await connectControl(mailroot, 'remote-test');
    assert.ok(client, 'the control channel should answer');
    return client;
  };
  if (options.admins && options.admins.length > 0) {
    const client = await control();
    try {
      for (const a of options.admins) await client.addAdmin(a);
    } finally {
      client.close();
    }
  }
  const port = host.adminEndpoint.port ?? 0;
  return {
    dir,
    mailroot,
    configPath,
    host,
    port,
    origin: `https://127.0.0.1:${port}`,
    ca: await readFile(certificate.certFile, 'utf8'),
    logs,
    control,
    async stop() {
      await host.stop();
      await dir.remove();
    },
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTPS request to the endpoint, the certificate checked against `ca`, on a connection of its own. */
export function request(
  t: Pick<EndpointHost, 'port' | 'ca'>,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string; localAddress?: string; signal?: AbortSignal },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: t.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers ?? {},
        ca: t.ca,
        agent: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** POST /api/login with JSON; the answer. */
export function postLogin(
  t: Pick<EndpointHost, 'port' | 'ca'>,
  name: string,
  password: string,
  extra: { headers?: Record<string, string>; localAddress?: string; signal?: AbortSignal } = {},
): Promise<HttpAnswer> {
  return request(t, {
    method: 'POST',
    path: '/api/login',
    headers: { 'Content-Type': 'application/json', ...(extra.headers ?? {}) },
    body: JSON.stringify({ name, password }),
    ...(extra.localAddress ? { localAddress: extra.localAddress } : {}),
    ...(extra.signal ? { signal: extra.signal } : {}),
  });
}

/** The `name=value` of a Set-Cookie header, to send back as Cookie. */
export function cookieOf(answer: HttpAnswer): string {
  const set = answer.headers['set-cookie'];
  const first = Array.isArray(set) ? set[0] : set;
  assert.ok(first, `no Set-Cookie in ${answer.status} ${answer.body}`);
  return first.split(';')[0] as string;
}

/** Signs in and returns the cookie to send. */
export async function signIn(t: Pick<EndpointHost, 'port' | 'ca'>, name: string, password: string): Promise<string> {
  const answer = await postLogin(t, name, password);
  assert.equal(answer.status, 200, answer.body);
  return cookieOf(answer);
}

/** A refused WebSocket: the HTTP status and JSON body the endpoint answered with. */
export class Refused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`WebSocket refused with ${status}: ${body}`);
  }
}

/** A console's WebSocket, reading the frames the service sends. */
export class ConsoleSocket {
  private readonly frames: Record<string, any>[] = [];
  private readonly waiters: ((frame: Record<string, any>) => void)[] = [];
  private nextId = 1;
  /** Resolves with the close code and reason when the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Record<string, any>;
      const waiter = this.waiters.shift();
      if (waiter) waiter(frame);
      else this.frames.push(frame);
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Opens `/api/ws` with a cookie and an Origin (none when null); rejects with Refused when the endpoint says no. */
  static open(t: Pick<EndpointHost, 'port' | 'ca'>, options: { cookie: string | null; origin: string | null; path?: string }): Promise<ConsoleSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${t.port}${options.path ?? '/api/ws'}`, {
        ca: t.ca,
        ...(options.origin === null ? {} : { origin: options.origin }),
        headers: options.cookie === null ? {} : { Cookie: options.cookie },
      });
      ws.once('open', () => resolve(new ConsoleSocket(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => reject(new Refused(res.statusCode ?? 0, body)));
        // The endpoint closes after its answer; without this the client socket would linger.
        res.on('close', () => ws.terminate());
      });
      ws.once('error', reject);
    });
  }

  /** The next frame the service sent. */
  next(timeoutMs = 10_000): Promise<Record<string, any>> {
    const ready = this.frames.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame within the time limit')), timeoutMs);
      this.waiters.push((frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
    });
  }

  /** The next frame `pick` accepts; those before it are dropped. */
  async nextWhere(pick: (frame: Record<string, any>) => boolean, timeoutMs = 10_000): Promise<Record<string, any>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.next(Math.max(1, until - Date.now()));
      if (pick(frame)) return frame;
    }
  }

  /** The close code and reason, once the socket closes; fails after `timeoutMs` (the service did not close it). */
  closedWithin(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the WebSocket was not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.closed, late]).finally(() => clearTimeout(timer));
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** One call; resolves to its reply (`{ ok, result }` or `{ ok: false, error }`). */
  async call(op: string, args: unknown): Promise<Record<string, any>> {
    const id = this.nextId++;
    this.send({ id, op, args });
    const frame = await this.nextWhere((f) => f.id === id);
    return frame.reply as Record<string, any>;
  }

  close(): void {
    this.ws.close();
  }
}

export { eventually } from '../hostile/support.js';

/** The audit log's lines, parsed. */
export async function auditLines(mailroot: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path.join(mailroot, '.winpop', 'audit.log'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
