/**
 * The control channel: the real admin service over a real store, served on a
 * real Unix socket (or named pipe), reached by the real client and by raw
 * sockets speaking the wire format by hand.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { AdminEvent, ServerInfo } from '../../shared/contract.js';
import { AdminError } from '../../shared/errors.js';
import { createAdminService } from '../../electron/service/admin/admin-service.js';
import { connectControl, connectControlAt, type ControlClient } from '../../electron/service/admin/control-client.js';
import { controlSocketCandidates, controlSocketPath, fallbackSocketDir, UNIX_SOCKET_PATH_MAX } from '../../electron/service/admin/control-path.js';
import { MAX_REQUEST_FRAME_BYTES, PROTOCOL_VERSION } from '../../electron/service/admin/control-protocol.js';
import { serveControl } from '../../electron/service/admin/control-server.js';
import { loadConfig } from '../../electron/service/config.js';
import { silentLogger } from '../../electron/service/log.js';
import { createSettingsHolder } from '../../electron/service/settings-holder.js';
import { openMailStore, readAudit } from '../../electron/service/store/index.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { rejection } from '../helpers/rejection.js';
import { connect, RawConnection, startFixture, type Fixture } from './support.js';

const POSIX = process.platform !== 'win32';

// The service runs in this process: an emitter that gains a listener per call or per connection (in the service or
// in a test) shows as a MaxListenersExceededWarning, which fails the file instead of scrolling past in the log.
const listenerLeaks: string[] = [];
process.on('warning', (warning) => {
  if (warning.name === 'MaxListenersExceededWarning') listenerLeaks.push(warning.message);
});
after(() => {
  assert.deepEqual(listenerLeaks, [], 'no emitter may gain listeners without bound');
});

/** Waits (bounded) for the first event that matches. */
function nextEvent(client: ControlClient, match: (e: AdminEvent) => boolean, timeoutMs = 5000): Promise<AdminEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error('no matching event within the time limit'));
    }, timeoutMs);
    const stop = client.onEvent((event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      stop();
      resolve(event);
    });
  });
}

/** Resolves when the socket can take more or has closed; removes both listeners either way, so a long write loop adds none. */
function drainedOrClosed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
  });
}

describe('control socket path', () => {
  test('lives in the mail root, falls back to a short private path, and is a pipe on Windows', () => {
    const short = controlSocketPath('/srv/mail', 'linux');
    assert.equal(short, path.join('/srv/mail', '.winpop', 'control.sock'));
    const deep = `/srv/${'x'.repeat(120)}/mail`;
    const fallback = controlSocketPath(deep, 'linux');
    assert.ok(Buffer.byteLength(fallback) <= UNIX_SOCKET_PATH_MAX, fallback);
    assert.equal(path.dirname(fallback), fallbackSocketDir());
    assert.match(path.basename(fallback), /^[0-9a-f]{16}\.sock$/);
    assert.notEqual(controlSocketPath(`${deep}2`, 'linux'), fallback);
    // Each user's fallback folder is one only that user (or root) can make, except the temp folder's, which is checked when used.
    assert.equal(fallbackSocketDir(0, { XDG_RUNTIME_DIR: '/run/user/0' }), path.join(fsSync.existsSync('/run') ? '/run' : '/var/run', 'winpop'));
    assert.equal(fallbackSocketDir(1000, { XDG_RUNTIME_DIR: '/run/user/1000' }), path.join('/run/user/1000', 'winpop'));
    assert.equal(fallbackSocketDir(1000, { XDG_RUNTIME_DIR: 'not/absolute' }), path.join(os.tmpdir(), 'winpop-1000'), 'a relative XDG_RUNTIME_DIR is ignored, as the spec says');
    assert.equal(fallbackSocketDir(1000, {}), path.join(os.tmpdir(), 'winpop-1000'));
    // The installed service (systemd's RuntimeDirectory=winpop): its PrivateTmp would hide the temp folder from root's winpop.
    const run = path.join(fsSync.existsSync('/run') ? '/run' : '/var/run', 'winpop');
    assert.equal(fallbackSocketDir(998, { RUNTIME_DIRECTORY: run }), run);
    assert.equal(fallbackSocketDir(998, { RUNTIME_DIRECTORY: '/elsewhere' }), path.join(os.tmpdir(), 'winpop-998'), 'only the folder clients look in');
    if (process.getuid?.() === 0) {
      const there = controlSocketCandidates(deep, [0, 998]).find((c) => path.dirname(c.address) === run);
      assert.deepEqual(there?.owners, [0, 998], "root's winpop looks in /run/winpop for a socket of root's or of the service user's");
    }
    const pipe = controlSocketPath('C:\\Mail', 'win32');
    assert.match(pipe, /^\\\\\.\\pipe\\winpop-[0-9a-f]{16}$/);
    assert.equal(controlSocketPath('c:\\MAIL\\', 'win32'), pipe, 'Windows paths are case-insensitive');
  });
});

