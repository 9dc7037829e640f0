/**
 * Where the service listens: by default on every IPv4 and every IPv6
 * address (Dovecot's `listen = *, ::`), all on one port per protocol; only
 * where the setting says when it is narrowed; `pop3svc --listen` for one
 * run; and an address the machine does not have is a clear failure.
 */

import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, describe, it } from 'node:test';
import { absentAddress, firstLine, hasIpv6Loopback, nonLoopbackAddress } from '../helpers/interfaces.js';
import { POP3SVC, run, startPop3svc } from '../helpers/processes.js';
import { removeDir, startTestHost } from '../tls/tls-support.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'winpop-listen-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await removeDir(dir);
});

/** The first line of POP3S after the TLS handshake, or the error code. */
function tlsFirstLine(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false });
    const done = (result: string): void => {
      socket.destroy();
      resolve(result);
    };
    let data = '';
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n')) done(data.slice(0, data.indexOf('\r\n')));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

const POP3_GREETING = /^\+OK .* POP3 service ready\.$/;
const SMTP_GREETING = /^220 /;

describe('listen addresses', () => {
  it('by default: every IPv4 and every IPv6 address, one port per protocol, reachable over 127.0.0.1 and ::1', async (ctx) => {
    const t = await startTestHost({ dir: await tempDir() });
    try {
      const { host } = t;
      const pop3 = host.pop3Port as number;
      const smtp = host.smtpPort as number;
      const pop3s = host.pop3sPort as number;
      const listeners = Object.fromEntries(host.info().listeners.map((l) => [l.protocol, l]));
      const ipv6 = hasIpv6Loopback();
      for (const [protocol, port] of [['pop3', pop3], ['smtp', smtp], ['pop3s', pop3s]] as const) {
        assert.equal(listeners[protocol]?.listening, true, JSON.stringify(listeners[protocol]));
        assert.deepEqual(listeners[protocol]?.addresses, ipv6 ? [`0.0.0.0:${port}`, `[::]:${port}`] : [`0.0.0.0:${port}`]);
        assert.equal(listeners[protocol]?.address, listeners[protocol]?.addresses?.join(', '));
      }
      assert.match(await firstLine('127.0.0.1', pop3), POP3_GREETING);
      assert.match(await firstLine('127.0.0.1', smtp), SMTP_GREETING);
      assert.match(await tlsFirstLine('127.0.0.1', pop3s), POP3_GREETING);
      if (!ipv6) return ctx.skip('::1 is not configured on this machine (no IPv6 on loopback), so IPv6 cannot be tried');
      assert.match(await firstLine('::1', pop3), POP3_GREETING);
      assert.match(await firstLine('::1', smtp), SMTP_GREETING);
      assert.match(await tlsFirstLine('::1', pop3s), POP3_GREETING);
    } finally {
      await t.stop();
    }
  });

  it('listen 127.0.0.1 in the config file: reachable there only, not over ::1 nor over the machine\'s network address', async (ctx) => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ listen: ['127.0.0.1'] }));
    const t = await startTestHost({ dir });
    try {
      const pop3 = t.host.pop3Port as number;
      const smtp = t.host.smtpPort as number;
      assert.deepEqual(
        t.host.info().listeners.filter((l) => l.protocol !== 'control').map((l) => l.address),
        [`127.0.0.1:${pop3}`, `127.0.0.1:${smtp}`, `127.0.0.1:${t.host.pop3sPort}`],
      );
      assert.match(await firstLine('127.0.0.1', pop3), POP3_GREETING);
      assert.match(await firstLine('127.0.0.1', smtp), SMTP_GREETING);
      const elsewhere = [hasIpv6Loopback() ? '::1' : null, nonLoopbackAddress('IPv4'), nonLoopbackAddress('IPv6')].filter((a) => a !== null);
      for (const address of elsewhere) {
        assert.equal(await firstLine(address, pop3), 'ECONNREFUSED', `POP3 must not answer on ${address}`);
        assert.equal(await firstLine(address, smtp), 'ECONNREFUSED', `SMTP must not answer on ${address}`);
      }
      if (elsewhere.length === 0) ctx.skip('this machine has neither ::1 nor a network address, so "not reachable elsewhere" cannot be tried');
    } finally {
      await t.stop();
    }
  });

  it('listen ::1 in the config file: IPv6 loopback only, so 127.0.0.1 is refused', async (ctx) => {
    if (!hasIpv6Loopback()) return ctx.skip('::1 is not configured on this machine');
    const dir = await tempDir();
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ listen: ['::1'] }));
    const t = await startTestHost({ dir });
    try {
      const pop3 = t.host.pop3Port as number;
      assert.equal(t.host.info().listeners.find((l) => l.protocol === 'pop3')?.address, `[::1]:${pop3}`);
      assert.match(await firstLine('::1', pop3), POP3_GREETING);
      assert.equal(await firstLine('127.0.0.1', pop3), 'ECONNREFUSED');
      assert.equal(await firstLine('127.0.0.1', t.host.smtpPort as number), 'ECONNREFUSED');
    } finally {
      await t.stop();
    }
  });

  it('an address a wildcard already covers is bound once, not refused as a clash', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ listen: ['*', '127.0.0.1', '0.0.0.0'] }));
    const t = await startTestHost({ dir });
    try {
      const pop3 = t.host.info().listeners.find((l) => l.protocol === 'pop3');
      assert.deepEqual(pop3?.addresses, [`0.0.0.0:${t.host.pop3Port}`], JSON.stringify(pop3));
      assert.match(await firstLine('127.0.0.1', t.host.pop3Port as number), POP3_GREETING);
    } finally {
      await t.stop();
    }
  });

  it('pop3svc --listen overrides the setting for one run and its ready line lists every address', async (ctx) => {
    if (!hasIpv6Loopback()) return ctx.skip('::1 is not configured on this machine');
    const dir = await tempDir();
    const config = path.join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ listen: ['*'] }));
    const svc = await startPop3svc(path.join(dir, 'mail'), config, ['--listen', '127.0.0.1,::1']);
    try {
      const { pop3Port, smtpPort } = svc;
      assert.match(svc.output(), new RegExp(`pop3=127\\.0\\.0\\.1:${pop3Port},\\[::1\\]:${pop3Port} smtp=127\\.0\\.0\\.1:${smtpPort},\\[::1\\]:${smtpPort} `));
      assert.match(await firstLine('::1', pop3Port), POP3_GREETING);
      assert.match(await firstLine('::1', smtpPort), SMTP_GREETING);
      const network = nonLoopbackAddress('IPv4');
      if (network !== null) assert.equal(await firstLine(network, pop3Port), 'ECONNREFUSED', 'the setting * was overridden');
    } finally {
      assert.equal(await svc.stop(), 0);
    }
  });

  it('a bad --listen is a usage error (exit 2) that says what to type', async () => {
    const dir = await tempDir();
    const r = await run(process.execPath, [POP3SVC, '--mailroot', path.join(dir, 'mail'), '--config', path.join(dir, 'c.json'), '--listen', '127.0.0.1,mail.example.com']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^pop3svc: listen: "mail\.example\.com" is not a listen address: use \*, ::, or an IPv4 or IPv6 address\.$/m);
  });

  it('an address this machine does not have: pop3svc says so with the fix and exits 1', async () => {
    const dir = await tempDir();
    const missing = absentAddress();
    const config = path.join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ listen: ['127.0.0.1', missing] }));
    const ports = ['--pop3-port', '0', '--smtp-port', '0', '--pop3s-port', '0'];
    const r = await run(process.execPath, [POP3SVC, '--mailroot', path.join(dir, 'mail'), '--config', config, ...ports]);
    assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`pop3svc: POP3 cannot listen on ${missing.replace(/\./g, '\\.')}:\\d+: ${missing.replace(/\./g, '\\.')} is not an address of this computer\\. Choose its addresses with winpop set listen`));
    assert.doesNotMatch(r.stdout, /pop3svc ready/);
  });
});
