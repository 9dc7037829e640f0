/**
 * The password workers: scrypt runs in worker threads of its own, so file
 * I/O (libuv's thread pool) goes on while every worker hashes; log-in checks
 * wait in a bounded, ordered queue and past the bound are refused before
 * hashing; a new password is never refused; a check whose client gave up
 * leaves the queue; an idle worker never keeps a process alive, a busy one
 * does until its hash is done.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { LoginBusyError, PasswordCheckAbandoned, PasswordPool, type DeriveJob } from '../../electron/service/store/password-pool.js';
import { hashPassword, verifyPassword } from '../../electron/service/store/passwords.js';
import { run } from '../pop3/support.js';
import { REPO_ROOT } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

/** A scrypt job of about 2^logN × 1 KiB of work (ln=15 is the store's: ~100 ms). */
const job = (logN: number): DeriveJob => ({ password: 'pw', salt: randomBytes(16), keyLength: 32, N: 2 ** logN, r: 8, p: 1, maxmem: 256 * 2 ** logN * 8 + 16 * 2 ** 20 });

describe('password hashing and file I/O', () => {
  let dir: TempDir;
  before(async () => {
    dir = await tempDir('winpop-pool-');
  });
  after(async () => {
    await dir?.remove();
  });

  it('a file read started while eight verifications wait is done before the first of them', async () => {
    const stored = await hashPassword('the password');
    const file = path.join(dir.path, 'small.txt');
    await writeFile(file, 'mail');
    const order: string[] = [];
    // More than libuv's four threads: on that pool, the read would queue behind them.
    const checks = Array.from({ length: 8 }, (_, i) => verifyPassword(i === 0 ? 'the password' : `guess ${i}`, stored).then((ok) => order.push(`check ${i} ${ok}`)));
    const read = readFile(file, 'utf8').then((text) => order.push(`read ${text}`));
    await Promise.all([...checks, read]);
    assert.equal(order[0], 'read mail', `order: ${order.join(', ')}`);
    assert.ok(order.includes('check 0 true'));
  });
});

describe('the log-in budget', () => {
  it('refuses past the bound before hashing, lets a better place in first, never refuses a new password, and drops a check given up', async () => {
    const pool = new PasswordPool({ workers: 1, queueLimit: 2 });
    try {
      const done: string[] = [];
      const outcome = (name: string, p: Promise<Buffer>): Promise<string> =>
        p.then(
          () => {
            done.push(name);
            return 'hashed';
          },
          (err: Error) => (err instanceof LoginBusyError ? 'refused' : err instanceof PasswordCheckAbandoned ? 'abandoned' : `error: ${err.message}`),
        );
      const running = outcome('running', pool.derive(job(16), { lane: 'login', priority: 5 }));
      const leaving = new AbortController();
      const givenUp = outcome('givenUp', pool.derive(job(10), { lane: 'login', priority: 5, signal: leaving.signal }));
      const last = outcome('last', pool.derive(job(10), { lane: 'login', priority: 5 }));
      // The queue (two) is full: an equal newcomer is refused, a better one takes the place of the last.
      const equal = outcome('equal', pool.derive(job(10), { lane: 'login', priority: 5 }));
      const better = outcome('better', pool.derive(job(10), { lane: 'login', priority: 1 }));
      const admin = outcome('admin', pool.derive(job(10), { lane: 'admin' }));
      assert.deepEqual(pool.stats(), { workers: 1, running: 1, queued: 3, derived: 0, refused: 2, abandoned: 0 });
      leaving.abort();
      assert.deepEqual(
        await Promise.all([running, givenUp, last, equal, better, admin]),
        ['hashed', 'abandoned', 'refused', 'refused', 'hashed', 'hashed'],
      );
      assert.deepEqual(done, ['running', 'better', 'admin'], 'the better place went first');
      assert.deepEqual(pool.stats(), { workers: 1, running: 0, queued: 0, derived: 3, refused: 2, abandoned: 1 });
    } finally {
      await pool.stop();
    }
    assert.equal(pool.stats().workers, 0, 'stop() ended the idle worker');
  });

  it('a process that hashed a password exits by itself: the workers hold it only while they hash', async () => {
    const module = pathToFileURL(path.join(REPO_ROOT, 'dist', 'electron', 'service', 'store', 'passwords.js')).href;
    const script = `const m = await import(${JSON.stringify(module)}); const h = await m.hashPassword('x'); console.log(await m.verifyPassword('x', h));`;
    const result = await run(process.execPath, ['--input-type=module', '-e', script], { timeoutMs: 20_000 });
    assert.deepEqual([result.code, result.stdout.trim()], [0, 'true'], result.stderr);
  });
});
