/**
 * Crash test: a child process delivers messages in a loop through the store
 * and is killed with SIGKILL while a message is being written (a file in
 * tmp/), several times. Afterwards every message visible in new/ must be
 * whole (each carries its own length and SHA-256), the messages there must
 * be exactly the acknowledged ones plus at most the one each killed writer
 * had in flight, and recovery must clear the tmp/ files the killed writers
 * left (the test fails unless they did leave some).
 *
 * STORE_CRASH_SEED replays the sizes and the moments of the kills.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Random, seedFrom } from '../hostile/support.js';
import { open, removeRoot, tempRoot } from './store-fixture.js';

const STORE_MODULE = new URL('../../electron/service/store/index.js', import.meta.url).href;
const RANDOM_MODULE = new URL('../hostile/support.js', import.meta.url).href;

/** The child: delivers CRLF messages of 1 KB to 3 MB, in 64 KB chunks, forever; prints the id of each acknowledged one. */
const CHILD = `
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
const { openMailStore } = await import(process.env.STORE_MODULE);
const { Random } = await import(process.env.RANDOM_MODULE);
const random = new Random(Number(process.env.SEED));
const store = await openMailStore(process.env.MAIL_ROOT, { fsync: true });
for (let n = 1; ; n++) {
  const id = process.env.ROUND + '-' + n;
  const target = random.int(1000, 3000999);
  const lines = random.bytes(Math.floor(target * 0.75)).toString('base64').match(/.{1,76}/g);
  const body = Buffer.from(lines.join('\\r\\n') + '\\r\\n');
  const sum = createHash('sha256').update(body).digest('hex');
  const wire = Buffer.concat([Buffer.from('X-Test-Id: ' + id + '\\r\\nX-Test-Length: ' + body.length + '\\r\\nX-Test-Sha256: ' + sum + '\\r\\n\\r\\n'), body]);
  const chunks = [];
  for (let i = 0; i < wire.length; i += 65536) chunks.push(wire.subarray(i, i + 65536));
  await store.deliver('bob@example.com', Readable.from(chunks));
  process.stdout.write('delivered ' + id + '\\n');
}
`;

/** What one round did: the ids the child acknowledged, the one it had in flight, and the tmp/ files the kill left. */
interface Round {
  readonly acked: string[];
  readonly inFlight: string;
  readonly tmpLeft: number;
}

/**
 * Runs the child until it has delivered once, lets it go on `delayMs`, then
 * kills it as soon as a message is being written (a file in tmp/).
 */
function runAndKill(root: string, tmpDir: string, round: number, seed: number, delayMs: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, STORE_MODULE, RANDOM_MODULE, MAIL_ROOT: root, ROUND: String(round), SEED: String(seed) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: string[] = [];
    let stderr = '';
    let aiming = false;
    let waiting: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`round ${round}: the child delivered nothing, or wrote nothing to tmp/, within 30 s: ${stderr}`));
    }, 30_000);
    // Checked at every turn of the event loop, so the kill follows the first sight of a tmp/ file at once.
    const killWhileWriting = (): void => {
      if (child.exitCode !== null) return;
      if (readdirSync(tmpDir).length === 0) {
        setImmediate(killWhileWriting);
        return;
      }
      child.kill('SIGKILL');
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      for (const m of text.matchAll(/delivered (\d+-\d+)/g)) acked.push(m[1] as string);
      if (acked.length > 0 && !aiming) {
        aiming = true;
        waiting = setTimeout(killWhileWriting, delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    // 'close', not 'exit': every line the child printed has been read by then.
    child.on('close', (code, signal) => {
      clearTimeout(giveUp);
      clearTimeout(waiting);
      if (signal !== 'SIGKILL') return reject(new Error(`round ${round}: the child ended by itself (${code} ${signal}): ${stderr}`));
      // The writer is dead: what tmp/ holds now is what the kill cut short.
      resolve({ acked, inFlight: `${round}-${acked.length + 1}`, tmpLeft: readdirSync(tmpDir).length });
    });
  });
}

