/**
 * The admin endpoint under hostile input, against a real `pop3svc` with the
 * endpoint on: mutated frame streams from a signed-in console (every message
 * it gets back is a well-formed frame), a message over the size limit, a
 * console that pipelines thousands of calls without reading (memory stays
 * bounded, then every call is answered once), a flood of connections from
 * one address and of log-ins. Through all of it the service keeps serving
 * POP3 and other clients. A console that lets its events pile up unread is
 * cut off (a service in this process with a low limit, and a client in
 * Python whose small receive buffer keeps the kernel from hiding it, so that
 * the test needs few events).
 */

import assert from 'node:assert/strict';
import { setMaxListeners } from 'node:events';
import { cp, readFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { OPERATION_NAMES } from '../../shared/contract.js';
import { parseServerFrame } from '../../electron/service/admin/control-protocol.js';
import { popFetchAll } from '../helpers/python.js';
import { mutateBytes, randomJson } from '../hostile/mutate.js';
import { countFrom, processMemory, Random, seedFrom, startService, type TestService } from '../hostile/support.js';
import { ConsoleSocket, eventually, freePort, postLogin, request, signIn, startEndpointHost, type EndpointHost } from './support.js';

const ADMIN = { name: 'fuzzer', password: 'Fuzzer-admin-pw-1' };
const KEEPER = { address: 'keeper@safe.example', password: 'Keeper-pw-1' };
/** Mailboxes of wide.example, whose listing makes a large reply. */
const WIDE = 500;

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Arguments right, or nearly, for each operation; nothing ever names safe.example, whose mailbox POP3 must keep serving. */
function plausibleArgs(random: Random, op: string): unknown {
  const name = (): string => random.pick(['flood.example', 'm1@flood.example', 'fuzz.example', 'x@fuzz.example', 'FLOOD.EXAMPLE', '..', 'a/b', '']);
  const doomed = (): string => random.pick(['fuzz.example', 'x@fuzz.example', 'y@fuzz.example', '..', '']);
  switch (op) {
    case 'deleteDomain':
      return { domain: doomed() };
    case 'deleteMailbox':
      return { address: doomed() };
    case 'listMailboxes':
    case 'listMailboxTable':
    case 'addDomain':
      return { domain: name() };
    case 'addMailbox':
    case 'changePassword':
      return { address: name(), password: random.pick(['pw-long-enough', '', 'a\r\nb', 'x'.repeat(300)]) };
    case 'lock':
      return { target: name(), reason: random.pick(['fuzz', '', 'r'.repeat(600)]) };
    case 'unlock':
      return { target: name() };
    case 'lockMany':
    case 'unlockMany':
      return { targets: Array.from({ length: random.int(0, 5) }, name) };
    case 'stat':
      return random.chance(0.5) ? {} : { domain: name() };
    case 'setSettings':
      // Nothing that would quiet the log or move the endpoint: { logging: 2 } is what it has.
      return { patch: random.pick([{ logging: 2 }, { logging: 7 }, { idleTimeoutSeconds: 5 }, { adminPort: 'x' }, { adminPort: -1 }, {}]) };
    case 'addAdmin':
    case 'changeAdminPassword':
      return { name: random.pick(['fuzzer', 'mallory', '']), password: 'Taken-over-123' };
    default:
      return random.chance(0.8) ? {} : undefined;
  }
}

/** A request frame, valid or damaged in one of many ways. */
function mutatedFrame(random: Random): unknown {
  const op = random.chance(0.85)
    ? random.pick(OPERATION_NAMES)
    : random.pick(['addAdmin', 'changeAdminPassword', 'deleteAdmin', 'listAdmins', 'formatDisk', 'constructor', '__proto__', '']);
  const frame: Record<string, unknown> = random.chance(0.1)
    ? { id: random.int(0, 1000), subscribe: random.chance(0.8) ? random.chance(0.5) : randomJson(random, 1) }
    : random.chance(0.03)
      ? { hello: { actor: 'root', version: 2 } }
      : { id: random.int(0, 1_000_000), op, args: plausibleArgs(random, op) };
  switch (random.int(0, 6)) {
    case 0:
      frame.id = randomJson(random, 1);
      break;
    case 1:
      frame.op = randomJson(random, 2);
      break;
    case 2:
      frame.args = randomJson(random, 3);
      break;
    case 3:
      return randomJson(random, 3);
    default:
      break;
  }
  return frame;
}

/** One WebSocket message: JSON text, sometimes damaged bytes, sometimes binary. */
function message(random: Random, frame: unknown): { data: Buffer | string; binary: boolean } {
  const json = JSON.stringify(frame) ?? 'null';
  if (random.chance(0.05)) return { data: Buffer.from(json), binary: true };
  if (random.chance(0.7)) return { data: json, binary: false };
  return { data: mutateBytes(random, Buffer.from(json, 'utf8')), binary: false };
}

describe('the admin endpoint of a running pop3svc under hostile input', () => {
  let service: TestService;
  let port: number;
  let ca: string;
  let cookie: string;
  const endpoint = (): { port: number; ca: string } => ({ port, ca });
  const origin = (): string => `https://127.0.0.1:${port}`;
  const skipMemory = processMemory(process.pid) === null ? 'needs /proc to read the service memory' : false;

  before(async () => {
    port = await freePort();
    service = await startService({
      messages: (address) => (address === KEEPER.address ? ['Subject: kept\r\n\r\nbody\r\n'] : []),
      // Warnings logged: the refused connections are checked in the log.
      settings: { logging: 2, adminPort: port },
      mailboxes: [KEEPER, { address: 'm0@flood.example', password: 'pw-flood-1' }, { address: 'w0@wide.example', password: 'pw-wide-1' }],
      // 100 and 500 mailboxes without as many password hashes: copies of the first one's folder.
      prepare: async (root) => {
        for (let i = 1; i < 100; i++) await cp(path.join(root, 'flood.example', 'm0'), path.join(root, 'flood.example', `m${i}`), { recursive: true });
        for (let i = 1; i < WIDE; i++) await cp(path.join(root, 'wide.example', 'w0'), path.join(root, 'wide.example', `w${i}`), { recursive: true });
      },
    });
    ca = await readFile(path.join(service.mailroot, '.winpop', 'tls', 'cert.pem'), 'utf8');
    const control = await service.control();
    try {
      await control.addAdmin(ADMIN);
    } finally {
      control.close();
    }
    cookie = await signIn(endpoint(), ADMIN.name, ADMIN.password);
  });
  after(async () => {
    await service?.cleanup();
  });

  /** POP3 still serves the mailbox nothing touched. */
  async function pop3Serves(): Promise<void> {
    const r = await popFetchAll(service.svc.pop3Port, KEEPER.address, KEEPER.password);
    assert.ok(!('error' in r), `POP3 refused: ${JSON.stringify(r)}`);
    assert.equal(r.count, 1);
  }

  test('mutated frame streams: every message back is a well-formed frame, and the service keeps serving', { timeout: 180_000 }, async () => {
    const random = new Random(seedFrom('REMOTE_FUZZ_SEED', 'admin endpoint fuzz'));
    const cases = countFrom('REMOTE_FUZZ_CASES', 400);
    const baseline = processMemory(service.pid);
    let next = 0;
    let received = 0;
    const worker = async (): Promise<void> => {
      while (next < cases) {
        const n = next++;
        const socket = await ConsoleSocket.open(endpoint(), { cookie, origin: origin() }).catch((err: Error) => assert.fail(`case ${n}: ${err.message}`));
        const frames: string[] = [];
        socket.ws.removeAllListeners('message');
        socket.ws.on('message', (data) => frames.push(String(data)));
        for (let i = random.int(1, 8); i > 0; i--) {
          const m = message(random, mutatedFrame(random));
          if (socket.ws.readyState !== WebSocket.OPEN) break;
          socket.ws.send(m.data, { binary: m.binary });
        }
        // Then a call that must be answered, unless the service closed the socket (invalid UTF-8 text is 1007).
        if (socket.ws.readyState === WebSocket.OPEN) socket.ws.send(JSON.stringify({ id: 424242, op: 'serverInfo', args: {} }));
        await Promise.race([socket.closed, eventually(() => frames.some((f) => f.includes('"id":424242')), `case ${n}: the last call's answer`, 20_000)]);
        const closed = socket.ws.readyState !== WebSocket.OPEN;
        socket.ws.terminate();
        if (closed) assert.ok([1007, 1008, 1009].includes((await socket.closed).code), `case ${n}: closed with ${(await socket.closed).code}`);
        for (const text of frames) {
          try {
            parseServerFrame(text);
          } catch (err) {
            assert.fail(`case ${n}: the service sent a malformed frame (${(err as Error).message}): ${text.slice(0, 300)}`);
          }
        }
        received += frames.length;
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    assert.equal(service.svc.process.exitCode, null, `the service exited:\n${service.svc.output().slice(-2000)}`);
    assert.ok(received > cases, `${received} frames for ${cases} cases`);
    const end = processMemory(service.pid);
    if (baseline && end) assert.ok(end.rss - baseline.rss < 64 * 1024 * 1024, `the service grew by ${mb(end.rss - baseline.rss)}`);
    const control = await service.control();
    try {
      assert.deepEqual((await control.listAdmins({})).map((a) => a.name), ['fuzzer'], 'no account was made or changed over the endpoint');
      assert.equal((await control.listMailboxes({ domain: 'flood.example' })).length, 100);
    } finally {
      control.close();
    }
    await pop3Serves();
  });

  test('a message over 16 MiB closes that WebSocket with 1009; others carry on', async () => {
    const big = await ConsoleSocket.open(endpoint(), { cookie, origin: origin() });
    const other = await ConsoleSocket.open(endpoint(), { cookie, origin: origin() });
    await big.next();
    await other.next();
    big.ws.send(JSON.stringify({ id: 1, op: 'stat', args: { domain: 'a'.repeat(16 * 1024 * 1024) } }));
    assert.equal((await big.closedWithin()).code, 1009);
    assert.equal((await other.call('listDomains', {})).ok, true);
    other.close();
    await pop3Serves();
  });

  test('a console that pipelines 2,000 calls and does not read: memory stays bounded, then every call is answered once', { skip: skipMemory, timeout: 120_000 }, async () => {
    const CALLS = 2000;
    const socket = await ConsoleSocket.open(endpoint(), { cookie, origin: origin() });
    await socket.next();
    const ids = new Set<number>();
    let resolveAll: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (resolveAll = resolve));
    socket.ws.removeAllListeners('message');
    socket.ws.on('message', (data) => {
      const frame = parseServerFrame(String(data));
      assert.ok('reply' in frame && frame.reply.ok, String(data).slice(0, 300));
      assert.equal((frame.reply.result as unknown[]).length, WIDE);
      assert.ok(!ids.has(frame.id), `reply ${frame.id} came twice`);
      ids.add(frame.id);
      if (ids.size === CALLS) resolveAll();
    });
    socket.ws.pause();
    const baseline = processMemory(service.pid);
    assert.ok(baseline);
    // Each reply lists 500 mailboxes (~100 kB): answered all at once, 2,000 of them would take ~200 MB; the
    // kernel's socket buffers (tens of MB on loopback) take only the first of them.
    for (let i = 1; i <= CALLS; i++) socket.ws.send(JSON.stringify({ id: i, op: 'listMailboxes', args: { domain: 'wide.example' } }));
    let peak = baseline.rss;
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, processMemory(service.pid)?.rss ?? 0);
    }
    console.log(`endpoint flood: rss ${mb(baseline.rss)} before, peak ${mb(peak)} while the console did not read`);
    assert.ok(peak - baseline.rss < 64 * 1024 * 1024, `the service grew by ${mb(peak - baseline.rss)} while the console did not read`);
    await pop3Serves();
    socket.ws.resume();
    await all;
    assert.equal(ids.size, CALLS);
    socket.close();
  });

  test('a flood of connections from one address is capped (32); other addresses and POP3 are served meanwhile', async () => {
    const held: ReturnType<typeof tlsConnect>[] = [];
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, () =>
        new Promise<'secure' | 'closed'>((resolve) => {
          const socket = tlsConnect({ socket: netConnect({ host: '127.0.0.1', port, localAddress: '127.0.0.7' }), host: '127.0.0.1', ca });
          held.push(socket);
          socket.once('secureConnect', () => resolve('secure'));
          socket.once('error', () => resolve('closed'));
          socket.once('close', () => resolve('closed'));
        }),
      ),
    );
    try {
      assert.equal(outcomes.filter((o) => o === 'secure').length, 32, `outcomes: ${outcomes.join(',')}`);
      assert.equal((await request(endpoint(), { path: '/signin', localAddress: '127.0.0.8' })).status, 200, 'another address is served');
      await pop3Serves();
      assert.match(service.svc.output(), /admin endpoint: connections refused, 127\.0\.0\.7 holds 32 already/);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });

  test('a flood of log-ins on one name: one check at a time, 8 wait, the rest are refused (429) unchecked; another name signs in, POP3 serves', async () => {
    const abort = new AbortController();
    setMaxListeners(50, abort.signal);
    let refused = 0;
    // From twelve addresses (one each, so no address's own line or connection cap is reached), all on one name.
    const attempts = Array.from({ length: 12 }, (_, i) =>
      postLogin(endpoint(), 'victim', 'guess-guess', { localAddress: `127.0.1.${i + 1}`, signal: abort.signal }).then(
        (answer) => {
          if (answer.status === 429) refused++;
          return answer.status;
        },
        () => 'abandoned',
      ),
    );
    try {
      await eventually(() => refused === 3, '3 refusals', 20_000);
      const right = await postLogin(endpoint(), ADMIN.name, ADMIN.password, { localAddress: '127.0.0.10' });
      assert.equal(right.status, 200, 'another name signs in while the flood waits');
      await pop3Serves();
    } finally {
      // The waiting attempts give up with their connections; the service stops waiting for them.
      abort.abort();
    }
    const outcomes = await Promise.all(attempts);
    assert.equal(outcomes.filter((o) => o === 429).length, 3, outcomes.join(','));
    assert.ok(outcomes.every((o) => o === 429 || o === 401 || o === 'abandoned'), outcomes.join(','));
    assert.match(service.svc.output(), /admin endpoint: log-in refused unchecked, too many attempts waiting .*line=mailbox/);
    assert.equal(service.svc.process.exitCode, null);
  });
});

