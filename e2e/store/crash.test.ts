/**
 * Crash test: a child process delivers messages in a loop through the store
 * and is killed with SIGKILL at random moments, several times. Afterwards
 * every message visible in new/ must be whole (each carries its own length
 * and SHA-256), no acknowledged delivery may be missing, and recovery must
 * clear the tmp/ files the killed writers left.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { open, removeRoot, tempRoot } from './store-fixture.js';

const STORE_MODULE = new URL('../../electron/service/store/index.js', import.meta.url).href;

/** The child: delivers CRLF messages of 1 KB to 3 MB, in 64 KB chunks, forever; prints each acknowledged one. */
const CHILD = `
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
const { openMailStore } = await import(process.env.STORE_MODULE);
const store = await openMailStore(process.env.MAIL_ROOT, { fsync: true });
for (let n = 1; ; n++) {
  const target = 1000 + Math.floor(Math.random() * 3000000);
  const lines = randomBytes(Math.floor(target * 0.75)).toString('base64').match(/.{1,76}/g);
  const body = Buffer.from(lines.join('\\n') + '\\n');
  const sum = createHash('sha256').update(body).digest('hex');
  const wire = Buffer.from('X-Test-Length: ' + body.length + '\\r\\nX-Test-Sha256: ' + sum + '\\r\\n\\r\\n' + lines.join('\\r\\n') + '\\r\\n');
  const chunks = [];
  for (let i = 0; i < wire.length; i += 65536) chunks.push(wire.subarray(i, i + 65536));
  await store.deliver('bob@example.com', Readable.from(chunks));
  process.stdout.write('delivered ' + n + '\\n');
}
`;

/** Runs the child until it has delivered at least once, lets it go on a random while, then kills it. Returns acknowledged deliveries. */
function runAndKill(root: string): Promise<{ acked: number; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, STORE_MODULE, MAIL_ROOT: root },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acked = 0;
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child delivered nothing within 20 s: ${stderr}`));
    }, 20_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      acked += (text.match(/delivered \d+/g) ?? []).length;
      if (acked > 0 && !timer) {
        timer = setTimeout(() => child.kill('SIGKILL'), 20 + Math.floor(Math.random() * 400));
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(giveUp);
      clearTimeout(timer);
      resolve({ acked, signal });
    });
  });
}

/** Checks one stored message against the length and checksum it carries. */
function checkWhole(name: string, data: Buffer): void {
  const text = data.toString('latin1');
  const split = text.indexOf('\n\n');
  assert.ok(split > 0, `${name}: has a header`);
  const header = text.slice(0, split);
  const body = data.subarray(split + 2);
  const length = /^X-Test-Length: (\d+)$/m.exec(header)?.[1];
  const sum = /^X-Test-Sha256: ([0-9a-f]{64})$/m.exec(header)?.[1];
  assert.equal(body.length, Number(length), `${name}: body length`);
  assert.equal(createHash('sha256').update(body).digest('hex'), sum, `${name}: checksum`);
  assert.ok(!data.includes('\r'), `${name}: stored with LF line ends`);
  const s = /,S=(\d+),W=(\d+)$/.exec(name);
  assert.ok(s, `${name}: sizes in the name`);
  assert.equal(Number(s[1]), data.length, `${name}: S= is the size on disk`);
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
    const dir = path.join(root, 'example.com', 'bob');
    let acked = 0;
    let junkSeen = 0;
    for (let round = 0; round < 8; round++) {
      const result = await runAndKill(root);
      assert.equal(result.signal, 'SIGKILL');
      acked += result.acked;
      junkSeen += (await fsp.readdir(path.join(dir, 'tmp'))).length;
    }
    t.diagnostic(`${acked} deliveries acknowledged; tmp/ files left by killed writers: ${junkSeen}`);

    const store = await open(root);
    assert.deepEqual(await fsp.readdir(path.join(dir, 'tmp')), [], 'recovery removed the tmp/ files of dead writers');
    const names = await fsp.readdir(path.join(dir, 'new'));
    assert.ok(names.length >= acked, `every acknowledged message is there (${names.length} files, ${acked} acknowledged)`);
    for (const name of names) checkWhole(name, await fsp.readFile(path.join(dir, 'new', name)));
    const summary = await store.getMailbox('bob@example.com');
    assert.equal(summary.messages, names.length);
    const drop = await store.openMaildrop('bob@example.com');
    assert.equal(new Set(drop.messages.map((m) => m.uidl)).size, names.length);
  });
});

