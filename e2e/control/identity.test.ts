/**
 * Who is at either end of the control channel, checked through real parts
 * (the admin service over a real store, a real socket, raw connections and
 * listeners that record what reaches them):
 * - the client proves its OS uid before any call; the audit log records it
 *   beside the name the client claims; forged proofs run nothing;
 * - the service refuses to listen, and the client to connect, where a
 *   socket could have been put by someone else.
 * The same checks against a second OS user are in ownership.test.ts.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { connectControl } from '../../electron/service/admin/control-client.js';
import { controlSocketPath } from '../../electron/service/admin/control-path.js';
import { proofFilePath, writeProof } from '../../electron/service/admin/control-proof.js';
import { serveControl } from '../../electron/service/admin/control-server.js';
import { silentLogger } from '../../electron/service/log.js';
import { readAudit } from '../../electron/service/store/index.js';
import { rejection } from '../helpers/rejection.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { adminServiceAt, connect, RawConnection, startFixture, type Fixture } from './support.js';

const POSIX = process.platform !== 'win32';
const NO_PIPES = POSIX ? false : 'named pipes have no folder: no proof, no owner to check';

/** Polls (bounded) until the path is gone. */
async function gone(file: string): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (!(await fs.lstat(file).then(() => true, () => false))) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