/** Checks one stored message against the length and checksum it carries. */
function checkWhole(name: string, data: Buffer): void {
  const text = data.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  assert.ok(split > 0, `${name}: has a header`);
  const header = text.slice(0, split);
  const body = data.subarray(split + 4);
  const length = /^X-Test-Length: (\d+)$/m.exec(header)?.[1];
  const sum = /^X-Test-Sha256: ([0-9a-f]{64})$/m.exec(header)?.[1];
  assert.equal(body.length, Number(length), `${name}: body length`);
  assert.equal(createHash('sha256').update(body).digest('hex'), sum, `${name}: checksum`);
  assert.ok(!/(^|[^\r])\n/.test(text), `${name}: stored with CRLF line ends`);
  const s = /,S=(\d+),W=(\d+)$/.exec(name);
  assert.ok(s, `${name}: sizes in the name`);
  assert.equal(Number(s[1]), data.length, `${name}: S= is the size on disk`);
  assert.equal(Number(s[2]), data.length, `${name}: W= is the same, the file being in wire form`);
}

describe('store crash safety', () => {
  let root: string;
  before(async () => {
    root = await tempRoot();
    const store = await open(root);
    await store.addDomain('example.com');
    await store.addMailbox('bob@example.com', 'pw');
  });
  after(() => removeRoot(root));

  it('leaves only whole messages after repeated kill -9 during delivery, and recovery clears tmp/', { timeout: 120_000 }, async (t) => {
    const random = new Random(seedFrom('STORE_CRASH_SEED', 'store kill -9 during delivery'));
    const dir = path.join(root, 'example.com', 'bob');
    const acked = new Set<string>();
    const inFlight = new Set<string>();
    let junkSeen = 0;
    for (let round = 0; round < 8; round++) {
      const delayMs = random.int(20, 420);
      const result = await runAndKill(root, path.join(dir, 'tmp'), round, random.int(0, 2 ** 32 - 1), delayMs);
      for (const id of result.acked) acked.add(id);
      inFlight.add(result.inFlight);
      junkSeen += result.tmpLeft;
      t.diagnostic(`round ${round}: ${result.acked.length} acknowledged; killed once a write was under way, ${delayMs} ms or more after the first; ${result.tmpLeft} tmp/ file(s) left`);
    }
    t.diagnostic(`${acked.size} deliveries acknowledged; tmp/ files left by killed writers: ${junkSeen}`);
    assert.ok(junkSeen > 0, 'the kills cut writes short: the killed writers left files in tmp/');

    const store = await open(root);
    assert.deepEqual(await fsp.readdir(path.join(dir, 'tmp')), [], 'recovery removed the tmp/ files of dead writers');
    const names = await fsp.readdir(path.join(dir, 'new'));
    const stored: string[] = [];
    for (const name of names) {
      const data = await fsp.readFile(path.join(dir, 'new', name));
      checkWhole(name, data);
      stored.push(/^X-Test-Id: (\d+-\d+)$/m.exec(data.toString('latin1'))?.[1] ?? `(no id) ${name}`);
    }
    assert.equal(new Set(stored).size, stored.length, 'no message is stored twice');
    const missing = [...acked].filter((id) => !stored.includes(id));
    assert.deepEqual(missing, [], 'every acknowledged message is there');
    // A writer killed after its rename and before its acknowledgement leaves one more: only ever its message in flight.
    const unexplained = stored.filter((id) => !acked.has(id) && !inFlight.has(id));
    assert.deepEqual(unexplained, [], 'nothing is stored but the acknowledged messages and those in flight at the kills');
    t.diagnostic(`${stored.length} messages stored: ${acked.size} acknowledged, ${stored.length - acked.size} in flight at a kill but already renamed into new/`);
    const summary = await store.getMailbox('bob@example.com');
    assert.equal(summary.messages, names.length);
    const drop = await store.openMaildrop('bob@example.com');
    assert.equal(new Set(drop.messages.map((m) => m.uidl)).size, names.length);
  });
});