/**
 * A console that subscribes and then reads nothing, in Python: its receive
 * buffer is set small before it connects, so the kernel does not grow it and
 * what it leaves unread stays with the service. Prints "subscribed", waits
 * for a line on stdin, then reads until the connection ends and says how.
 */
const SLOW_CONSOLE = String.raw`
import base64, json, os, socket, ssl, struct, sys
port, cookie, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
raw = socket.socket()
# A small receive buffer set before connecting: the kernel does not grow it, so unread data stays with the sender.
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
raw.connect(('127.0.0.1', port))
tls = ssl.create_default_context(cadata=ca).wrap_socket(raw, server_hostname='127.0.0.1')
key = base64.b64encode(os.urandom(16)).decode()
tls.sendall(('GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
  'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nOrigin: https://127.0.0.1:%d\r\nCookie: %s\r\n\r\n' % (port, key, port, cookie)).encode())
buf = b''
while b'\r\n\r\n' not in buf:
    buf += tls.recv(4096)
head, buf = buf.split(b'\r\n\r\n', 1)
assert head.startswith(b'HTTP/1.1 101'), head
def read_exact(n):
    global buf
    while len(buf) < n:
        chunk = tls.recv(65536)
        if not chunk:
            raise EOFError()
        buf += chunk
    out, buf = buf[:n], buf[n:]
    return out
def next_frame():
    b0, b1 = read_exact(2)
    n = b1 & 0x7f
    if n == 126: n = struct.unpack('>H', read_exact(2))[0]
    elif n == 127: n = struct.unpack('>Q', read_exact(8))[0]
    return b0 & 0x0f, read_exact(n)
def send_text(text):
    data = text.encode(); mask = os.urandom(4)
    header = bytes([0x81, 0x80 | len(data)]) if len(data) < 126 else bytes([0x81, 0x80 | 126]) + struct.pack('>H', len(data))
    tls.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
send_text(json.dumps({'id': 1, 'subscribe': True}))
while True:
    op, payload = next_frame()
    if op == 1 and b'"id":1' in payload:
        break
print(json.dumps('subscribed'), flush=True)
sys.stdin.readline()
read = 0
try:
    while True:
        op, payload = next_frame()
        read += len(payload)
        if op == 8:
            print(json.dumps('close frame'), flush=True); break
except (EOFError, ConnectionError, ssl.SSLError) as e:
    print(json.dumps('cut off after %d bytes: %s' % (read, type(e).__name__)), flush=True)
`;

