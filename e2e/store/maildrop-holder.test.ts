/**
 * The maildrop lock as a hard link to the process's holder file
 * (maildrop-holder.ts, maildrop-lock.ts), through real POP3 sessions of
 * Python's poplib against the POP3 server on a real store:
 *
 * - while a session is logged in, its lock file and the holder file are one
 *   inode (two links) with the lock line; after QUIT only the holder is left;
 * - a lock taken after the holder sat idle past the lease starts with a
 *   fresh lease (its mtime is now), so another machine does not take it for
 *   stale;
 * - a holder removed under the running process is made again;
 * - a domain folder on another mount (a bind mount: link() answers EXDEV)
 *   gets lock files of their own, the rest of the store links still; so
 *   does a store over sshfs without hard links, and one where the holder
 *   file cannot be made;
 * - the store's close removes the holder; recovery removes the holders of
 *   dead processes of this machine (and another machine's long idle ones),
 *   and leaves a live process's;
 * - pop3svc with two worker processes: the worker serving a session holds
 *   the lock through a holder of its own, and kill -9 of the whole service,
 *   again and again, leaves no pile of holder files.
 */

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { openMailStore, type MailStore } from '../../electron/service/store/index.js';
import { holdersDir, MAILDROP_LOCK } from '../../electron/service/store/layout.js';
import { bootId } from '../../electron/service/store/listing-snapshot.js';
import { FRESHEN_MS, HOLDER_IDLE_MS } from '../../electron/service/store/maildrop-holder.js';
import { CLOCK_SKEW_MS, LEASE_MS } from '../../electron/service/store/maildrop-lock.js';
import { ownHostTag } from '../../electron/service/store/message-names.js';
import { watchPopSession, type WatchedPopSession } from '../helpers/poplib-watch.js';
import { run, startPop3svc, winpop, workerPids, type RunningService } from '../helpers/processes.js';
import { mountSshfs, SSHFS_STORE_OPTIONS, sshfsUnavailable } from '../helpers/sshfs.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { seedMailbox, startServer, waitFor, type TestServer } from '../pop3/support.js';

const LINE = new RegExp(`^${process.pid} \\S+ \\S+ [0-9a-f]+ ${LEASE_MS}\\n$`);
const lockOf = (root: string, address: string): string => {
  const [mailbox, domain] = address.split('@') as [string, string];
  return path.join(root, domain, mailbox, MAILDROP_LOCK);
};
const exists = (file: string): boolean => statSync(file, { throwIfNoEntry: false }) !== undefined;

/** This process's holder files under `root`. */
function ownHolders(root: string): string[] {
  const dir = holdersDir(root);
  const names = exists(dir) ? readdirSync(dir) : [];
  return names.filter((n) => n.startsWith(`${ownHostTag()}.${process.pid}.`)).map((n) => path.join(dir, n));
}

/** The one holder file of this process under `root`. */
function ownHolder(root: string): string {
  const found = ownHolders(root);
  assert.equal(found.length, 1, `one holder file of this process in ${holdersDir(root)}: ${JSON.stringify(found)}`);
  return found[0] as string;
}

/** A store and a POP3 listener in this process, with its own sessions to end after each test. */
function useServer(domains: readonly string[]): { root: () => string; srv: () => TestServer; store: () => MailStore; session(address: string): WatchedPopSession; endSessions(): Promise<void> } {
  let dir: TempDir;
  let store: MailStore;
  let srv: TestServer;
  const sessions: WatchedPopSession[] = [];
  before(async () => {
    dir = await tempDir('winpop-holder-');
    store = await openMailStore(dir.path, { fsync: false });
    for (const domain of domains) for (const box of ['a', 'b']) await seedMailbox(store, `${box}@${domain}`, `pw-${box}`, ['Subject: hi\n\nhello\n']);
    srv = await startServer(store);
  });
  after(async () => {
    await Promise.allSettled(sessions.map((s) => s.close()));
    await srv?.stop();
    await store?.close();
    await dir?.remove();
  });
  return {
    root: () => dir.path,
    srv: () => srv,
    store: () => store,
    session(address) {
      const s = watchPopSession(srv.port, address, `pw-${address.split('@')[0] as string}`);
      sessions.push(s);
      return s;
    },
    async endSessions() {
      await Promise.all(sessions.splice(0).map((s) => s.close()));
      await waitFor(() => srv.server.sessionCount() === 0, 'the sessions to end');
    },
  };
}