describe('control channel', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(async () => {
    await f?.server.close();
    await f?.dir.remove();
  });

  test('the socket is private: mode 0600 in a 0700 folder', { skip: POSIX ? false : 'named pipes have no file mode' }, async () => {
    const socket = await fs.stat(f.address);
    assert.ok(socket.isSocket());
    assert.equal(socket.mode & 0o777, 0o600);
    assert.equal((await fs.stat(path.dirname(f.address))).mode & 0o777, 0o700);
  });

  test('every kind of operation makes the round trip, acting as the hello actor', async () => {
    const client = await connect(f, 'alice-admin');
    try {
      const info = await client.serverInfo({});
      assert.equal(info.mailroot, f.mailroot);
      const domain = await client.addDomain({ domain: 'Example.COM' });
      assert.equal(domain.name, 'example.com');
      assert.deepEqual((await client.listDomains({})).map((d) => d.name), ['example.com']);
      const mailbox = await client.addMailbox({ address: 'bob@example.com', password: 'first-password' });
      assert.equal(mailbox.address, 'bob@example.com');
      await client.addMailbox({ address: 'carol@example.com', password: 'first-password' });
      assert.deepEqual(await client.changePassword({ address: 'bob@example.com', password: 'second-password' }), { address: 'bob@example.com' });
      assert.equal((await f.store.checkLogin('bob@example.com', 'second-password')).ok, true);

      const locked = await client.lock({ target: 'bob@example.com', reason: 'left the company' });
      assert.equal(locked.locked, true);
      assert.equal(locked.changed, true);
      assert.equal(locked.lock?.by, 'alice-admin');
      assert.equal(locked.lock?.reason, 'left the company');
      assert.equal(await f.store.isLocked('bob@example.com'), true, 'the lock is in the store when the call returns');
      const mailboxes = await client.listMailboxes({ domain: 'example.com' });
      assert.deepEqual(mailboxes.map((m) => [m.name, m.locked]), [['bob', true], ['carol', false]]);
      const unlocked = await client.unlock({ target: 'bob@example.com' });
      assert.deepEqual([unlocked.locked, unlocked.changed], [false, true]);

      const bulk = await client.lockMany({ targets: ['bob@example.com', 'ghost@example.com', 'carol@example.com'] });
      assert.deepEqual(bulk.map((r) => [r.target, r.ok]), [['bob@example.com', true], ['ghost@example.com', false], ['carol@example.com', true]]);
      const ghost = bulk[1];
      assert.ok(ghost && !ghost.ok && ghost.error.code === 'NOT_FOUND');
      const bulkUnlock = await client.unlockMany({ targets: ['bob@example.com', 'carol@example.com'] });
      assert.ok(bulkUnlock.every((r) => r.ok && !r.result.locked));

      const stat = await client.stat({});
      assert.equal(stat.totals.mailboxes, 2);
      const settings = await client.setSettings({ patch: { logging: 2 } });
      assert.equal(settings.logging, 2);
      assert.equal((await client.getSettings({})).logging, 2);

      assert.deepEqual(await client.deleteMailbox({ address: 'carol@example.com' }), { address: 'carol@example.com' });
      assert.deepEqual(await client.deleteDomain({ domain: 'example.com' }), { domain: 'example.com' });
      assert.deepEqual(await client.listDomains({}), []);

      const audit = await readAudit(f.store.root, 1000);
      const mine = audit.filter((e) => e.actor === 'alice-admin').map((e) => e.op);
      for (const op of ['addDomain', 'addMailbox', 'changePassword', 'lock', 'unlock', 'lockMany', 'setSettings', 'deleteDomain']) {
        assert.ok(mine.includes(op), `audit has ${op} by the hello actor`);
      }
    } finally {
      client.close();
    }
  });

  test('errors keep their code', async () => {
    const client = await connect(f);
    try {
      await client.addDomain({ domain: 'errors.test' });
      await client.addMailbox({ address: 'dan@errors.test', password: 'some-password' });
      assert.equal((await rejection(client.lock({ target: 'nobody@errors.test' }))).code, 'NOT_FOUND');
      assert.equal((await rejection(client.addDomain({ domain: 'errors.test' }))).code, 'ALREADY_EXISTS');
      assert.equal((await rejection(client.addDomain({ domain: 'no-dots' }))).code, 'INVALID_ARGUMENT');
      await client.lock({ target: 'errors.test' });
      const domainLocked = await rejection(client.unlock({ target: 'dan@errors.test' }));
      assert.equal(domainLocked.code, 'DOMAIN_LOCKED');
      assert.match(domainLocked.message, /Unlock the domain first/);
      const badArgs = await rejection(client.lock({ target: 42 } as unknown as { target: string }));
      assert.equal(badArgs.code, 'INVALID_ARGUMENT');
      assert.match(badArgs.message, /"target" must be a string/);
      // The connection is still good after errors.
      assert.equal((await client.unlock({ target: 'errors.test' })).locked, false);
    } finally {
      client.close();
    }
  });

  test('events reach a subscriber, whichever client or in-process caller made the change', async () => {
    const watcher = await connect(f, 'console');
    const shell = await connect(f, 'shell');
    try {
      await shell.addDomain({ domain: 'events.test' });
      const added = nextEvent(watcher, (e) => e.type === 'mailboxAdded');
      // Give the subscription a moment to be registered before the change it should see:
      // a round trip on the same connection proves the subscribe frame was served.
      await watcher.listDomains({});
      await shell.addMailbox({ address: 'erin@events.test', password: 'some-password' });
      assert.deepEqual(await added, { type: 'mailboxAdded', address: 'erin@events.test' });

      const locked = nextEvent(watcher, (e) => e.type === 'locked');
      await shell.lock({ target: 'erin@events.test' });
      const lockEvent = await locked;
      assert.ok(lockEvent.type === 'locked' && lockEvent.target === 'erin@events.test' && lockEvent.lock.by === 'shell');

      const unlocked = nextEvent(watcher, (e) => e.type === 'unlocked');
      await f.service.forActor('in-process').unlock({ target: 'erin@events.test' });
      assert.deepEqual(await unlocked, { type: 'unlocked', target: 'erin@events.test', kind: 'mailbox' });

      const arrived = nextEvent(watcher, (e) => e.type === 'mailArrived');
      await f.store.deliver('erin@events.test', Readable.from([Buffer.from('Subject: hi\r\n\r\nhello\r\n')]));
      const mail = await arrived;
      assert.ok(mail.type === 'mailArrived' && mail.address === 'erin@events.test' && mail.messages === 1);
    } finally {
      watcher.close();
      shell.close();
    }
  });

  test('malformed frames get an error and the connection keeps serving', async () => {
    const raw = await RawConnection.open(f.address);
    try {
      raw.send(JSON.stringify({ id: 1, op: 'listDomains', args: {} }));
      const first = await raw.next();
      assert.equal(first.error?.code, 'INVALID_ARGUMENT', 'a request before hello is refused');
      await raw.closed;
    } finally {
      raw.socket.destroy();
    }

    const conn = await RawConnection.open(f.address);
    try {
      await conn.hello();
      conn.send('this is not json');
      assert.equal((await conn.next()).error?.code, 'INVALID_ARGUMENT');
      conn.send('[1,2,3]');
      assert.equal((await conn.next()).error?.code, 'INVALID_ARGUMENT');
      conn.send(JSON.stringify({ id: 5, op: 'formatDisk', args: {} }));
      const unknown = await conn.next();
      assert.equal(unknown.id, 5);
      assert.deepEqual(unknown.reply?.ok, false);
      assert.equal(unknown.reply?.error?.code, 'INVALID_ARGUMENT');
      assert.match(unknown.reply?.error?.message, /Unknown operation "formatDisk"/);
      conn.send(JSON.stringify({ id: 6, op: 'lock', args: { target: 'a@b.test', extra: true } }));
      const extra = await conn.next();
      assert.equal(extra.id, 6);
      assert.match(extra.reply?.error?.message, /unknown argument "extra"/);
      conn.send(JSON.stringify({ id: 7, op: 'addMailbox', args: { address: 'x@y.test', password: 'a\u0000b'.repeat(1) } }));
      assert.equal((await conn.next()).reply?.error?.code, 'INVALID_ARGUMENT');
      conn.send(JSON.stringify({ hello: { actor: 'again', version: PROTOCOL_VERSION } }));
      assert.equal((await conn.next()).error?.code, 'INVALID_ARGUMENT');
      conn.send(JSON.stringify({ id: 8, op: 'listDomains' }));
      const served = await conn.next();
      assert.equal(served.id, 8);
      assert.equal(served.reply?.ok, true);
    } finally {
      conn.socket.destroy();
    }

    const old = await RawConnection.open(f.address);
    try {
      old.send(JSON.stringify({ hello: { actor: 'old', version: 99 } }));
      const refused = await old.next();
      assert.match(refused.error?.message, new RegExp(`protocol version ${PROTOCOL_VERSION}, the client 99`));
      await old.closed;
    } finally {
      old.socket.destroy();
    }
  });

  test('a line over the frame limit closes that connection with an error; others are unaffected', async () => {
    const conn = await RawConnection.open(f.address);
    const bystander = await connect(f);
    try {
      await conn.hello();
      const chunk = 'x'.repeat(1024 * 1024);
      for (let i = 0; i * chunk.length <= MAX_REQUEST_FRAME_BYTES && !conn.socket.destroyed; i++) {
        if (!conn.socket.write(chunk)) await drainedOrClosed(conn.socket);
      }
      const frame = await conn.next();
      assert.equal(frame.error?.code, 'INVALID_ARGUMENT');
      assert.match(frame.error?.message, /larger than/);
      await conn.closed;
      assert.ok(Array.isArray(await bystander.listDomains({})));
    } finally {
      conn.socket.destroy();
      bystander.close();
    }
  });

  test('the client refuses to send a request over the limit', async () => {
    const client = await connect(f);
    try {
      const targets = Array.from({ length: 80_000 }, (_, i) => `${'m'.repeat(60)}${i}@${'d'.repeat(200)}.test`);
      const err = await rejection(client.lockMany({ targets }));
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.match(err.message, /fewer targets/);
      assert.ok(Array.isArray(await client.listDomains({})), 'the connection is still usable');
    } finally {
      client.close();
    }
  });

  test('a bulk lock of 10,000 targets fits in one call, with a result per target', async () => {
    const client = await connect(f);
    try {
      await client.addDomain({ domain: 'bulk.test' });
      await client.addMailbox({ address: 'real@bulk.test', password: 'some-password' });
      const targets = Array.from({ length: 10_000 }, (_, i) => (i === 0 ? 'real@bulk.test' : `user${i}@nonexistent.test`));
      const results = await client.lockMany({ targets, reason: 'bulk' });
      assert.equal(results.length, 10_000);
      assert.equal(results[0]?.ok, true);
      assert.equal(results.filter((r) => !r.ok && r.error.code === 'NOT_FOUND').length, 9_999);
      assert.equal(await f.store.isLocked('real@bulk.test'), true);
    } finally {
      client.close();
    }
  });

  test('a client that disconnects mid-call is harmless', async () => {
    const raw = await RawConnection.open(f.address);
    await raw.hello();
    const targets = Array.from({ length: 5000 }, (_, i) => `gone${i}@nonexistent.test`);
    raw.send(JSON.stringify({ id: 1, op: 'lockMany', args: { targets } }));
    raw.send(JSON.stringify({ id: 2, subscribe: true }));
    raw.socket.destroy();
    await raw.closed;
    const client = await connect(f);
    try {
      // Changes after the disconnect emit events; the gone subscriber must not break them.
      await client.addDomain({ domain: 'after-disconnect.test' });
      assert.ok((await client.listDomains({})).some((d) => d.name === 'after-disconnect.test'));
    } finally {
      client.close();
    }
  });

  test('a second service for the same mail root is refused', async () => {
    const err = await rejection(serveControl(f.service, f.address, silentLogger));
    assert.equal(err.code, 'UNAVAILABLE');
    assert.match(err.message, /already running for this mail root/);
    // The first one still serves.
    const client = await connect(f);
    client.close();
  });

  test('calls waiting when the service stops reject with UNAVAILABLE; the socket file goes away', async () => {
    const client = await connect(f);
    const closed = new Promise<AdminError | null>((resolve) => client.onClose(resolve));
    const pending = client.lockMany({ targets: Array.from({ length: 2000 }, (_, i) => `late${i}@nonexistent.test`) });
    // Catch the rejection now: it may come while close() is still being awaited.
    const failed = rejection(pending);
    await f.server.close();
    const err = await failed;
    assert.equal(err.code, 'UNAVAILABLE');
    assert.match(err.message, /service stopped/);
    assert.equal((await closed)?.code, 'UNAVAILABLE');
    assert.equal((await rejection(client.listDomains({}))).code, 'UNAVAILABLE');
    if (POSIX) await assert.rejects(fs.stat(f.address), { code: 'ENOENT' });
    assert.equal(await connectControl(f.mailroot, 'tester'), null, 'nothing listens any more');
    // Serve again for the remaining tests.
    f.server = await serveControl(f.service, f.address, silentLogger);
  });
});