describe('a console that does not read its events', () => {
  let t: EndpointHost;
  before(async () => {
    t = await startEndpointHost({ admins: [ADMIN], mailboxes: [KEEPER], adminEndpoint: { maxUnsentEventBytes: 64 * 1024 } });
  });
  after(async () => {
    await t?.stop();
  });

  test('is cut off once its unread events pass the limit; a reading console stays, and POP3 serves', { timeout: 120_000 }, async () => {
    const slow = spawn('python3', ['-u', '-c', SLOW_CONSOLE, String(t.port), await signIn(t, ADMIN.name, ADMIN.password), t.ca]);
    const said: string[] = [];
    let errors = '';
    let partial = '';
    slow.stdout.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      said.push(...lines.filter((line) => line !== '').map((line) => JSON.parse(line) as string));
    });
    slow.stderr.setEncoding('utf8').on('data', (d: string) => (errors += d));
    const ended = new Promise((resolve) => slow.once('exit', resolve));
    const reader = await ConsoleSocket.open(t, { cookie: await signIn(t, ADMIN.name, ADMIN.password), origin: t.origin });
    try {
      await reader.next();
      reader.send({ id: 1, subscribe: true });
      await reader.nextWhere((f) => f.id === 1);
      let events = 0;
      reader.ws.on('message', () => events++);
      await eventually(() => said.includes('subscribed'), `the slow console to subscribe (${errors})`);

      const control = await t.control();
      const cutOff = (): boolean => t.logs.text().includes('admin client does not read its events; disconnected admin=fuzzer');
      let changes = 0;
      try {
        // Each settings change is announced with every setting: a long mail root makes each event ~4 KB.
        for (; changes < 5000 && !cutOff(); changes++) await control.setSettings({ patch: { mailroot: `/${String(changes % 2).repeat(4000)}` } });
      } finally {
        control.close();
      }
      assert.ok(cutOff(), `the console that did not read was not cut off after ${changes} events`);
      console.log(`slow console: cut off after ${changes} events of ~4 KB`);
      slow.stdin.write('read now\n');
      await ended;
      assert.match(said[1] ?? '', /^cut off after \d+ bytes/, `${said.join(' | ')} ${errors}`);
      assert.equal((await reader.call('listDomains', {})).ok, true, 'the reading console stays');
      assert.ok(events >= changes, `the reading console got ${events} of ${changes} events`);
      const r = await popFetchAll(t.host.pop3Port as number, KEEPER.address, KEEPER.password);
      assert.ok(!('error' in r), JSON.stringify(r));
    } finally {
      slow.kill();
      reader.close();
    }
  });
});
