/**
 * The control channel under hostile input: its parser fed random and mutated
 * frames (in-process, many thousands of cases), a real `pop3svc` fed mutated
 * frame streams over its socket, and a client that pipelines thousands of
 * calls without reading the replies. The service never crashes, answers
 * every line with a well-formed frame, and its memory stays bounded.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { cp } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OPERATION_NAMES } from '../../shared/contract.js';
import { AdminError } from '../../shared/errors.js';
import { controlSocketPath } from '../../electron/service/admin/control-path.js';
import { writeProof } from '../../electron/service/admin/control-proof.js';
import {
  decodeLine,
  frameIdOf,
  LineSplitter,
  MAX_REQUEST_FRAME_BYTES,
  parseServerFrame,
  PROTOCOL_VERSION,
  toClientFrame,
  type ServerFrame,
} from '../../electron/service/admin/control-protocol.js';
import { mutateBytes, randomJson, randomPieces } from './mutate.js';
import { countFrom, processMemory, Random, seedFrom, startService, type TestService } from './support.js';

describe('control protocol parser, in-process', () => {
  test('LineSplitter gives exactly the lines of any stream, however it is cut', () => {
    const random = new Random(seedFrom('CONTROL_PARSER_SEED', 'line splitter'));
    const cases = countFrom('CONTROL_PARSER_CASES', 5000);
    for (let i = 0; i < cases; i++) {
      const text = Array.from({ length: random.int(0, 20) }, () => random.bytes(random.int(0, 50)).toString('latin1').replace(/\n/g, ''))
        .map((line) => line + (random.chance(0.2) ? '\r' : ''))
        .join('\n');
      const data = Buffer.from(`${text}\n${random.chance(0.5) ? 'tail without newline' : ''}`, 'latin1');
      const got: string[] = [];
      const splitter = new LineSplitter(1 << 20, (line) => got.push(line), () => assert.fail('no overflow expected'));
      for (const piece of randomPieces(random, data)) splitter.push(piece);
      const expected = data
        .toString('latin1')
        .split('\n')
        .slice(0, -1)
        .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
        .filter((line) => line !== '')
        .map((line) => Buffer.from(line, 'latin1').toString('utf8'));
      assert.deepEqual(got, expected, `case ${i}`);
    }
  });

  test('toClientFrame and parseServerFrame take any JSON and any bytes, and refuse only with an AdminError', () => {
    const random = new Random(seedFrom('CONTROL_PARSER_SEED', 'frame parsers'));
    const cases = countFrom('CONTROL_PARSER_CASES', 5000);
    const onlyAdminErrors = (what: string, run: () => unknown): void => {
      try {
        run();
      } catch (err) {
        assert.ok(err instanceof AdminError, `${what} threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
        assert.ok(err.message.length > 0 && err.message.length < 400, `${what}: a short message, got ${err.message.length} characters`);
      }
    };
    // Nesting far deeper than any stack: JSON.parse copes, and so must everything that looks at the value.
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    for (const line of [
      `{"id":1,"op":${deep}}`,
      `{"id":${deep},"op":"lock"}`,
      `{"id":1,"op":"lock","args":${deep}}`,
      `{"id":1,"op":"lock","args":{"target":${deep}}}`,
      `{"hello":${deep}}`,
      `{"hello":{"actor":${deep},"version":1}}`,
      `{"id":1,"subscribe":${deep}}`,
      deep,
    ]) {
      onlyAdminErrors(`deep ${line.slice(0, 30)}`, () => toClientFrame(decodeLine(line)));
      onlyAdminErrors(`deep server frame ${line.slice(0, 30)}`, () => parseServerFrame(line));
    }
    for (let i = 0; i < cases; i++) {
      const frame = mutatedFrame(random);
      const line = frameLine(random, frame);
      onlyAdminErrors(`case ${i} (decode)`, () => toClientFrame(decodeLine(line)));
      onlyAdminErrors(`case ${i} (object)`, () => toClientFrame(frame));
      onlyAdminErrors(`case ${i} (server frame)`, () => parseServerFrame(line));
    }
  });
});

describe('control channel of a running pop3svc', () => {
  let service: TestService;
  const skipMemory = processMemory(process.pid) === null ? 'needs /proc to read the service memory' : false;

  /** The service's memory now; a reading that cannot be taken fails the test instead of being left out. */
  const serviceMemory = (when: string): { rss: number; peak: number } => {
    const reading = processMemory(service.pid);
    assert.ok(reading, `no memory reading of the service (pid ${service.pid}) ${when}: /proc/${service.pid}/status is gone or unreadable; did the service exit?\n${service.svc.output().slice(-2000)}`);
    return reading;
  };

  before(async () => {
    service = await startService({
      settings: { logging: 1 },
      mailboxes: [{ address: 'm0@flood.example', password: 'pw-flood' }],
      // 100 mailboxes without 100 password hashes: copies of the first one's folder.
      prepare: async (root) => {
        for (let i = 1; i < 100; i++) await cp(path.join(root, 'flood.example', 'm0'), path.join(root, 'flood.example', `m${i}`), { recursive: true });
      },
    });
  });
  after(async () => {
    await service?.cleanup();
  });

  test('a client that pipelines 5,000 calls and does not read: memory stays bounded, then every call is answered once', { skip: skipMemory, timeout: 120_000 }, async () => {
    const CALLS = 5000;
    const socket = await connectProved(controlSocketPath(service.mailroot), 'flooder');
    socket.pause();
    const request = (id: number): string => `${JSON.stringify({ id, op: 'listMailboxes', args: { domain: 'flood.example' } })}\n`;
    const baseline = serviceMemory('before the flood');
    // Each reply lists 100 mailboxes (~20 kB): answered all at once, 5,000 of them would take ~100 MB.
    socket.write(Array.from({ length: CALLS }, (_, i) => request(i + 1)).join(''));
    let peak = baseline.rss;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, serviceMemory(`during the flood (reading ${i + 1})`).rss);
    }
    console.log(`control flood: rss ${mb(baseline.rss)} before, peak ${mb(peak)} while the client did not read`);
    assert.ok(peak - baseline.rss < 64 * 1024 * 1024, `the service grew by ${mb(peak - baseline.rss)} while the client did not read`);

    const ids = new Set<number>();
    await new Promise<void>((resolve, reject) => {
      const splitter = new LineSplitter(
        1 << 26,
        (line) => {
          const frame = parseServerFrame(line);
          if ('reply' in frame) {
            assert.ok(frame.reply.ok, JSON.stringify(frame.reply).slice(0, 300));
            assert.equal((frame.reply.result as unknown[]).length, 100);
            assert.ok(!ids.has(frame.id), `reply ${frame.id} came twice`);
            ids.add(frame.id);
            if (ids.size === CALLS) resolve();
          } else reject(new Error(`unexpected frame ${line.slice(0, 200)}`));
        },
        () => reject(new Error('reply too large')),
      );
      socket.on('data', (d: Buffer) => splitter.push(d));
      socket.once('close', () => reject(new Error(`closed after ${ids.size} replies`)));
      socket.resume();
    });
    socket.destroy();
    assert.equal(ids.size, CALLS);
  });

  test('mutated frame streams: every line is answered with a well-formed frame, and the service keeps serving', { timeout: 180_000 }, async () => {
    const seed = seedFrom('CONTROL_FUZZ_SEED', 'control channel fuzz');
    const random = new Random(seed);
    const count = countFrom('CONTROL_FUZZ_CASES', 1500);
    const address = controlSocketPath(service.mailroot);
    // Made before any is sent: the workers run them in an order that timing decides, the seed alone decides what they are.
    const cases = Array.from({ length: count }, () => {
      const lines: string[] = [];
      // Most cases say hello and prove their uid properly, so the mutated calls reach the operations;
      // the rest send a hello, right or damaged, and calls that must be refused before any proof.
      const proved = random.chance(0.8);
      if (!proved && random.chance(0.85)) {
        lines.push(JSON.stringify({ hello: { actor: random.chance(0.9) ? 'fuzzer' : randomJson(random, 1), version: random.chance(0.95) ? PROTOCOL_VERSION : randomJson(random, 0) } }));
      }
      for (let i = random.int(1, 6); i > 0; i--) lines.push(frameLine(random, mutatedFrame(random)));
      if (random.chance(0.01)) lines.push(`{"id":${random.int(0, 9)},"op":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
      let data: Buffer = Buffer.from(lines.join('\n') + '\n', 'utf8');
      if (random.chance(0.3)) data = mutateBytes(random, data);
      return { proved, pieces: randomPieces(random, data) };
    });
    // Without /proc on this system there is no reading to take; where there is one, every reading must succeed.
    const baseline = skipMemory ? null : serviceMemory('before the fuzz');
    let next = 0;
    const totals = { lines: 0, answers: 0, events: 0, closedByService: 0 };
    const worker = async (): Promise<void> => {
      while (next < cases.length) {
        const n = next++;
        const { proved, pieces } = cases[n] as (typeof cases)[number];
        const where = `case ${n} of seed ${seed}`;
        const got = await exchange(address, pieces, proved, where);
        for (const line of got.received) {
          try {
            parseServerFrame(line);
          } catch (err) {
            assert.fail(`${where}: the service sent a malformed frame (${(err as Error).message}): ${line.slice(0, 300)}`);
          }
        }
        assert.deepEqual(
          [...got.answers].sort(),
          [...got.expected.answers].sort(),
          `${where}: the answers to ${got.expected.lines} lines sent (the sentinel included) differ from one answer per line, in kind and id`,
        );
        assert.equal(got.closedByService, got.expected.closes, `${where}: the service ${got.closedByService ? 'closed' : 'kept'} the connection; expected it to ${got.expected.closes ? 'close it' : 'keep it'}`);
        totals.lines += got.expected.lines;
        totals.answers += got.answers.length;
        totals.events += got.received.length - got.answers.length;
        if (got.closedByService) totals.closedByService++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    console.log(
      `control fuzz: ${cases.length} connections, ${totals.lines} lines answered by ${totals.answers} frames (plus ${totals.events} events); ${totals.closedByService} connections closed by the service`,
    );
    assert.equal(service.svc.process.exitCode, null, `the service exited:\n${service.svc.output().slice(-2000)}`);
    assert.equal(totals.answers, totals.lines, 'one answer per line sent');
    if (baseline) {
      const end = serviceMemory('after the fuzz');
      assert.ok(end.rss - baseline.rss < 64 * 1024 * 1024, `the service grew by ${mb(end.rss - baseline.rss)}`);
    } else console.log(`control fuzz: memory not checked: ${skipMemory}`);

    // A line just over the frame limit closes that connection with an error frame, and only that one.
    const huge = await exchange(address, [Buffer.from(`{"id":1,"op":"stat","args":{"domain":"${'a'.repeat(16 * 1024 * 1024)}`)], true, 'a line over the limit');
    assert.deepEqual(huge.answers, ['error'], `one error frame, then the close: ${huge.received.join('\n').slice(0, 500)}`);
    assert.equal(huge.closedByService, true);
    assert.match(huge.received.at(-1) ?? '', /larger than 16777216 bytes/);

    const client = await service.control();
    try {
      const mailboxes = await client.listMailboxes({ domain: 'flood.example' });
      assert.equal(mailboxes.length, 100);
    } finally {
      client.close();
    }
  });
});

function connectRaw(address: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(address);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Reads one line the service sent (it sends nothing more until asked). */
async function readLine(socket: net.Socket): Promise<string> {
  let text = '';
  while (!text.includes('\n')) {
    const closed = once(socket, 'close').then(() => {
      throw new Error(`the service closed the connection after ${JSON.stringify(text)}`);
    });
    const [chunk] = (await Promise.race([once(socket, 'data'), closed])) as [Buffer];
    text += chunk.toString('utf8');
  }
  return text.slice(0, text.indexOf('\n'));
}

/** Connects, says hello and proves this process's uid as the real client does; requests may follow. */
async function connectProved(address: string, actor: string): Promise<net.Socket> {
  const socket = await connectRaw(address);
  socket.write(`${JSON.stringify({ hello: { actor, version: PROTOCOL_VERSION } })}\n`);
  const hello = parseServerFrame(await readLine(socket));
  assert.ok('hello' in hello && hello.hello.proof, `expected a hello answer with a nonce, got ${JSON.stringify(hello)}`);
  await writeProof(hello.hello.proofDir ?? path.dirname(address), hello.hello.proof);
  socket.write(`${JSON.stringify({ proof: hello.hello.proof })}\n`);
  const ack = parseServerFrame(await readLine(socket));
  assert.ok('proof' in ack, `expected the proof to be accepted, got ${JSON.stringify(ack)}`);
  return socket;
}

/** What the service must send for what was sent: one answer per line, and whether it then closes. */
interface Expected {
  /** Lines the service reads (split as it splits them, empty ones dropped). */
  lines: number;
  /** One per line answered, in any order: "hello", "id N" (a reply to call N) or "error" (an error frame). */
  readonly answers: string[];
  /** Whether the service closes the connection (after its error frame); lines after that get no answer. */
  closes: boolean;
}

/**
 * Follows the service's rules for one connection (control-server.ts): every
 * line gets exactly one frame; a hello before any call is answered with its
 * nonce; a request before the proof, a hello of another version, or a
 * proof of an unknown nonce is answered with an error frame that closes
 * the connection; everything else that is not a valid call is answered with
 * an error reply (carrying the id, when the line had a usable one).
 */
class AnswerModel {
  readonly expected: Expected = { lines: 0, answers: [], closes: false };
  private hello: boolean;
  private readonly proved: boolean;
  private readonly splitter = new LineSplitter(
    MAX_REQUEST_FRAME_BYTES,
    (line) => this.line(line),
    () => {
      // The line too long to read counts as one, answered by the error that closes the connection.
      this.expected.lines++;
      this.close();
    },
  );

  constructor(proved: boolean) {
    this.hello = proved;
    this.proved = proved;
  }

  push(data: Buffer): void {
    this.splitter.push(data);
  }

  private close(): void {
    if (this.expected.closes) return;
    this.expected.answers.push('error');
    this.expected.closes = true;
  }

  private line(line: string): void {
    if (this.expected.closes) return;
    this.expected.lines++;
    let value: unknown;
    let frame;
    try {
      value = decodeLine(line);
      frame = toClientFrame(value);
    } catch {
      const id = frameIdOf(value);
      this.expected.answers.push(id === null ? 'error' : `id ${id}`);
      return;
    }
    const refused = (): void => {
      const id = frameIdOf(value);
      this.expected.answers.push(id === null ? 'error' : `id ${id}`);
    };
    if ('hello' in frame) {
      if (this.hello) return refused();
      if (frame.hello.version !== PROTOCOL_VERSION) return this.close();
      this.hello = true;
      this.expected.answers.push('hello');
      return;
    }
    if ('proof' in frame) {
      // A nonce the service never gave: the fuzz cannot guess the right one.
      if (this.proved) return refused();
      return this.close();
    }
    if (!this.proved) return this.close();
    this.expected.answers.push(`id ${frame.id}`);
  }
}

/** How an answer frame counts in Expected.answers; null for an event, which answers no line. */
function answerKind(frame: ServerFrame): string | null {
  if ('event' in frame) return null;
  if ('hello' in frame) return 'hello';
  if ('proof' in frame) return 'proof';
  if ('id' in frame) return `id ${frame.id}`;
  return 'error';
}

/** A request answered at once, sent last so that every answer the service wrote arrives before its own. */
const SENTINEL = '{"id":999999999,"subscribe":false}';

interface Exchanged {
  /** Every line the service sent, events included. */
  readonly received: string[];
  /** The kinds of the answers among them (see Expected.answers). */
  readonly answers: string[];
  readonly expected: Expected;
  readonly closedByService: boolean;
}

/**
 * The pieces up to the end of the line on which the service closes the
 * connection, as the model foresees it: it reads nothing after that line,
 * and writing more to a closed socket would fail (EPIPE) and drop the
 * answers not yet read.
 */
function untilClose(model: AnswerModel, pieces: Buffer[]): Buffer[] {
  const kept: Buffer[] = [];
  for (const piece of pieces) {
    let used = 0;
    while (used < piece.length && !model.expected.closes) {
      const newline = piece.indexOf(0x0a, used);
      const end = newline < 0 ? piece.length : newline + 1;
      model.push(piece.subarray(used, end));
      used = end;
    }
    kept.push(used === piece.length ? piece : piece.subarray(0, used));
    if (model.expected.closes) break;
  }
  return kept;
}

/**
 * Sends the pieces (after a proper hello and proof when `proved`) and waits
 * for the answers the service owes them; unless it closed the connection,
 * then a newline (ending any line the pieces left open) and the SENTINEL
 * request, and waits for those answers too. Fails when an answer is missing
 * after 30 s.
 */
async function exchange(address: string, allPieces: Buffer[], proved: boolean, where: string): Promise<Exchanged> {
  const socket = proved ? await connectProved(address, 'fuzzer') : await connectRaw(address);
  const model = new AnswerModel(proved);
  const pieces = untilClose(model, allPieces);
  const received: string[] = [];
  const answers: string[] = [];
  let tail = '';
  let closedByService = false;
  /** Set when this side closes the connection, so that a close is not taken for the service's. */
  let ended = false;
  let wake: () => void = () => undefined;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    const parts = (tail + d).split('\n');
    tail = parts.pop() ?? '';
    for (const line of parts) {
      received.push(line);
      let kind: string | null = 'malformed';
      try {
        kind = answerKind(parseServerFrame(line));
      } catch {
        // Counted as an answer of its own kind; the caller reports the malformed line.
      }
      if (kind !== null) answers.push(kind);
    }
    wake();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closedByService = !ended;
      resolve();
      wake();
    }),
  );
  /** Waits until the service answered `count` lines (and closed, if it must), or closed, or 30 s passed. */
  const answered = async (count: number, what: string): Promise<void> => {
    const until = Date.now() + 30_000;
    while (!socket.destroyed && (answers.length < count || model.expected.closes)) {
      const left = until - Date.now();
      if (left <= 0) {
        socket.destroy();
        assert.fail(`${where}, ${what}: ${answers.length} of ${count} answers after 30 s${model.expected.closes ? ', and the connection is still open' : ''}: ${received.join('\n').slice(0, 500)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  for (const piece of pieces) {
    if (socket.destroyed) break;
    if (!socket.write(piece)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
  }
  await answered(model.expected.answers.length, 'the mutated stream');
  if (!socket.destroyed && !model.expected.closes) {
    const last = Buffer.from(`\n${SENTINEL}\n`);
    model.push(last);
    socket.write(last);
    await answered(model.expected.answers.length, 'the stream and the sentinel');
  }
  ended = true;
  socket.destroy();
  await closed;
  return { received, answers, expected: model.expected, closedByService };
}

/** Arguments that are right, or nearly, for each operation: most mutations then reach deep into the checks. */
function plausibleArgs(random: Random, op: string): unknown {
  const name = (): string => random.pick(['flood.example', 'm1@flood.example', 'fuzz.example', 'x@fuzz.example', 'FLOOD.EXAMPLE', '..', 'a/b', '']);
  // Deletions stay away from flood.example, which the test checks at the end.
  const doomed = (): string => random.pick(['fuzz.example', 'x@fuzz.example', 'y@fuzz.example', '..', 'a/b', '']);
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
      return { address: name(), password: random.pick(['pw', '', 'a\r\nb', 'x'.repeat(300)]) };
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
      return { patch: random.pick([{ logging: random.int(-1, 4) }, { socket: { max: random.int(0, 40_000) } }, { idleTimeoutSeconds: 5 }, {}]) };
    default:
      return random.chance(0.8) ? {} : undefined;
  }
}

/** A request frame, valid or damaged in one of many ways. */
function mutatedFrame(random: Random): unknown {
  const op = random.chance(0.9) ? random.pick(OPERATION_NAMES) : random.pick(['formatDisk', 'constructor', '__proto__', 'toString', '']);
  const frame: Record<string, unknown> = random.chance(0.1)
    ? { id: random.int(0, 1000), subscribe: random.chance(0.8) ? random.chance(0.5) : randomJson(random, 1) }
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
      if (frame.args && typeof frame.args === 'object' && !Array.isArray(frame.args)) {
        const args = frame.args as Record<string, unknown>;
        const keys = Object.keys(args);
        if (keys.length > 0) args[random.pick(keys)] = randomJson(random, 2);
      }
      break;
    case 4:
      return randomJson(random, 3);
    default:
      break; // left valid
  }
  return frame;
}

/** The frame as a line: JSON, sometimes damaged at the byte level. */
function frameLine(random: Random, frame: unknown): string {
  const json = JSON.stringify(frame) ?? 'null';
  if (random.chance(0.7)) return json;
  return mutateBytes(random, Buffer.from(json, 'utf8')).toString('utf8').replace(/\n/g, ' ');
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