describe("the proof of the client's uid", { skip: NO_PIPES }, () => {
  let f: Fixture;
  /** Where the service takes proofs: its own runtime folder, off the store (control-server.ts). */
  let proofFolder = '';
  before(async () => {
    f = await startFixture();
    const probe = await RawConnection.open(f.address);
    await probe.greet('probe');
    proofFolder = probe.proofDir;
    probe.socket.destroy();
  });
  after(async () => {
    await f?.server.close();
    await f?.dir.remove();
  });

  const folder = (): string => proofFolder;
  const domains = async (): Promise<string[]> => (await f.service.forActor('check').listDomains({})).map((d) => d.name);

  test('the audit line carries the uid the client proved beside the name it claims; in-process callers record their own', async () => {
    const client = await connect(f, 'alice');
    try {
      await client.addDomain({ domain: 'claimed.test' });
    } finally {
      client.close();
    }
    await f.service.forActor('console-user').addDomain({ domain: 'in-process.test' });
    const audit = await readAudit(f.store.root, 100);
    const claimed = audit.find((e) => e.target === 'claimed.test');
    // This process claims "alice" whoever runs it: the uid shows who really called.
    assert.deepEqual([claimed?.actor, claimed?.uid], ['alice', process.getuid?.()]);
    const inProcess = audit.find((e) => e.target === 'in-process.test');
    assert.deepEqual([inProcess?.actor, inProcess?.uid], ['console-user', process.getuid?.()]);
  });

  test('a client that has not proved its uid gets no operation and no event', async () => {
    const caller = await RawConnection.open(f.address);
    try {
      assert.match((await caller.greet('mallory')) ?? '', /^[0-9a-f]{32}$/, 'the hello answer carries a nonce to prove');
      caller.send(JSON.stringify({ id: 1, op: 'addDomain', args: { domain: 'unproved.test' } }));
      const refused = await caller.next();
      assert.equal(refused.error?.code, 'NOT_ALLOWED');
      assert.match(refused.error?.message, /Prove the user this client runs as before any request/);
      await caller.closed;
    } finally {
      caller.socket.destroy();
    }

    const watcher = await RawConnection.open(f.address);
    try {
      await watcher.greet('mallory');
      watcher.send(JSON.stringify({ id: 1, subscribe: true }));
      assert.equal((await watcher.next()).error?.code, 'NOT_ALLOWED');
      await watcher.closed;
    } finally {
      watcher.socket.destroy();
    }

    // The proof file made but never announced: the call is still refused, and the file does not stay behind.
    const silent = await RawConnection.open(f.address);
    let file: string;
    try {
      const nonce = await silent.greet('mallory');
      assert.ok(nonce);
      file = await writeProof(folder(), nonce);
      silent.send(JSON.stringify({ id: 1, op: 'addDomain', args: { domain: 'unproved.test' } }));
      assert.equal((await silent.next()).error?.code, 'NOT_ALLOWED');
      await silent.closed;
    } finally {
      silent.socket.destroy();
    }
    assert.ok(await gone(file), `${file} was removed when the connection ended`);

    assert.ok(!(await domains()).includes('unproved.test'), 'no call ran');
    assert.ok(!(await readAudit(f.store.root, 1000)).some((e) => e.actor === 'mallory'), 'nothing was audited for the unproved client');
  });

  test('every forged proof is refused, and the call sent right after it never runs', async (t) => {
    // Beside the proof folder, on its file system, so a hard link can be made from it.
    const elsewhere = await fs.mkdtemp(path.join(path.dirname(folder()), 'elsewhere-'));
    t.after(() => fs.rm(elsewhere, { recursive: true, force: true }));
    /** A proof file with the right content and mode, made outside the socket's folder. */
    const goodFileElsewhere = async (nonce: string): Promise<string> => {
      const file = path.join(elsewhere, `made-for-${nonce}`);
      await fs.writeFile(file, nonce);
      await fs.chmod(file, 0o444);
      return file;
    };
    const forgeries: { name: string; forge: (nonce: string, other: string) => Promise<void>; refusal: RegExp; sent?: (nonce: string, other: string) => string }[] = [
      { name: 'no file at all', forge: async () => undefined, refusal: /does not exist/ },
      {
        name: 'a symbolic link to a good proof elsewhere',
        forge: async (nonce) => fs.symlink(await goodFileElsewhere(nonce), proofFilePath(folder(), nonce)),
        refusal: /is a symbolic link/,
      },
      {
        name: 'a hard link to a good proof elsewhere',
        forge: async (nonce) => fs.link(await goodFileElsewhere(nonce), proofFilePath(folder(), nonce)),
        refusal: /has 2 names/,
      },
      {
        name: "another connection's proof renamed into place",
        forge: async (nonce, other) => fs.rename(await writeProof(folder(), other), proofFilePath(folder(), nonce)),
        refusal: /does not contain the nonce of this connection/,
      },
      {
        name: 'a FIFO, which must not hang the service',
        forge: async (nonce) => {
          await promisify(execFile)('mkfifo', ['-m', '444', proofFilePath(folder(), nonce)]);
        },
        refusal: /is not a regular file/,
      },
      {
        name: 'a file of another mode than 0444',
        forge: async (nonce) => {
          await fs.writeFile(proofFilePath(folder(), nonce), nonce, { mode: 0o644 });
          await fs.chmod(proofFilePath(folder(), nonce), 0o644);
        },
        refusal: /has mode 0644/,
      },
      {
        name: 'a proof frame naming the nonce of another connection',
        forge: async (nonce) => {
          await writeProof(folder(), nonce);
        },
        sent: (_nonce, other) => other,
        refusal: /another nonce than the one this connection was given/,
      },
    ];
    for (const [i, { name, forge, refusal, sent }] of forgeries.entries()) {
      const other = await RawConnection.open(f.address);
      const forger = await RawConnection.open(f.address);
      try {
        const otherNonce = await other.greet('bystander');
        const nonce = await forger.greet('forger');
        assert.ok(nonce && otherNonce);
        await forge(nonce, otherNonce);
        // Proof and call in one write: the call waits for the proof, which fails, so it never runs.
        forger.send(`${JSON.stringify({ proof: sent ? sent(nonce, otherNonce) : nonce })}\n${JSON.stringify({ id: 1, op: 'addDomain', args: { domain: `forged-${i}.test` } })}`);
        const answer = await forger.next();
        assert.equal(answer.error?.code, 'NOT_ALLOWED', `${name}: ${JSON.stringify(answer)}`);
        assert.match(answer.error?.message, refusal, name);
        await forger.closed;
        assert.ok(await gone(proofFilePath(folder(), nonce)), `${name}: the forged proof file is removed`);
      } finally {
        forger.socket.destroy();
        other.socket.destroy();
      }
    }
    const present = await domains();
    assert.deepEqual(
      forgeries.map((_, i) => `forged-${i}.test`).filter((d) => present.includes(d)),
      [],
      'no call after a forged proof ran',
    );
    assert.ok(!(await readAudit(f.store.root, 1000)).some((e) => e.actor === 'forger'));
  });

  test('a proof and the calls behind it may come in one write: the calls wait for the proof', async () => {
    const conn = await RawConnection.open(f.address);
    try {
      const nonce = await conn.greet('pipeliner');
      assert.ok(nonce);
      await writeProof(folder(), nonce);
      conn.send(`${JSON.stringify({ proof: nonce })}\n${JSON.stringify({ id: 1, op: 'addDomain', args: { domain: 'pipelined.test' } })}`);
      assert.deepEqual(await conn.next(), { proof: { uid: process.getuid?.() } });
      const reply = await conn.next();
      assert.equal(reply.id, 1);
      assert.equal(reply.reply?.ok, true, JSON.stringify(reply));
    } finally {
      conn.socket.destroy();
    }
    const line = (await readAudit(f.store.root, 100)).find((e) => e.target === 'pipelined.test');
    assert.deepEqual([line?.actor, line?.uid], ['pipeliner', process.getuid?.()]);
  });
});

