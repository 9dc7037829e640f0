/**
 * The console's connection manager against real services: certificate
 * pinning, log-in, back-off and reconnection, the remembered list on disk,
 * and the checks on the ids and arguments the renderer sends.
 */

import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ComputerEvent, ComputerInfo } from '../../shared/contract.js';
import { backoffDelay, ComputerManager, type CredentialVault } from '../../electron/computers/computer-manager.js';
import { startService, type ServiceHost } from '../../electron/service/host.js';
import { capturingLogger } from '../tls/tls-support.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { eventually, startEndpointHost, type EndpointHost } from '../remote/support.js';

const ADMIN = { name: 'alice', password: 'correct horse battery' };
const MAILBOX = { address: 'bob@example.com', password: 'bobs-pop3-pass' };

/** A reversible encryption with a key of this run, standing in for Electron safeStorage. */
function testVault(): CredentialVault & { used: number } {
  const key = randomBytes(32);
  const vault = {
    used: 0,
    encrypt(text: string): string {
      vault.used++;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    decrypt(saved: string): string {
      const raw = Buffer.from(saved, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
  return vault;
}

interface Harness {
  readonly dir: TempDir;
  readonly file: string;
  readonly logs: ReturnType<typeof capturingLogger>;
  readonly events: ComputerEvent[];
  open(vault?: CredentialVault | null): Promise<ComputerManager>;
}

async function harness(): Promise<Harness> {
  const dir = await tempDir('winpop-computers-');
  const logs = capturingLogger();
  const events: ComputerEvent[] = [];
  const file = path.join(dir.path, 'user-data', 'computers.json');
  return {
    dir,
    file,
    logs,
    events,
    async open(vault = null) {
      const manager = await ComputerManager.open({ file, vault, log: logs.log, backoff: { firstMs: 50, maxMs: 400 }, timeoutMs: 5000 });
      manager.onEvent((e) => events.push(e));
      return manager;
    },
  };
}

function fingerprintOf(host: EndpointHost): string {
  const fp = host.host.info().tls?.certificate?.fingerprint256;
  assert.ok(fp, 'the service has a certificate');
  return fp;
}

async function stateOf(manager: ComputerManager, id: string, state: ComputerInfo['state']): Promise<ComputerInfo> {
  let info: ComputerInfo | undefined;
  await eventually(() => {
    info = manager.list().find((c) => c.id === id);
    return info?.state === state;
  }, `computer ${id} to be ${state} (it is ${info?.state}: ${info?.reason})`, 20_000);
  return info as ComputerInfo;
}

/** Connects through first contact and the confirmation, as the dialog does. */
async function connectConfirmed(manager: ComputerManager, host: EndpointHost, options: { remember?: boolean } = {}): Promise<ComputerInfo> {
  const first = await manager.run('connectComputer', { host: '127.0.0.1', port: host.port, admin: ADMIN.name, password: ADMIN.password, ...options });
  assert.equal(first.state, 'unconfirmed', first.reason);
  assert.equal(first.fingerprint, null);
  assert.equal(first.offeredFingerprint, fingerprintOf(host), 'first contact shows the certificate the service really has');
  const confirmed = await manager.run('confirmFingerprint', { computer: first.id, fingerprint: first.offeredFingerprint as string });
  assert.equal(confirmed.state, 'connected', confirmed.reason);
  return confirmed;
}

describe('the connection manager', () => {
  let remote: EndpointHost;
  before(async () => {
    remote = await startEndpointHost({ mailboxes: [MAILBOX], admins: [ADMIN] });
  });
  after(async () => {
    await remote.stop();
  });

  test('first contact shows the fingerprint; after confirming, operations and events reach that computer', async () => {
    const h = await harness();
    const manager = await h.open();
    try {
      const info = await connectConfirmed(manager, remote);
      assert.match(info.id, /^c-[0-9a-f]{16}$/);
      assert.equal(info.fingerprint, fingerprintOf(remote));
      const domains = (await manager.run('callComputer', { computer: info.id, op: 'listDomains', args: {} })) as { name: string }[];
      assert.deepEqual(domains.map((d) => d.name), ['example.com']);
      const lock = (await manager.run('callComputer', { computer: info.id, op: 'lock', args: { target: MAILBOX.address } })) as { locked: boolean };
      assert.equal(lock.locked, true);
      assert.equal((await remote.host.admin.listMailboxes({ domain: 'example.com' }))[0]?.locked, true, 'the lock landed on that service');
      await eventually(
        () => h.events.some((e) => e.type === 'computerEvent' && e.computer === info.id && e.event.type === 'locked' && e.event.target === MAILBOX.address),
        'the locked event of that computer',
      );
      await remote.host.admin.unlock({ target: MAILBOX.address });
      await eventually(() => h.events.some((e) => e.type === 'computerEvent' && e.event.type === 'unlocked'), 'a change made on that computer to arrive as an event');
      const failure = await manager.run('callComputer', { computer: info.id, op: 'lock', args: { target: 'nobody@nowhere.example' } }).catch((e: unknown) => e);
      assert.equal((failure as { code?: string }).code, 'NOT_FOUND', 'the remote error keeps its code');
    } finally {
      await manager.close();
      await h.dir.remove();
    }
  });

  test('a wrong password ends in "loginFailed" with the endpoint\'s reason, and is not retried', async () => {
    const h = await harness();
    const manager = await h.open();
    try {
      const info = await connectConfirmed(manager, remote);
      const wrong = await manager.run('connectComputer', { computer: info.id, host: '127.0.0.1', port: remote.port, admin: ADMIN.name, password: 'not the password' });
      assert.equal(wrong.state, 'loginFailed');
      assert.match(wrong.reason ?? '', /Log-in failed: .*wrong/i);
      assert.equal(wrong.retryAt, undefined, 'no automatic retry of a wrong password');
      await assert.rejects(manager.run('callComputer', { computer: info.id, op: 'listDomains', args: {} }), (e: { code?: string; message?: string }) => e.code === 'UNAVAILABLE' && /Log-in failed/.test(e.message ?? ''));
    } finally {
      await manager.close();
      await h.dir.remove();
    }
  });

  test('a remembered fingerprint that differs is refused with a warning, until the new one is accepted', async () => {
    const h = await harness();
    const wrongPin = Array.from({ length: 32 }, () => 'AB').join(':');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.dirname(h.file), { recursive: true });
    await writeFile(h.file, JSON.stringify({ version: 1, computers: [{ id: 'c-00112233445566ff', host: '127.0.0.1', port: remote.port, admin: ADMIN.name, fingerprint: wrongPin }] }));
    const manager = await h.open();
    const signInsBefore = remote.logs.lines.filter((l) => l.includes('admin endpoint: signed in')).length;
    try {
      const changed = await manager.run('connectComputer', { computer: 'c-00112233445566ff', host: '127.0.0.1', port: remote.port, admin: ADMIN.name, password: ADMIN.password });
      assert.equal(changed.state, 'fingerprintChanged');
      assert.match(changed.reason ?? '', /WARNING: the certificate of 127\.0\.0\.1:\d+ has changed/);
      assert.equal(changed.offeredFingerprint, fingerprintOf(remote));
      assert.equal(changed.fingerprint, wrongPin, 'the old pin stays until the admin accepts the new one');
      assert.equal(remote.logs.lines.filter((l) => l.includes('admin endpoint: signed in')).length, signInsBefore, 'no log-in was even tried');
      await assert.rejects(manager.run('confirmFingerprint', { computer: changed.id, fingerprint: wrongPin }), /offers the certificate/);
      const accepted = await manager.run('confirmFingerprint', { computer: changed.id, fingerprint: fingerprintOf(remote) });
      assert.equal(accepted.state, 'connected', accepted.reason);
      await manager.close();
      const saved = JSON.parse(await readFile(h.file, 'utf8')) as { computers: { fingerprint: string }[] };
      assert.equal(saved.computers[0]?.fingerprint, fingerprintOf(remote), 'the accepted fingerprint is remembered');
    } finally {
      await manager.close();
      await h.dir.remove();
    }
  });

  test('ids and arguments from the renderer are checked before anything runs', async () => {
    const h = await harness();
    const manager = await h.open();
    try {
      const info = await connectConfirmed(manager, remote);
      const cases: [string, unknown, string, RegExp][] = [
        ['callComputer', { computer: 'local', op: 'listDomains', args: {} }, 'INVALID_ARGUMENT', /"computer" must be the id/],
        ['callComputer', { computer: 'c-0000000000000000', op: 'listDomains', args: {} }, 'NOT_FOUND', /knows no computer/],
        ['callComputer', { computer: info.id, op: 'addAdmin', args: {} }, 'INVALID_ARGUMENT', /unknown operation "addAdmin"/],
        ['callComputer', { computer: info.id, op: 'lock', args: { target: 5 } }, 'INVALID_ARGUMENT', /"target" must be a string/],
        ['callComputer', { computer: info.id, op: 'listDomains', args: {}, extra: 1 }, 'INVALID_ARGUMENT', /unknown argument "extra"/],
        ['connectComputer', { host: 'bad host!', port: 1, admin: 'a', password: 'x' }, 'INVALID_ARGUMENT', /not a host name/],
        ['connectComputer', { host: '127.0.0.1', port: 70000, admin: 'a', password: 'x' }, 'INVALID_ARGUMENT', /port/],
        ['confirmFingerprint', { computer: info.id, fingerprint: 'AA:BB' }, 'INVALID_ARGUMENT', /SHA-256 fingerprint/],
        ['removeComputer', { computer: ['c-0000000000000000'] }, 'INVALID_ARGUMENT', /"computer" must be the id/],
      ];
      for (const [op, args, code, text] of cases) {
        const err = (await manager.run(op as 'callComputer', args).then(
          () => null,
          (e: unknown) => e,
        )) as { code?: string; message?: string } | null;
        assert.ok(err, `${op} ${JSON.stringify(args)} should be refused`);
        assert.equal(err.code, code, `${op} ${JSON.stringify(args)}: ${err.message}`);
        assert.match(err.message ?? '', text);
      }
      manager.remove(info.id);
      await assert.rejects(manager.run('callComputer', { computer: info.id, op: 'listDomains', args: {} }), (e: { code?: string }) => e.code === 'NOT_FOUND');
      assert.ok(h.events.some((e) => e.type === 'computerRemoved' && e.computer === info.id));
    } finally {
      await manager.close();
      await h.dir.remove();
    }
  });

  test('remembered computers come back at the next start; a saved password only encrypted', async () => {
    const h = await harness();
    const vault = testVault();
    const first = await h.open(vault);
    let savedId = '';
    let askId = '';
    try {
      savedId = (await connectConfirmed(first, remote, { remember: true })).id;
    } finally {
      await first.close();
    }
    const text = await readFile(h.file, 'utf8');
    assert.ok(!text.includes(ADMIN.password), 'the password is not on disk in plain text');
    assert.ok(vault.used > 0, 'the vault encrypted it');
    const saved = JSON.parse(text) as { computers: { id: string; fingerprint: string; credential?: string }[] };
    assert.equal(saved.computers[0]?.id, savedId);
    assert.equal(saved.computers[0]?.fingerprint, fingerprintOf(remote));
    assert.ok(saved.computers[0]?.credential, 'a credential is saved');

    const second = await h.open(vault);
    try {
      const back = await stateOf(second, savedId, 'connected');
      assert.equal(back.saved, true);
      assert.ok(((await second.call(savedId, 'listDomains', {})) as unknown[]).length > 0, 'it works without asking again');
      // Asked each time: remembered without a password.
      askId = (await second.run('connectComputer', { computer: savedId, host: '127.0.0.1', port: remote.port, admin: ADMIN.name, password: ADMIN.password, remember: false })).id;
    } finally {
      await second.close();
    }
    assert.ok(!(await readFile(h.file, 'utf8')).includes('"credential"'), 'remember: false forgets the saved credential');
    const third = await h.open(vault);
    try {
      const info = third.list().find((c) => c.id === askId);
      assert.equal(info?.state, 'signedOut');
      assert.equal(info?.fingerprint, fingerprintOf(remote), 'its fingerprint is still remembered');
    } finally {
      await third.close();
      await h.dir.remove();
    }
  });

  test('the list file is replaced whole: no temporary file is left, and a damaged file is reported, not fatal', async () => {
    const h = await harness();
    const { mkdir, readdir } = await import('node:fs/promises');
    await mkdir(path.dirname(h.file), { recursive: true });
    await writeFile(h.file, '{"computers": [ half');
    const manager = await h.open();
    try {
      assert.deepEqual(manager.list(), []);
      assert.match(h.logs.text(), /remembered computers could not be read.*not valid JSON/);
      await connectConfirmed(manager, remote);
    } finally {
      await manager.close();
    }
    assert.deepEqual(await readdir(path.dirname(h.file)), ['computers.json']);
    await h.dir.remove();
  });
});

test('back-off doubles from the first wait up to the longest', () => {
  const b = { firstMs: 1000, maxMs: 60_000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 100].map((n) => backoffDelay(n, b)), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
});

test('a stopped computer is "unreachable" with the reason, retried with back-off, and back by itself; another one meanwhile is not held up', async () => {
  const dir = await tempDir('winpop-computers-restart-');
  const other = await startEndpointHost({ mailboxes: [MAILBOX], admins: [ADMIN] });
  const first = await startEndpointHost({ mailboxes: [MAILBOX], admins: [ADMIN] });
  const h = await harness();
  const manager = await h.open();
  let restarted: ServiceHost | undefined;
  // A port that accepts and then never answers: a hung computer.
  const silent = net.createServer(() => {});
  const held: net.Socket[] = [];
  silent.on('connection', (s) => held.push(s));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const a = await connectConfirmed(manager, first);
    const b = await connectConfirmed(manager, other);
    await first.host.stop();
    const down = await stateOf(manager, a.id, 'unreachable');
    assert.match(down.reason ?? '', /Unreachable: .*trying again in \d+ s/);
    assert.ok(down.retryAt, 'it says when it tries again');
    // A hung computer being probed does not hold up calls to the others.
    const hung = manager.run('connectComputer', { host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port, admin: ADMIN.name, password: ADMIN.password });
    assert.ok(((await manager.call(b.id, 'listDomains', {})) as unknown[]).length === 1, 'the other computer answers meanwhile');
    await eventually(() => h.events.filter((e) => e.type === 'computerState' && e.computer.id === a.id && e.computer.state === 'unreachable').length >= 2, 'a second failed attempt (the back-off retries)');
    restarted = await startService({ mailroot: first.mailroot, configPath: first.configPath, listen: '127.0.0.1', pop3Port: 0, smtpPort: 0, fsync: false, log: first.logs.log, adminPort: first.port });
    await stateOf(manager, a.id, 'connected');
    assert.equal(((await manager.call(a.id, 'listDomains', {})) as unknown[]).length, 1);
    const hungInfo = await hung;
    assert.equal(hungInfo.state, 'unreachable');
    assert.match(hungInfo.reason ?? '', /no answer within/);
  } finally {
    await manager.close();
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await restarted?.stop();
    await rm(first.dir.path, { recursive: true, force: true });
    await other.stop();
    await h.dir.remove();
    await dir.remove();
  }
});
