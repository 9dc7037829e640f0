/**
 * A minimal POP3 client for load: one command at a time, as mail clients do,
 * with as little work per byte as possible (the client shares the CPUs with
 * the server). A multi-line reply is complete when the bytes received end in
 * CRLF.CRLF, which dot-stuffing guarantees cannot happen earlier.
 */

import net from 'node:net';
import { performance } from 'node:perf_hooks';

const CRLF_DOT_CRLF = Buffer.from('\r\n.\r\n');

export interface MultiReply {
  readonly ok: boolean;
  /** The status line without CRLF. */
  readonly status: string;
  /** Octets after the status line up to (not including) the final ".\r\n". */
  readonly bodyBytes: number;
  /** The whole reply, only when asked for (UIDL). */
  readonly text?: string;
}

type Waiter =
  | { kind: 'line'; resolve: (line: string) => void; reject: (err: Error) => void }
  | { kind: 'multi'; keep: boolean; resolve: (reply: MultiReply) => void; reject: (err: Error) => void };

export class Pop3Client {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter: Waiter | null = null;
  private readonly socket: net.Socket;
  /** performance.now() when the server ended or closed the connection; null while open. */
  endedAt: number | null = null;
  private readonly endedWaiters: ((at: number) => void)[] = [];
  private error: Error | null = null;
  /** The multi-line reply being received, once its +OK status line is in. */
  private body: { status: string; received: number; tail: Buffer; kept: Buffer[] | null } | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const ended = (): void => {
      if (this.endedAt !== null) return;
      this.endedAt = performance.now();
      for (const w of this.endedWaiters.splice(0)) w(this.endedAt);
      // A reply that can no longer arrive: complete what is there, or fail.
      const w = this.waiter;
      this.body = null;
      if (w) {
        this.waiter = null;
        w.reject(this.error ?? new Error('connection closed by the server'));
      }
    };
    socket.on('end', ended);
    socket.on('close', ended);
    socket.on('error', (err) => {
      this.error = err;
      ended();
    });
  }

  /**
   * Connects and reads the greeting; rejects on -ERR (e.g. too many connections).
   * `localAddress` picks the source address (127.0.0.2, 127.1.2.3…) to be another client.
   */
  static async connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<{ client: Pop3Client; greeting: string }> {
    const socket = net.createConnection({ port, host, ...(localAddress === undefined ? {} : { localAddress }) });
    const client = new Pop3Client(socket);
    const greeting = await client.readLine();
    if (!greeting.startsWith('+OK')) {
      client.destroy();
      throw new Error(`greeting: ${greeting}`);
    }
    return { client, greeting };
  }

  /** Resolves with the time (performance.now()) the server ended the connection. */
  whenEnded(): Promise<number> {
    if (this.endedAt !== null) return Promise.resolve(this.endedAt);
    return new Promise((resolve) => this.endedWaiters.push(resolve));
  }

  private readLine(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiter = { kind: 'line', resolve, reject };
      this.check();
    });
  }

  /** Sends one command and reads its one-line reply. */
  command(line: string): Promise<string> {
    const reply = this.readLine();
    this.socket.write(`${line}\r\n`);
    return reply;
  }

  /** Sends one command whose +OK reply is multi-line (RETR, UIDL, LIST, TOP). */
  multi(line: string, keepText = false): Promise<MultiReply> {
    const reply = new Promise<MultiReply>((resolve, reject) => {
      this.waiter = { kind: 'multi', keep: keepText, resolve, reject };
    });
    this.socket.write(`${line}\r\n`);
    return reply;
  }

  /** Writes without waiting for a reply (QUIT on the way out). */
  send(line: string): void {
    if (!this.socket.destroyed) this.socket.write(`${line}\r\n`);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Ends after QUIT and waits for the server to close. */
  async quit(): Promise<string> {
    const reply = await this.command('QUIT');
    this.socket.end();
    return reply;
  }

  private onData(chunk: Buffer): void {
    if (this.body) {
      this.streamBody(chunk);
      return;
    }
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.check();
  }

  private take(): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.length);
    this.chunks = [];
    this.length = 0;
    return all;
  }

  private check(): void {
    const w = this.waiter;
    if (!w || this.length === 0) return;
    const all = this.take();
    const end = all.indexOf('\r\n');
    if (end < 0) {
      // No whole line yet: keep what came and wait for more.
      this.chunks = [all];
      this.length = all.length;
      return;
    }
    if (w.kind === 'line') {
      if (end + 2 < all.length) {
        this.chunks = [all.subarray(end + 2)];
        this.length = all.length - end - 2;
      }
      this.waiter = null;
      w.resolve(all.toString('latin1', 0, end));
      return;
    }
    // Multi-line: the status line first; a -ERR is all there is.
    const status = all.toString('latin1', 0, end);
    if (!status.startsWith('+OK')) {
      this.waiter = null;
      w.resolve({ ok: false, status, bodyBytes: 0 });
      return;
    }
    // A +OK runs to CRLF.CRLF: from here bytes are counted as they come, not kept.
    this.body = { status, received: 0, tail: Buffer.from('\r\n'), kept: w.keep ? [] : null };
    if (end + 2 < all.length) this.streamBody(all.subarray(end + 2));
  }

  private streamBody(chunk: Buffer): void {
    const body = this.body;
    const w = this.waiter;
    if (!body || !w || w.kind !== 'multi') return;
    body.received += chunk.length;
    body.kept?.push(chunk);
    body.tail = chunk.length >= 5 ? chunk.subarray(chunk.length - 5) : Buffer.concat([body.tail, chunk]).subarray(-5);
    if (!body.tail.equals(CRLF_DOT_CRLF)) return;
    this.body = null;
    this.waiter = null;
    const bodyBytes = Math.max(0, body.received - 3);
    w.resolve({
      ok: true,
      status: body.status,
      bodyBytes,
      ...(body.kept ? { text: Buffer.concat(body.kept).toString('latin1', 0, bodyBytes) } : {}),
    });
  }
}

