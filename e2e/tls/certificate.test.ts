/**
 * The certificate: made once when none is configured (stored privately and
 * reused, so its fingerprint stays), a configured one used instead, and a bad
 * configured one reported with the file and the fix while plain POP3 and SMTP
 * keep serving. Through the service in-process and through `pop3svc`.
 */

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generate } from 'selfsigned';
import { fqdnFromHosts } from '../../electron/service/tls/host-identity.js';
import { setUpTls } from '../../electron/service/tls/setup.js';
import { startPop3svc, winpop } from '../helpers/processes.js';
import { popFetchAll, python } from '../helpers/python.js';
import { requireTool } from '../helpers/tools.js';
import { run } from '../pop3/support.js';
import { capturingLogger, fingerprintOf, presentedFingerprint, removeDir, startTestHost, starttlsFingerprint } from './tls-support.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'winpop-cert-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await removeDir(dir);
});

/** A certificate and key as an administrator would configure them (from a CA, here self-made). */
async function keyPair(commonName: string): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: commonName }, { type: 7, ip: '127.0.0.1' }] }],
  });
  return { cert: pems.cert, key: pems.private };
}

describe('the self-signed certificate', () => {
  it('is made on first start, stored with a private key file, shown in serverInfo and the log, and reused with the same fingerprint', async () => {
    const dir = await tempDir();
    const first = await startTestHost({ dir });
    let fingerprint: string;
    let certMtime: number;
    try {
      const info = first.host.info();
      const cert = info.tls?.certificate;
      assert.ok(cert, JSON.stringify(info.tls));
      assert.equal(cert.generated, true);
      assert.equal(cert.selfSigned, true);
      assert.equal(cert.certFile, path.join(first.mailroot, '.winpop', 'tls', 'cert.pem'));
      assert.equal(cert.keyFile, path.join(first.mailroot, '.winpop', 'tls', 'key.pem'));
      for (const name of ['DNS:localhost', 'IP Address:127.0.0.1']) assert.ok(cert.altNames.includes(name), cert.altNames.join(', '));
      assert.match(cert.subject, /^CN=/);
      assert.match(cert.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      assert.ok(Date.parse(cert.validTo) > Date.now() + 365 * 24 * 3600 * 1000, `valid until ${cert.validTo}`);
      if (process.platform !== 'win32') {
        assert.equal((await stat(cert.keyFile)).mode & 0o777, 0o600, 'the key is readable by the service only');
        assert.equal((await stat(path.dirname(cert.keyFile))).mode & 0o077, 0, 'and so is its folder');
      }
      // The one in the files is the one POP3S presents.
      assert.equal(fingerprintOf(await readFile(cert.certFile, 'utf8')), cert.fingerprint256);
      assert.equal(await presentedFingerprint(first.host.pop3sPort as number), cert.fingerprint256);

      const log = first.logs.text();
      assert.match(log, /WARN {2}tls: using a self-signed certificate made now .*configure tlsCertFile\/tlsKeyFile/);
      assert.ok(log.includes(cert.fingerprint256));
      const key = await readFile(cert.keyFile, 'utf8');
      assert.ok(!log.includes(key.split('\n')[1] as string), 'no key material in the log');
      fingerprint = cert.fingerprint256;
      certMtime = (await stat(cert.certFile)).mtimeMs;
    } finally {
      await first.stop();
    }

    const second = await startTestHost({ dir });
    try {
      const cert = second.host.info().tls?.certificate;
      assert.equal(cert?.fingerprint256, fingerprint, 'a restart keeps the certificate');
      assert.equal((await stat(cert.certFile)).mtimeMs, certMtime, 'and does not rewrite it');
      assert.equal(await presentedFingerprint(second.host.pop3sPort as number), fingerprint);
      assert.match(second.logs.text(), /using a self-signed certificate made earlier/);
    } finally {
      await second.stop();
    }
  });

  it('is made anew when its files are damaged', async () => {
    const dir = await tempDir();
    const first = await startTestHost({ dir });
    const cert = first.host.info().tls?.certificate;
    await first.stop();
    assert.ok(cert);
    await writeFile(cert.certFile, 'not a certificate\n');
    const second = await startTestHost({ dir });
    try {
      const again = second.host.info().tls?.certificate;
      assert.equal(again?.generated, true);
      assert.notEqual(again.fingerprint256, cert.fingerprint256);
      assert.match(second.logs.text(), /making a new self-signed certificate reason="the certificate file is damaged"/);
    } finally {
      await second.stop();
    }
  });
});

/** The SANs of a PEM certificate as openssl prints them (`DNS:…`, `IP Address:…`). */
async function opensslAltNames(certFile: string): Promise<string[]> {
  const r = await run('openssl', ['x509', '-noout', '-ext', 'subjectAltName', '-in', certFile]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').slice(1).join(',').split(',').map((n) => n.trim()).filter((n) => n !== '');
}

/** This machine's addresses as the certificate should name them, read here without the service's code. */
function machineAddresses(): string[] {
  const found = Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => !a.internal && !(a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')))
    .map((a) => a.address);
  return ['127.0.0.1', '::1', ...found];
}

/** openssl prints IPv6 in full (0:0:0:0:0:0:0:1); Node's X509Certificate checks it in any form. */
function coversAddress(x509: X509Certificate, address: string): boolean {
  return x509.checkIP(address) !== undefined;
}

describe('the names and addresses in the self-signed certificate', () => {
  it('names the host, localhost, loopback and every network address of this machine, as openssl reads it', async (ctx) => {
    const openssl = await requireTool(ctx, 'openssl', 'openssl');
    if (openssl === null) return;
    const t = await startTestHost({ dir: await tempDir() });
    try {
      const cert = t.host.info().tls?.certificate;
      assert.ok(cert);
      const names = await opensslAltNames(cert.certFile);
      const host = os.hostname().toLowerCase();
      assert.equal(names[0], `DNS:${host}`, names.join(', '));
      assert.ok(names.includes('DNS:localhost'), names.join(', '));
      assert.equal(cert.subject, `CN=${host}`);
      const x509 = new X509Certificate(await readFile(cert.certFile, 'utf8'));
      for (const address of machineAddresses()) assert.ok(coversAddress(x509, address), `${address} is not in ${names.join(', ')}`);
      assert.ok(names.includes('IP Address:127.0.0.1') && names.some((n) => /^IP Address:(0:0:0:0:0:0:0:1|::1)$/.test(n)), names.join(', '));
      assert.equal(names.filter((n) => n.startsWith('IP Address:')).length, machineAddresses().length, 'no address of another machine');
    } finally {
      await t.stop();
    }
  });

  it('the fully qualified name comes from the hosts file line that lists the host name', () => {
    const hosts = '# comment vm.example.com\n127.0.0.1 localhost\n192.0.2.5 vm.corp.example.com vm # office\n192.0.2.6 other.example.com vm2\n';
    assert.equal(fqdnFromHosts(hosts, 'vm'), 'vm.corp.example.com');
    assert.equal(fqdnFromHosts(hosts, 'VM'), 'vm.corp.example.com');
    assert.equal(fqdnFromHosts(hosts, 'vm2'), null, 'a canonical name of another host is not ours');
    assert.equal(fqdnFromHosts('127.0.1.1 box\n', 'box'), null);
  });

  it('is made anew when the computer was renamed; a new address only gets a warning, keeping the fingerprint users accepted', async () => {
    const mailroot = path.join(await tempDir(), 'mail');
    const logs = capturingLogger();
    const setUp = (names: string[], addresses: string[]) =>
      setUpTls({ certFile: null, keyFile: null, mailroot, hostName: names[0] as string, identity: { names, addresses }, log: logs.log });
    const first = (await setUp(['old-name', 'localhost'], ['127.0.0.1', '::1'])).material?.certificate;
    assert.ok(first);
    assert.deepEqual(first.altNames, ['DNS:old-name', 'DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1']);

    const moved = (await setUp(['old-name', 'localhost'], ['127.0.0.1', '::1', '198.51.100.7'])).material?.certificate;
    assert.equal(moved?.fingerprint256, first.fingerprint256, 'a new address keeps the certificate');
    assert.match(logs.text(), /WARN {2}tls: the self-signed certificate does not name this computer's address 198\.51\.100\.7; .*Remove \S*cert\.pem and restart the service for a new one/);

    const renamed = (await setUp(['new-name', 'localhost'], ['127.0.0.1', '::1', '198.51.100.7'])).material?.certificate;
    assert.ok(renamed);
    assert.notEqual(renamed.fingerprint256, first.fingerprint256);
    assert.deepEqual(renamed.altNames, ['DNS:new-name', 'DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1', 'IP Address:198.51.100.7']);
    assert.match(logs.text(), /making a new self-signed certificate reason="it does not name this computer as new-name"/);
  });
});

describe('a configured certificate', () => {
  it('is used instead, for POP3S and STARTTLS, and no self-signed one is made', async () => {
    const dir = await tempDir();
    const pair = await keyPair('mail.example.test');
    await writeFile(path.join(dir, 'server.crt'), pair.cert);
    await writeFile(path.join(dir, 'server.key'), pair.key, { mode: 0o600 });
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ tlsCertFile: path.join(dir, 'server.crt'), tlsKeyFile: path.join(dir, 'server.key') }));
    const t = await startTestHost({ dir });
    try {
      const cert = t.host.info().tls?.certificate;
      assert.ok(cert, JSON.stringify(t.host.info().tls));
      assert.equal(cert.generated, false);
      assert.equal(cert.subject, 'CN=mail.example.test');
      assert.equal(cert.certFile, path.join(dir, 'server.crt'));
      assert.equal(cert.fingerprint256, fingerprintOf(pair.cert));
      assert.equal(await presentedFingerprint(t.host.pop3sPort as number), cert.fingerprint256);
      assert.equal(await starttlsFingerprint(t.host.smtpPort as number), cert.fingerprint256);
      await assert.rejects(stat(path.join(t.mailroot, '.winpop', 'tls', 'cert.pem')), { code: 'ENOENT' });
      assert.doesNotMatch(t.logs.text(), /self-signed/);
    } finally {
      await t.stop();
    }
  });
});

describe('a bad configured certificate or key', () => {
  /**
   * Starts the service with these settings and checks: TLS off with `expected`
   * in the error; with `serving`, also that real clients still get and fetch mail.
   */
  async function expectTlsOff(settings: Record<string, string | null>, expected: RegExp, serving = false): Promise<void> {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(settings));
    const t = await startTestHost({ dir });
    try {
      const info = t.host.info();
      assert.equal(info.tls?.certificate, null);
      const error = info.tls?.error ?? '';
      assert.match(error, expected);
      assert.match(error, /winpop set certfile PATH, winpop set keyfile PATH/, 'the error says how to fix it');
      assert.match(error, /plain POP3 and SMTP keep running/);
      const pop3s = info.listeners.find((l) => l.protocol === 'pop3s');
      assert.equal(pop3s?.listening, false);
      assert.equal(pop3s?.error, error);
      assert.ok(t.logs.text().includes(error), 'the log has the same error');
      assert.equal(t.host.pop3sPort, null);
      if (!serving) return;

      // Plain POP3 still serves, without offering STLS; SMTP still delivers, without STARTTLS.
      await t.host.admin.addDomain({ domain: 'example.com' });
      await t.host.admin.addMailbox({ address: 'bob@example.com', password: 'Bob-pw-1' });
      const [smtp] = await python<{ starttls: boolean }>(
        `
import smtplib
with smtplib.SMTP('127.0.0.1', ARGS['port'], timeout=20) as s:
    s.ehlo('client.example.org')
    starttls = s.has_extn('starttls')
    s.sendmail('a@example.org', ['bob@example.com'], b'Subject: still here\\r\\n\\r\\nplain\\r\\n')
print(json.dumps({'starttls': starttls}))
`,
        { port: t.host.smtpPort },
      );
      assert.equal(smtp?.starttls, false);
      const fetched = await popFetchAll(t.host.pop3Port as number, 'bob@example.com', 'Bob-pw-1');
      assert.ok(!('error' in fetched), JSON.stringify(fetched));
      assert.equal(fetched.count, 1);
      const [capa] = await python<string[]>(
        `
import poplib
p = poplib.POP3('127.0.0.1', ARGS['port'], timeout=10)
print(json.dumps(sorted(p.capa().keys())))
p.quit()
`,
        { port: t.host.pop3Port },
      );
      assert.ok(capa && !capa.includes('STLS'), JSON.stringify(capa));
    } finally {
      await t.stop();
    }
  }

  it('a certificate file that is not a certificate', async () => {
    const dir = await tempDir();
    const pair = await keyPair('mail.example.test');
    const certFile = path.join(dir, 'garbage.crt');
    const keyFile = path.join(dir, 'good.key');
    await writeFile(certFile, 'hello, I am not a certificate\n');
    await writeFile(keyFile, pair.key, { mode: 0o600 });
    await expectTlsOff({ tlsCertFile: certFile, tlsKeyFile: keyFile }, new RegExp(`^TLS is off: the certificate file ${certFile} is not a PEM certificate`), true);
  });

  it('a key that belongs to another certificate', async () => {
    const dir = await tempDir();
    const [one, two] = await Promise.all([keyPair('one.example.test'), keyPair('two.example.test')]);
    await writeFile(path.join(dir, 'one.crt'), one.cert);
    await writeFile(path.join(dir, 'two.key'), two.key, { mode: 0o600 });
    await expectTlsOff(
      { tlsCertFile: path.join(dir, 'one.crt'), tlsKeyFile: path.join(dir, 'two.key') },
      new RegExp(`the private key ${path.join(dir, 'two.key')} does not belong to the certificate ${path.join(dir, 'one.crt')}`),
    );
  });

  it('a missing key file, and a key setting left out', async () => {
    const dir = await tempDir();
    const pair = await keyPair('mail.example.test');
    await writeFile(path.join(dir, 'server.crt'), pair.cert);
    await expectTlsOff({ tlsCertFile: path.join(dir, 'server.crt'), tlsKeyFile: path.join(dir, 'missing.key') }, new RegExp(`the private key file ${path.join(dir, 'missing.key')} does not exist`));
    await expectTlsOff({ tlsCertFile: path.join(dir, 'server.crt') }, /tlsCertFile is set \(.*server\.crt\) but tlsKeyFile is not; set both \(winpop set keyfile PATH\)/);
  });
});

