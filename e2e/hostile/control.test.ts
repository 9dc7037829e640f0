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
import { decodeLine, LineSplitter, parseServerFrame, PROTOCOL_VERSION, toClientFrame } from '../../electron/service/admin/control-protocol.js';
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
    const baseline = processMemory(service.pid);
    assert.ok(baseline);
    // Each reply lists 100 mailboxes (~20 kB): answered all at once, 5,000 of them would take ~100 MB.
    socket.write(Array.from({ length: CALLS }, (_, i) => request(i + 1)).join(''));
    let peak = baseline.rss;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, processMemory(service.pid)?.rss ?? 0);
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
    const random = new Random(seedFrom('CONTROL_FUZZ_SEED', 'control channel fuzz'));
    const cases = countFrom('CONTROL_FUZZ_CASES', 1500);
    const address = controlSocketPath(service.mailroot);
    const baseline = processMemory(service.pid);
    let next = 0;
    let answered = 0;
    const worker = async (): Promise<void> => {
      while (next < cases) {
        const n = next++;
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
        const received = await exchange(address, randomPieces(random, data), proved);
        for (const line of received) {
          try {
            parseServerFrame(line);
          } catch (err) {
            assert.fail(`case ${n}: the service sent a malformed frame (${(err as Error).message}): ${line.slice(0, 300)}`);
          }
        }
        answered += received.length;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.equal(service.svc.process.exitCode, null, `the service exited:\n${service.svc.output().slice(-2000)}`);
    assert.ok(answered > 0);
    const end = processMemory(service.pid);
    if (baseline && end) assert.ok(end.rss - baseline.rss < 64 * 1024 * 1024, `the service grew by ${mb(end.rss - baseline.rss)}`);

    // A line just over the frame limit closes that connection with an error frame, and only that one.
    const huge = await exchange(address, [Buffer.from(`{"id":1,"op":"stat","args":{"domain":"${'a'.repeat(16 * 1024 * 1024)}`)], true);
    assert.match(huge.at(-1) ?? '', /larger than 16777216 bytes/);

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

/**
 * Sends the pieces (after a proper hello and proof when `proved`), then
 * reads until the service closes the connection or stays quiet for a moment;
 * returns the lines it sent.
 */
async function exchange(address: string, pieces: Buffer[], proved: boolean): Promise<string[]> {
  const socket = proved ? await connectProved(address, 'fuzzer') : await connectRaw(address);
  const lines: string[] = [];
  let tail = '';
  let last = Date.now();
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    last = Date.now();
    const text = tail + d;
    const parts = text.split('\n');
    tail = parts.pop() ?? '';
    lines.push(...parts);
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  for (const piece of pieces) {
    if (socket.destroyed) break;
    if (!socket.write(piece)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
  }
  last = Date.now();
  const until = Date.now() + 5000;
  while (!socket.destroyed && Date.now() < until && Date.now() - last < 40) {
    await Promise.race([closed, new Promise((r) => setTimeout(r, 10))]);
  }
  socket.destroy();
  return lines;
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