export interface SessionFigures {
  readonly messages: number;
  /** Octets STAT announced. */
  readonly statOctets: number;
  /** Octets received in RETR bodies (dot-stuffed). */
  readonly retrOctets: number;
}

/** One full session: log-in, STAT, UIDL, RETR every message, QUIT; throws on any -ERR or short read. */
export async function fullSession(port: number, user: string, password: string): Promise<SessionFigures> {
  const { client } = await Pop3Client.connect(port);
  try {
    const u = await client.command(`USER ${user}`);
    if (!u.startsWith('+OK')) throw new Error(`USER ${user}: ${u}`);
    const p = await client.command(`PASS ${password}`);
    if (!p.startsWith('+OK')) throw new Error(`PASS ${user}: ${p}`);
    const stat = await client.command('STAT');
    const m = /^\+OK (\d+) (\d+)/.exec(stat);
    if (!m) throw new Error(`STAT ${user}: ${stat}`);
    const messages = Number(m[1]);
    const statOctets = Number(m[2]);
    const uidl = await client.multi('UIDL', true);
    if (!uidl.ok) throw new Error(`UIDL ${user}: ${uidl.status}`);
    const uidlLines = (uidl.text ?? '').split('\r\n').filter((l) => l !== '').length;
    if (uidlLines !== messages) throw new Error(`UIDL ${user}: ${uidlLines} lines for ${messages} messages`);
    let retrOctets = 0;
    for (let i = 1; i <= messages; i++) {
      const r = await client.multi(`RETR ${i}`);
      if (!r.ok) throw new Error(`RETR ${i} ${user}: ${r.status}`);
      retrOctets += r.bodyBytes;
    }
    // Dot-stuffing adds one octet per line that starts with a dot; more or less is a wrong size.
    if (retrOctets < statOctets || retrOctets > statOctets * 1.02 + 64) {
      throw new Error(`${user}: RETR gave ${retrOctets} octets, STAT said ${statOctets}`);
    }
    const q = await client.quit();
    if (!q.startsWith('+OK')) throw new Error(`QUIT ${user}: ${q}`);
    return { messages, statOctets, retrOctets };
  } finally {
    client.destroy();
  }
}

/** Connects and logs in; the caller holds the session. */
export async function loggedIn(port: number, user: string, password: string): Promise<Pop3Client> {
  const { client } = await Pop3Client.connect(port);
  const u = await client.command(`USER ${user}`);
  const p = u.startsWith('+OK') ? await client.command(`PASS ${password}`) : u;
  if (!p.startsWith('+OK')) {
    client.destroy();
    throw new Error(`log-in ${user}: ${p}`);
  }
  return client;
}