describe('maildrop lock as a link to the holder file', () => {
  const fx = useServer(['link.test']);
  let lastLockAt = 0;

  it("makes a session's lock file a second name of the process's holder file, and leaves the holder at QUIT", async () => {
    const lock = lockOf(fx.root(), 'a@link.test');
    const s = fx.session('a@link.test');
    assert.match(await s.loggedIn, /^\+OK/);
    lastLockAt = Date.now();
    const holder = ownHolder(fx.root());
    const [l, h] = [statSync(lock), statSync(holder)];
    assert.equal(l.nlink, 2, 'the lock file has two names');
    assert.equal(h.nlink, 2, 'the holder file has two names');
    assert.equal(l.ino, h.ino, 'one inode');
    assert.equal(h.mode & 0o777, 0o600);
    const text = readFileSync(lock, 'utf8');
    assert.match(text, LINE, 'the lock line as ever: pid, boot id, host, nonce, lease');
    assert.equal(readFileSync(holder, 'utf8'), text);
    const second = fx.session('a@link.test');
    assert.match(await second.loggedIn, /^-ERR \[IN-USE\]/);
    assert.match(await s.send('quit'), /^\+OK/);
    await waitFor(() => !exists(lock), 'the QUIT to let go of the lock file');
    assert.equal(statSync(holder).nlink, 1, 'the holder stays, its other name gone');
    await fx.endSessions();
  });

  it('starts a lock taken after the holder sat idle past the lease with a fresh lease', async () => {
    const holder = ownHolder(fx.root());
    // What a holder idle for longer than a lease and the clock margin looks like to any other process or machine.
    const idle = new Date(Date.now() - LEASE_MS - CLOCK_SKEW_MS - 1000);
    utimesSync(holder, idle, idle);
    // The process sets the holder's mtime when it last did so more than FRESHEN_MS ago: wait until that is so.
    await waitFor(() => Date.now() - lastLockAt > FRESHEN_MS, `${FRESHEN_MS} ms since the last lock`, FRESHEN_MS + 5000);
    const before = Date.now();
    const s = fx.session('b@link.test');
    assert.match(await s.loggedIn, /^\+OK/);
    lastLockAt = Date.now();
    const st = statSync(lockOf(fx.root(), 'b@link.test'));
    assert.equal(st.nlink, 2, 'linked to the holder');
    assert.ok(st.mtimeMs >= before - 1, `the lease starts at the log-in (mtime ${new Date(st.mtimeMs).toISOString()}, log-in at ${new Date(before).toISOString()})`);
    // Another machine's look (maildrop-lock.ts): stale once the lease and the clock margin have run out since the mtime.
    assert.ok(Date.now() - st.mtimeMs <= LEASE_MS + CLOCK_SKEW_MS, 'another machine would not take it for stale');
    assert.match(await s.send('quit'), /^\+OK/);
    await fx.endSessions();
  });

  it('makes the holder file again when it was removed under the running process', async () => {
    const old = ownHolder(fx.root());
    rmSync(old);
    const s = fx.session('a@link.test');
    assert.match(await s.loggedIn, /^\+OK/, 'the log-in works without the old holder');
    const holder = ownHolder(fx.root());
    assert.notEqual(holder, old, 'a new holder file');
    assert.equal(statSync(lockOf(fx.root(), 'a@link.test')).ino, statSync(holder).ino, 'the lock is a link to the new holder');
    assert.match(await s.send('quit'), /^\+OK/);
    await fx.endSessions();
  });

  it("removes the holder file at the store's close", async () => {
    const holder = ownHolder(fx.root());
    await fx.srv().stop();
    await fx.store().close();
    assert.equal(exists(holder), false, 'the holder file is gone');
    assert.deepEqual(ownHolders(fx.root()), []);
  });
});

/** Bind-mounts `folder` on itself: the same files, but link() from outside it answers EXDEV. Null (the test skipped) where mounts cannot be made. */
async function bindMount(t: TestContext, folder: string): Promise<(() => Promise<void>) | null> {
  // As the disk-full and read-only faults' tmpfs (e2e/faults/support.ts): a mount needs root, and a container may refuse it.
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    t.skip('a bind mount needs root on Linux; run the tests as root to include the link fallback test');
    return null;
  }
  const mounted = await run('mount', ['--bind', folder, folder]);
  if (mounted.code !== 0) {
    t.skip(`cannot bind-mount a folder here (${mounted.stderr.trim()}); the link fallback test needs one`);
    return null;
  }
  return async () => {
    const r = await run('umount', [folder]);
    assert.equal(r.code, 0, `umount ${folder}: ${r.stderr}`);
  };
}

