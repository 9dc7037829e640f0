/**
 * POP3 fuzzing against a real `pop3svc`: thousands of random and mutated
 * command streams, before and after log-in, cut into random pieces, some
 * connections dropped mid-stream. The service never crashes, its memory stays
 * bounded, it answers in POP3 (every line `+OK`, `-ERR` or part of a
 * multi-line answer), and afterwards no session is left over: every mailbox
 * can be logged in to again.
 *
 * CI runs FUZZ_CASES=3000 by default; set FUZZ_CASES (and FUZZ_SEED to
 * replay a run) for a longer one.
 */

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { RawClient } from '../pop3/support.js';
import { mutateBytes, NASTY_TOKENS, randomPieces } from './mutate.js';
import { countFrom, eventually, processMemory, Random, seedFrom, sessionCount, startService, type Mailbox, type TestService } from './support.js';

const WORKERS = 16;
/** Memory of the password checks that may run at once: 4 (libuv's thread pool) × 32 MB (scrypt N=2^15, r=8). */
const SCRYPT_AT_ONCE = 4 * 32 * 1024 * 1024;
const MAILBOXES: Mailbox[] = Array.from({ length: WORKERS }, (_, i) => ({ address: `fuzz${i}@fuzz.example`, password: `pw-fuzz-${i}` }));
const MESSAGES = (address: string): string[] =>
  Array.from({ length: 6 }, (_, i) => `Subject: ${address} ${i}\n\n${'.leading dot\n'.repeat(i)}${'fuzz body line\n'.repeat(30 * i + 1)}`);

let service: TestService;

before(async () => {
  service = await startService({ settings: { logging: 1 }, mailboxes: MAILBOXES, messages: MESSAGES });
});
after(async () => {
  await service?.cleanup();
});

/** One command, right or nearly: a keyword of the protocol (or not) with arguments of any kind. */
function commandLine(random: Random): string {
  const n = (): string => (random.chance(0.8) ? String(random.int(0, 8)) : random.pick(NASTY_TOKENS));
  const keyword = random.pick(['CAPA', 'USER', 'STAT', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'NOOP', 'RSET', 'QUIT', 'APOP', 'XTND', 'STLS', '']);
  const cased = random.chance(0.2) ? keyword.toLowerCase() : keyword;
  switch (keyword) {
    case 'USER':
      return `${cased} ${random.pick(['fuzz0@fuzz.example', 'nobody@fuzz.example', '../../etc/passwd', 'a@b', ''])}`;
    case 'LIST':
    case 'UIDL':
      return random.chance(0.5) ? cased : `${cased} ${n()}`;
    case 'RETR':
    case 'DELE':
      return `${cased} ${n()}`;
    case 'TOP':
      return `${cased} ${n()} ${n()}`;
    case 'QUIT':
      return random.chance(0.3) ? cased : 'NOOP';
    case 'STLS':
      // Garbage where the TLS handshake should be; rare, as it ends the connection.
      return random.chance(0.2) ? cased : 'NOOP';
    case 'APOP':
      return `${cased} fuzz0@fuzz.example ${'f'.repeat(32)}`;
    default:
      return random.chance(0.9) ? cased : `${cased} ${n()} ${n()} ${n()}`;
  }
}

/**
 * Lines that would start a password check (PASS, AUTH) become NOOP: a failed
 * log-in slows every later log-in from this address, which would only make
 * the fuzzing slow, not harder. STLS stays: garbage after it meets TLS.
 */
function withoutPasswords(data: Buffer): Buffer {
  return Buffer.from(
    data
      .toString('latin1')
      .split('\n')
      .map((line) => (/^(pass|auth)( |\r|$)/i.test(line) ? 'NOOP\r' : line))
      .join('\n'),
    'latin1',
  );
}

/** A stream for one case: some commands, often damaged. */
function caseStream(random: Random): Buffer {
  const text = Array.from({ length: random.int(1, 12) }, () => commandLine(random)).join('\r\n') + '\r\n';
  const data = random.chance(0.7) ? mutateBytes(random, Buffer.from(text, 'latin1')) : Buffer.from(text, 'latin1');
  // Ends with a line end, so that no part of this case joins the next one into a line the filter did not see.
  return withoutPasswords(Buffer.concat([data, Buffer.from('\r\n')]));
}

/** A connection a worker keeps using until the server closes it. */
class Connection {
  lines = 0;
  badLines: string[] = [];
  private tail = '';
  private inBody = false;
  /** After "+OK Begin TLS negotiation" the server speaks TLS: its bytes are no longer POP3 lines. */
  private tls = false;
  last = Date.now();
  closed = false;

  constructor(readonly socket: Socket) {
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('data', (d: Buffer) => this.onData(d));
  }