/** A listener standing where the service would, recording every connection and byte. */
async function recordingListener(socketPath: string): Promise<{ connections: () => number; received: () => string; close: () => Promise<void> }> {
  let connections = 0;
  let received = '';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('data', (d: Buffer) => (received += d.toString('utf8')));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    connections: () => connections,
    received: () => received,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('where the service listens and the client connects: only folders nobody else can change', { skip: NO_PIPES }, () => {
  let dir: TempDir;
  before(async () => {
    dir = await tempDir('winpop-control-trust-');
  });
  after(async () => {
    await dir?.remove();
  });

  test('the service refuses a socket folder others can write, a symbolic link in its place, and a writable folder above', async () => {
    const writable = path.join(dir.path, 'writable', 'mail');
    const a = await adminServiceAt(writable);
    await fs.chmod(path.join(writable, '.winpop'), 0o777);
    const err = await rejection(serveControl(a.service, controlSocketPath(writable), silentLogger));
    assert.equal(err.code, 'NOT_ALLOWED');
    assert.match(err.message, /^Refusing to serve the control channel at .*: its folder .*\.winpop can be written by other users \(mode 0777\).*chmod 700/);
    await assert.rejects(fs.lstat(controlSocketPath(writable)), { code: 'ENOENT' }, 'nothing was made there');

    const linked = path.join(dir.path, 'linked', 'mail');
    const b = await adminServiceAt(linked);
    await fs.rm(path.join(linked, '.winpop'), { recursive: true });
    await fs.mkdir(path.join(dir.path, 'linked', 'private'), { mode: 0o700 });
    await fs.symlink(path.join(dir.path, 'linked', 'private'), path.join(linked, '.winpop'));
    const link = await rejection(serveControl(b.service, controlSocketPath(linked), silentLogger));
    assert.equal(link.code, 'NOT_ALLOWED');
    assert.match(link.message, /\.winpop is a symbolic link/);

    const open = path.join(dir.path, 'open');
    const under = path.join(open, 'mail');
    const c = await adminServiceAt(under);
    await fs.chmod(open, 0o777);
    const above = await rejection(serveControl(c.service, controlSocketPath(under), silentLogger));
    assert.equal(above.code, 'NOT_ALLOWED');
    assert.match(above.message, new RegExp(`${open}, a folder above it, can be written by other users \\(mode 0777\\) and is not sticky`));
    // Sticky, as /tmp is: nobody can rename what is not theirs, so that is fine.
    await fs.chmod(open, 0o1777);
    const server = await serveControl(c.service, controlSocketPath(under), silentLogger);
    await server.close();
  });

  test('the client refuses, before it sends a byte, a socket in a folder others can write or a socket that is a symbolic link', async () => {
    const cases: { name: string; prepare: (mailroot: string) => Promise<string>; refusal: RegExp }[] = [
      {
        name: 'a state folder others can write',
        prepare: async (mailroot) => {
          await fs.mkdir(path.join(mailroot, '.winpop'), { recursive: true });
          await fs.chmod(path.join(mailroot, '.winpop'), 0o777);
          return controlSocketPath(mailroot);
        },
        refusal: /^Refusing to connect to the control socket .*: its folder .* can be written by other users \(mode 0777\)/,
      },
      {
        name: 'a socket that is a symbolic link to a listener elsewhere',
        prepare: async (mailroot) => {
          await fs.mkdir(path.join(mailroot, '.winpop'), { recursive: true, mode: 0o700 });
          const elsewhere = path.join(path.dirname(mailroot), 'elsewhere.sock');
          await fs.symlink(elsewhere, controlSocketPath(mailroot));
          return elsewhere;
        },
        refusal: /^Refusing to connect to the control socket .*: it is a symbolic link/,
      },
      {
        name: 'a folder above that others can write',
        prepare: async (mailroot) => {
          await fs.mkdir(path.join(mailroot, '.winpop'), { recursive: true, mode: 0o700 });
          await fs.chmod(path.dirname(mailroot), 0o777);
          return controlSocketPath(mailroot);
        },
        refusal: /a folder above it, can be written by other users \(mode 0777\) and is not sticky/,
      },
    ];
    for (const [i, { name, prepare, refusal }] of cases.entries()) {
      const mailroot = path.join(dir.path, `client-${i}`, 'mail');
      const listening = await prepare(mailroot);
      const impostor = await recordingListener(listening);
      try {
        const err = await rejection(connectControl(mailroot, 'victim'));
        assert.equal(err.code, 'NOT_ALLOWED', `${name}: ${err.message}`);
        assert.match(err.message, refusal, name);
        assert.equal(impostor.connections(), 0, `${name}: the impostor was not even connected to (it got ${JSON.stringify(impostor.received())})`);
      } finally {
        await impostor.close();
      }
    }
  });
});