describe('maildrop lock where links cannot be made', () => {
  const fx = useServer(['bound.test', 'plain.test']);

  it('creates the lock file as a file of its own in a domain folder on another mount, and links elsewhere', async (t) => {
    const unmount = await bindMount(t, path.join(fx.root(), 'bound.test'));
    if (unmount === null) return;
    try {
      for (const box of ['a', 'b']) {
        const lock = lockOf(fx.root(), `${box}@bound.test`);
        const s = fx.session(`${box}@bound.test`);
        assert.match(await s.loggedIn, /^\+OK/, `log-in to ${box}@bound.test works without a link`);
        const st = statSync(lock);
        assert.equal(st.nlink, 1, 'a lock file of its own');
        assert.match(readFileSync(lock, 'utf8'), LINE);
        assert.ok(Date.now() - st.mtimeMs <= LEASE_MS, 'its lease starts now');
        assert.match(await fx.session(`${box}@bound.test`).loggedIn, /^-ERR \[IN-USE\]/, 'and it keeps the maildrop exclusive');
        assert.match(await s.send('quit'), /^\+OK/);
        await waitFor(() => !exists(lock), 'the QUIT to let go of the lock file');
      }
      const s = fx.session('a@plain.test');
      assert.match(await s.loggedIn, /^\+OK/);
      assert.equal(statSync(lockOf(fx.root(), 'a@plain.test')).nlink, 2, 'a domain on the store’s own mount still links');
      assert.match(await s.send('quit'), /^\+OK/);
      await fx.endSessions();
    } finally {
      await fx.endSessions();
      await unmount();
    }
  });
});

/**
 * Logs in to a@<domain> on a store opened at `served` (its files at `real`):
 * the lock file is one of its own (one name, the lock line), keeps the
 * maildrop exclusive, and goes at QUIT.
 */
async function assertOwnLockFile(served: string, real: string, domain: string): Promise<void> {
  const store = await openMailStore(served, { fsync: false, recovery: 'lazy', create: false });
  const srv = await startServer(store);
  const sessions: WatchedPopSession[] = [];
  try {
    const lock = lockOf(real, `a@${domain}`);
    const s = watchPopSession(srv.port, `a@${domain}`, 'pw-a');
    sessions.push(s);
    assert.match(await s.loggedIn, /^\+OK/, 'the log-in works without a link');
    assert.equal(statSync(lock).nlink, 1, 'a lock file of its own');
    assert.match(readFileSync(lock, 'utf8'), LINE);
    const second = watchPopSession(srv.port, `a@${domain}`, 'pw-a');
    sessions.push(second);
    assert.match(await second.loggedIn, /^-ERR \[IN-USE\]/, 'and it keeps the maildrop exclusive');
    assert.match(await s.send('quit'), /^\+OK/);
    await waitFor(() => !exists(lock), 'the QUIT to let go of the lock file', 10_000);
  } finally {
    await Promise.allSettled(sessions.map((x) => x.close()));
    await srv.stop();
    await store.close();
  }
}

describe('maildrop lock without a holder file or hard links', () => {
  let dir: TempDir;
  before(async () => {
    dir = await tempDir('winpop-holder-none-');
    const store = await openMailStore(dir.path, { fsync: false });
    await seedMailbox(store, 'a@none.test', 'pw-a');
    await store.close();
  });
  after(async () => {
    await dir?.remove();
  });

  it('creates the lock file as a file of its own when the holder file cannot be made', async () => {
    // A file where the holders folder belongs: no holder can be made under it.
    writeFileSync(holdersDir(dir.path), 'in the way\n');
    try {
      await assertOwnLockFile(dir.path, dir.path, 'none.test');
    } finally {
      rmSync(holdersDir(dir.path));
    }
  });

  it('creates the lock file as a file of its own over sshfs without hard links (disable_hardlink)', async (t) => {
    const why = await sshfsUnavailable();
    if (why !== null) {
      t.skip(why);
      return;
    }
    const mount = await mountSshfs(dir.path, [...SSHFS_STORE_OPTIONS, 'disable_hardlink']);
    try {
      await assertOwnLockFile(mount.path, dir.path, 'none.test');
    } finally {
      await mount.close();
    }
  });
});