  /** Every line the server sends is a status line, or part of a multi-line answer that a lone "." ends. */
  private onData(d: Buffer): void {
    this.last = Date.now();
    if (this.tls) return;
    const parts = (this.tail + d.toString('latin1')).split('\r\n');
    this.tail = parts.pop() ?? '';
    for (const line of parts) {
      this.lines++;
      if (this.tls) break;
      if (line === '+OK Begin TLS negotiation') {
        this.tls = true;
        continue;
      }
      if (this.inBody) {
        if (line === '.') this.inBody = false;
        continue;
      }
      if (line.startsWith('-ERR')) continue;
      if (line.startsWith('+OK')) {
        // Multi-line answers: CAPA, LIST, UIDL, RETR, TOP; their status lines say so.
        this.inBody = /^\+OK (Capability list follows|\d+ messages \(|Unique-ID listing follows|\d+ octets$|Top of message follows)/.test(line);
        continue;
      }
      if (this.badLines.length < 5) this.badLines.push(line.slice(0, 120));
    }
  }

  /** Resolves once the greeting is in (or the connection closed, or after `maxMs`). */
  async greeting(maxMs: number): Promise<void> {
    const until = Date.now() + maxMs;
    while (!this.closed && this.lines === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  }

  /**
   * Resolves when the server has taken everything written and then said
   * nothing for `quietMs`, or has closed, or after `maxMs`.
   */
  async settle(quietMs: number, maxMs: number): Promise<void> {
    const until = Date.now() + maxMs;
    this.last = Math.max(this.last, Date.now());
    const busy = (): boolean => this.socket.writableLength > 0 || Date.now() - this.last < quietMs;
    while (!this.closed && Date.now() < until && busy()) await new Promise((r) => setTimeout(r, 5));
  }
}

function open(port: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => resolve(new Connection(s)));
    s.once('error', reject);
  });
}

test('random and mutated POP3 command streams: the service never crashes, stays bounded and leaks no session', { timeout: 300_000 }, async () => {
  const random = new Random(seedFrom('FUZZ_SEED', 'POP3 fuzz'));
  const cases = countFrom('FUZZ_CASES', 3000);
  const port = service.svc.pop3Port;

  // Every mailbox logs in once before the baseline: a password check takes 32 MB for a moment.
  for (const m of MAILBOXES) {
    const c = await RawClient.login(port, m.address, m.password);
    await c.command('QUIT');
  }
  // Without /proc on this system there is no reading to take; where there is one, a missing reading is a failure.
  const noProc = processMemory(process.pid) === null;
  const baseline = processMemory(service.pid);
  assert.ok(noProc || baseline, `no memory reading of the service (pid ${service.pid}) before the fuzz`);
  let peak = baseline?.rss ?? 0;
  const sampler = setInterval(() => {
    const now = processMemory(service.pid);
    if (now) peak = Math.max(peak, now.rss);
  }, 100);

  let next = 0;
  let connections = 0;
  const violations: string[] = [];
  const worker = async (w: number): Promise<void> => {
    const mailbox = MAILBOXES[w] as Mailbox;
    let conn: Connection | null = null;
    const finish = (c: Connection): void => {
      if (c.badLines.length > 0) violations.push(...c.badLines.map((l) => `worker ${w}: ${JSON.stringify(l)}`));
      c.socket.destroy();
    };
    while (next < cases) {
      next++;
      if (conn === null || conn.closed) {
        if (conn) finish(conn);
        conn = await open(port);
        connections++;
        await conn.greeting(2000);
        if (random.chance(0.1)) conn.socket.write(`USER ${mailbox.address}\r\nPASS ${mailbox.password}\r\n`);
      }
      for (const piece of randomPieces(random, caseStream(random))) {
        if (conn.closed) break;
        conn.socket.write(piece);
        if (random.chance(0.05)) await new Promise((r) => setTimeout(r, random.int(1, 20)));
      }
      await conn.settle(20, 1500);
      if (random.chance(0.04)) {
        // Hang up abruptly, in whatever state the session is.
        finish(conn);
        conn = null;
      }
    }
    if (conn) finish(conn);
  };
  await Promise.all(MAILBOXES.map((_, w) => worker(w)));
  clearInterval(sampler);

  assert.equal(service.svc.process.exitCode, null, `the service exited:\n${service.svc.output().slice(-2000)}`);
  assert.deepEqual(violations, [], 'the server answered with something that is not POP3');
  await eventually(async () => (await sessionCount(service)) === 0, 'every session to be gone', 60_000);
  const end = processMemory(service.pid);
  assert.ok(noProc || end, `no memory reading of the service (pid ${service.pid}) after the fuzz`);
  if (noProc) console.log('POP3 fuzz: memory not checked: no /proc on this system to read the service memory');
  if (baseline && end) {
    console.log(`POP3 fuzz: ${cases} cases over ${connections} connections; rss ${mb(baseline.rss)} before, peak ${mb(peak)}, ${mb(end.rss)} after`);
    // Log-ins happen during the run: each password check holds 32 MB (scrypt) on one of libuv's 4
    // threads, and the C allocator keeps that memory for the next check rather than giving it back.
    const bound = 64 * 1024 * 1024 + SCRYPT_AT_ONCE;
    assert.ok(peak - baseline.rss < bound, `the service grew by ${mb(peak - baseline.rss)} at its peak (bound ${mb(bound)})`);
    assert.ok(end.rss - baseline.rss < bound, `the service kept ${mb(end.rss - baseline.rss)} more than before (bound ${mb(bound)})`);
  }
  for (const m of MAILBOXES) {
    const c = await RawClient.open(port);
    await c.command(`USER ${m.address}`);
    assert.match(await c.command(`PASS ${m.password}`), /^\+OK Logged in/, `${m.address} is not held by a session that is gone`);
    assert.equal(await c.command('QUIT'), '+OK Bye.');
  }
});

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