describe('pop3svc', () => {
  it('shows the POP3S port in its ready line, keeping pop3= and smtp= first', async () => {
    const dir = await tempDir();
    const service = await startPop3svc(path.join(dir, 'mail'), path.join(dir, 'config.json'), ['--pop3s-port', '0']);
    try {
      const ready = /pop3svc ready .* pop3=127\.0\.0\.1:(\d+) smtp=127\.0\.0\.1:(\d+) pop3s=127\.0\.0\.1:(\d+) /.exec(service.output());
      assert.ok(ready, service.output());
      assert.equal(Number(ready[1]), service.pop3Port);
      const fingerprint = await presentedFingerprint(Number(ready[3]));
      assert.equal(fingerprint, fingerprintOf(await readFile(path.join(dir, 'mail', '.winpop', 'tls', 'cert.pem'), 'utf8')));
      assert.match(service.output(), /using a self-signed certificate/);
    } finally {
      assert.equal(await service.stop(), 0, service.output());
    }
  });

  it('with a bad certificate: says which file and how to fix it, keeps running, and serves plain POP3', async () => {
    const dir = await tempDir();
    const certFile = path.join(dir, 'broken.pem');
    await writeFile(certFile, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ tlsCertFile: certFile, tlsKeyFile: certFile }));
    const service = await startPop3svc(path.join(dir, 'mail'), path.join(dir, 'config.json'), ['--pop3s-port', '0']);
    try {
      // The warning goes to stderr, which may arrive after the ready line on stdout.
      for (let waited = 0; !service.output().includes('pop3svc: warning') && waited < 5000; waited += 20) await sleep(20);
      const output = service.output();
      assert.match(output, /ERROR TLS is off: the certificate file .*broken\.pem is damaged/);
      assert.match(output, new RegExp(`pop3svc: warning: TLS is off: the certificate file ${certFile} is damaged .*winpop set certfile PATH`));
      assert.match(output, /pop3svc ready .* pop3s=off/);
      const fetched = await popFetchAll(service.pop3Port, 'nobody@example.com', 'x');
      assert.ok('error' in fetched);
      assert.match(fetched.error, /^-ERR \[AUTH\] Invalid user name or password/, 'POP3 answers');
    } finally {
      assert.equal(await service.stop(), 0, service.output());
    }
  });
});