describe('recovery of holder files', () => {
  let dir: TempDir;
  let live: ReturnType<typeof spawn> | null = null;
  before(async () => {
    dir = await tempDir('winpop-holder-sweep-');
    await (await openMailStore(dir.path, { fsync: false })).close();
  });
  after(async () => {
    live?.kill('SIGKILL');
    await dir?.remove();
  });

  it("removes the holders of this machine's dead processes and another machine's long idle ones, and keeps live ones", async () => {
    const folder = holdersDir(dir.path);
    mkdirSync(folder, { recursive: true });
    const line = (pid: number, boot: string, host: string): string => `${pid} ${boot} ${host} 0123456789abcdef ${LEASE_MS}\n`;
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const alive = live.pid as number;
    const me = ownHostTag();
    const files: Record<string, { text: string; ageMs: number; kept: boolean }> = {
      [`${me}.${dead}.aaaaaa`]: { text: line(dead, bootId(), me), ageMs: 0, kept: false },
      [`${me}.${alive}.bbbbbb`]: { text: line(alive, bootId(), me), ageMs: 0, kept: true },
      [`${me}.${alive}.cccccc`]: { text: line(alive, 'linux:an-earlier-boot', me), ageMs: 0, kept: false },
      [`${me}.${process.pid}.dddddd`]: { text: line(process.pid, bootId(), me), ageMs: 0, kept: false },
      'far.example.4242.eeeeee': { text: line(4242, 'linux:theirs', 'far.example'), ageMs: HOLDER_IDLE_MS + 60_000, kept: false },
      'far.example.4243.ffffff': { text: line(4243, 'linux:theirs', 'far.example'), ageMs: HOLDER_IDLE_MS - 60_000, kept: true },
      'being-written.1.000000': { text: '', ageMs: 0, kept: true },
    };
    for (const [name, f] of Object.entries(files)) {
      const file = path.join(folder, name);
      writeFileSync(file, f.text);
      const at = new Date(Date.now() - f.ageMs);
      utimesSync(file, at, at);
    }
    // Recovery runs at every open, of any kind ('lazy': as winpop and each worker process open it).
    const store = await openMailStore(dir.path, { fsync: false, recovery: 'lazy' });
    await store.close();
    const left = new Set(readdirSync(folder));
    for (const [name, f] of Object.entries(files)) assert.equal(left.has(name), f.kept, `${name} (${JSON.stringify(f.text)}, ${f.ageMs} ms old): ${f.kept ? 'kept' : 'removed'}`);
  });
});

describe('holder files of pop3svc killed -9 again and again', () => {
  let dir: TempDir;
  let svc: RunningService | null = null;
  const sessions: WatchedPopSession[] = [];
  before(async () => {
    dir = await tempDir('winpop-holder-kill-');
    const root = path.join(dir.path, 'root');
    mkdirSync(root);
    for (const args of [['add', 'kill.test'], ['add', 'a@kill.test', '/createuser', 'pw-a']]) {
      const r = await winpop(['--mailroot', root, '--config', path.join(dir.path, 'config.json'), ...args]);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await Promise.allSettled(sessions.map((s) => s.close()));
    await svc?.kill();
    await dir?.remove();
  });

  it('locks through a holder of the serving worker process, and sweeps the holders of the killed ones at the next start', async () => {
    const root = path.join(dir.path, 'root');
    const folder = holdersDir(root);
    const lock = lockOf(root, 'a@kill.test');
    const holderPid = (name: string): number => Number(name.split('.').at(-2));
    for (let start = 1; start <= 3; start++) {
      svc = await startPop3svc(root, path.join(dir.path, 'config.json'), ['--workers', '2']);
      const running = svc;
      const workers = workerPids(running.output());
      assert.equal(workers.length, 2, `two worker processes: ${running.output()}`);
      // Every holder left by the killed runs is swept by the new one's recovery (each worker's, at its start).
      await waitFor(
        () => (exists(folder) ? readdirSync(folder) : []).every((n) => workers.includes(holderPid(n))),
        `start ${start}: no holder file of a dead process left in ${folder}`,
        20_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(readdirSync(folder))}`);
      });
      if (start === 3) break;
      const s = watchPopSession(running.pop3Port, 'a@kill.test', 'pw-a');
      sessions.push(s);
      assert.match(await s.loggedIn, /^\+OK/);
      const names = readdirSync(folder);
      const serving = names.filter((n) => statSync(path.join(folder, n)).ino === statSync(lock).ino);
      assert.equal(serving.length, 1, `the lock is a link to one holder file: ${JSON.stringify(names)}`);
      assert.ok(workers.includes(holderPid(serving[0] as string)), `the holder is a worker process's (${serving[0]}, workers ${workers.join(',')})`);
      assert.equal(readFileSync(lock, 'utf8').split(' ')[0], String(holderPid(serving[0] as string)), "the lock line names that worker's pid");
      await running.kill();
      svc = null;
      await sessions.pop()?.close();
    }
  });
});