describe('control channel start-up', () => {
  let dir: TempDir;
  before(async () => {
    dir = await tempDir('winpop-control-start-');
  });
  after(async () => {
    await dir?.remove();
  });

  test('connectControl answers null at once when no service runs', async () => {
    assert.equal(await connectControl(path.join(dir.path, 'no-such-root'), 'tester'), null);
  });

  test('a stale socket file left by a killed service is replaced', { skip: POSIX ? false : 'named pipes leave no file behind' }, async () => {
    const mailroot = path.join(dir.path, 'stale');
    const address = controlSocketPath(mailroot);
    await fs.mkdir(path.dirname(address), { recursive: true });
    // A real process listens on the path and is killed -9: its socket file stays, nobody answers.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(address)}, () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await once(child.stdout, 'data');
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.ok((await fs.lstat(address)).isSocket(), 'the stale socket file is there');
    assert.equal(await connectControlAt(address, 'tester'), null, 'a stale socket counts as no service');

    const store = await openMailStore(mailroot, { fsync: false });
    const configPath = path.join(dir.path, 'stale.json');
    const settings = createSettingsHolder(configPath, await loadConfig(configPath), { mailroot });
    const info = (): ServerInfo => ({ computer: os.hostname(), version: 'test', mailroot, mode: 'in-process', listeners: [], sessions: 0 });
    const service = createAdminService({ store, settings, info, log: silentLogger });
    const server = await serveControl(service, address, silentLogger);
    try {
      const client = await connectControl(mailroot, 'tester');
      assert.ok(client);
      assert.deepEqual(await client.listDomains({}), []);
      client.close();
    } finally {
      await server.close();
    }
  });

  test('a mail root with a long path is served on the short fallback socket', { skip: POSIX ? false : 'pipe names have no such limit' }, async () => {
    const mailroot = path.join(dir.path, 'a-rather-long-folder-name-'.repeat(5), 'mail');
    const address = controlSocketPath(mailroot);
    assert.equal(path.dirname(address), fallbackSocketDir());
    const store = await openMailStore(mailroot, { fsync: false });
    const configPath = path.join(dir.path, 'long.json');
    const settings = createSettingsHolder(configPath, await loadConfig(configPath), { mailroot });
    const info = (): ServerInfo => ({ computer: os.hostname(), version: 'test', mailroot, mode: 'in-process', listeners: [], sessions: 0 });
    const server = await serveControl(createAdminService({ store, settings, info, log: silentLogger }), address, silentLogger);
    try {
      assert.equal((await fs.stat(fallbackSocketDir())).mode & 0o777, 0o700);
      assert.equal((await fs.stat(address)).mode & 0o777, 0o600);
      const client = await connectControl(mailroot, 'tester');
      assert.ok(client);
      assert.equal((await client.serverInfo({})).mailroot, mailroot);
      client.close();
    } finally {
      await server.close();
    }
    await assert.rejects(fs.stat(address), { code: 'ENOENT' });
    // Leave no trace in the shared temp folder (/run/winpop and XDG_RUNTIME_DIR are the system's to clean);
    // another service's socket would keep it (rmdir then fails).
    if (path.dirname(fallbackSocketDir()) === os.tmpdir()) await fs.rmdir(fallbackSocketDir()).catch(() => undefined);
  });

  test('a file that is not a socket is never deleted', { skip: POSIX ? false : 'named pipes are not files' }, async () => {
    const mailroot = path.join(dir.path, 'blocked');
    const address = controlSocketPath(mailroot);
    await fs.mkdir(path.dirname(address), { recursive: true });
    await fs.writeFile(address, 'precious');
    const store = await openMailStore(mailroot, { fsync: false });
    const configPath = path.join(dir.path, 'blocked.json');
    const settings = createSettingsHolder(configPath, await loadConfig(configPath), { mailroot });
    const info = (): ServerInfo => ({ computer: os.hostname(), version: 'test', mailroot, mode: 'in-process', listeners: [], sessions: 0 });
    const service = createAdminService({ store, settings, info, log: silentLogger });
    const err = await rejection(serveControl(service, address, silentLogger));
    assert.match(err.message, /not a socket/);
    assert.equal(await fs.readFile(address, 'utf8'), 'precious');
  });
});