describe('winpop get and set for TLS', () => {
  it('sets pop3sport, certfile and keyfile (made absolute; none clears them) and gets them back', async () => {
    const dir = await tempDir();
    const config = path.join(dir, 'config.json');
    const admin = (...args: string[]) => winpop(['--mailroot', path.join(dir, 'mail'), '--config', config, ...args]);

    let r = await admin('get', 'certfile');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'none (a self-signed certificate is used)');
    r = await admin('get', 'pop3sport');
    assert.equal(r.stdout.trim(), '995');

    r = await admin('set', 'pop3sport', '9995');
    assert.equal(r.code, 0, r.stderr);
    r = await admin('set', 'certfile', path.join(dir, 'server.crt'));
    assert.equal(r.code, 0, r.stderr);
    r = await admin('set', 'keyfile', path.join(dir, 'server.key'));
    assert.equal(r.code, 0, r.stderr);
    const saved = JSON.parse(await readFile(config, 'utf8')) as { pop3sPort: number; tlsCertFile: string | null; tlsKeyFile: string | null };
    assert.deepEqual([saved.pop3sPort, saved.tlsCertFile, saved.tlsKeyFile], [9995, path.join(dir, 'server.crt'), path.join(dir, 'server.key')]);
    r = await admin('--json', 'get', 'keyfile');
    assert.deepEqual(JSON.parse(r.stdout), { keyfile: path.join(dir, 'server.key') });

    r = await admin('set', 'certfile', 'none');
    assert.equal(r.code, 0, r.stderr);
    r = await admin('get', 'certfile');
    assert.equal(r.stdout.trim(), 'none (a self-signed certificate is used)');

    r = await admin('set', 'pop3sport', '70000');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /pop3sPort must be from 1 to 65535; got 70000/);
  });
});
