/**
 * Real mail clients over TLS against the whole service: curl (pop3s:// and
 * pop3:// --ssl-reqd), Python's poplib (POP3_SSL and stls()) and smtplib
 * (starttls()), and mpop (POP3S and STLS). Each trusts only the certificate
 * the service made, so a pass also proves the certificate is verifiable for
 * 127.0.0.1 and is the one all three protocols present.
 */

import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { python } from '../helpers/python.js';
import { requireTool } from '../helpers/tools.js';
import { run } from '../pop3/support.js';
import { fingerprintOf, removeDir, startTestHost, type TestHost } from './tls-support.js';

const ADDRESS = 'alice@example.com';
const PASSWORD = 'Alice-TLS-9';
const MESSAGES = ['Subject: first\n\nHello over TLS.\n', 'Subject: second\n\n.dotted line\nend\n'];
/** Line ends as LF, to compare what a client fetched (SMTP added a Received: field on top) with what was sent. */
const lf = (text: string): string => text.replace(/\r\n/g, '\n');

describe('real clients over TLS', () => {
  let t: TestHost;
  let caFile: string;
  let pop3: number;
  let pop3s: number;

  before(async () => {
    t = await startTestHost();
    const info = t.host.info();
    assert.equal(info.tls?.certificate?.generated, true, JSON.stringify(info.tls));
    caFile = info.tls.certificate.certFile;
    pop3 = t.host.pop3Port as number;
    pop3s = t.host.pop3sPort as number;
    assert.ok(pop3s > 0, JSON.stringify(info.listeners));
    await t.host.admin.addDomain({ domain: 'example.com' });
    await t.host.admin.addMailbox({ address: ADDRESS, password: PASSWORD });
  });
  after(async () => {
    await t?.stop();
    if (t) await removeDir(t.dir);
  });

  /** Sends MESSAGES again through SMTP once a client has fetched and deleted them. */
  async function refill(): Promise<void> {
    const listed = await t.host.admin.listMailboxes({ domain: 'example.com' });
    const have = listed.find((m) => m.address === ADDRESS)?.messages ?? 0;
    if (have > 0) return;
    await python(
      `
import smtplib
with smtplib.SMTP('127.0.0.1', ARGS['port'], timeout=20) as s:
    for m in ARGS['messages']:
        s.sendmail('sender@example.org', [ARGS['to']], m.replace('\\n', '\\r\\n').encode())
`,
      { port: t.host.smtpPort, to: ADDRESS, messages: MESSAGES },
    );
  }

  it('curl: pop3s:// and pop3:// with --ssl-reqd (STLS), verifying the generated certificate', async (ctx) => {
    const curl = await requireTool(ctx, 'curl', 'curl');
    if (curl === null) return;
    await refill();
    const auth = ['-u', `${ADDRESS}:${PASSWORD}`];
    const implicit = await run(curl, ['-sS', '--max-time', '10', '--cacert', caFile, ...auth, `pop3s://127.0.0.1:${pop3s}/`]);
    assert.equal(implicit.code, 0, implicit.stderr);
    assert.equal(implicit.stdout.split('\r\n').filter((l) => l !== '').length, MESSAGES.length);

    const insecure = await run(curl, ['-sS', '--max-time', '10', '-k', ...auth, `pop3s://127.0.0.1:${pop3s}/1`]);
    assert.equal(insecure.code, 0, insecure.stderr);

    const stls = await run(curl, ['-sS', '-v', '--max-time', '10', '--ssl-reqd', '--cacert', caFile, ...auth, `pop3://127.0.0.1:${pop3}/2`]);
    assert.equal(stls.code, 0, stls.stderr);
    assert.match(stls.stderr, /^> STLS\r?$/m);
    assert.match(stls.stderr, /^< \+OK Begin TLS negotiation/m);
    assert.ok(lf(stls.stdout).endsWith(MESSAGES[1] as string), stls.stdout);

    // The check is real: without being told to trust it, curl refuses the self-signed certificate.
    const untrusted = await run(curl, ['-sS', '--max-time', '10', ...auth, `pop3s://127.0.0.1:${pop3s}/`]);
    // 60: CURLE_PEER_FAILED_VERIFICATION, refused for the certificate and for nothing else.
    assert.equal(untrusted.code, 60, untrusted.stderr);
    assert.match(untrusted.stderr, /self.signed certificate/i);
  });

  it('Python poplib: POP3_SSL and POP3.stls() with a context that trusts only the generated certificate', async () => {
    await refill();
    const [out] = await python<{ ssl: string[]; stls: string[]; capaBefore: string[]; capaAfter: string[]; retr: string }>(
      `
import base64, poplib, ssl
ctx = ssl.create_default_context(cafile=ARGS['ca'])
p = poplib.POP3_SSL('127.0.0.1', ARGS['pop3s'], context=ctx, timeout=10)
p.user(ARGS['user'])
ok = p.pass_(ARGS['password']).decode()
ssl_info = [ok, p.sock.version()]
lines = p.retr(1)[1]
retr = base64.b64encode(b'\\r\\n'.join(lines) + b'\\r\\n').decode()
p.quit()
q = poplib.POP3('127.0.0.1', ARGS['pop3'], timeout=10)
before = sorted(q.capa().keys())
q.stls(context=ctx)
after = sorted(q.capa().keys())
q.user(ARGS['user'])
ok = q.pass_(ARGS['password']).decode()
stls_info = [ok, q.sock.version()]
q.quit()
print(json.dumps({'ssl': ssl_info, 'stls': stls_info, 'capaBefore': before, 'capaAfter': after, 'retr': retr}))
`,
      { ca: caFile, pop3s, pop3, user: ADDRESS, password: PASSWORD },
    );
    assert.ok(out);
    assert.match(out.ssl[0] as string, /^\+OK Logged in/);
    assert.equal(out.ssl[1], 'TLSv1.3', 'both ends offer TLS 1.3, so it is chosen');
    assert.ok(lf(Buffer.from(out.retr, 'base64').toString()).endsWith(MESSAGES[0] as string), out.retr);
    assert.match(out.stls[0] as string, /^\+OK Logged in/);
    assert.equal(out.stls[1], 'TLSv1.3');
    assert.ok(out.capaBefore.includes('STLS') && !out.capaAfter.includes('STLS'));
  });

  it('Python poplib refuses the certificate with the system trust store: it is self-signed, as Server Properties says', async () => {
    const [out] = await python<{ error: string }>(
      `
import poplib, ssl
try:
    poplib.POP3_SSL('127.0.0.1', ARGS['pop3s'], context=ssl.create_default_context(), timeout=10)
    print(json.dumps({'error': ''}))
except ssl.SSLCertVerificationError as e:
    print(json.dumps({'error': e.verify_message}))
`,
      { pop3s },
    );
    assert.match(out?.error ?? '', /self.signed/i);
    assert.equal(t.host.info().tls?.certificate?.selfSigned, true);
  });

  it('mpop: POP3S, STLS, and STLS without certificate checking, each fetching the mail', async (ctx) => {
    const mpop = await requireTool(ctx, 'mpop', 'mpop');
    if (mpop === null) return;
    const variants: [string, string[]][] = [
      ['pop3s', ['tls on', 'tls_starttls off', `tls_trust_file ${caFile}`, 'auth plain', `port ${pop3s}`]],
      ['stls', ['tls on', 'tls_starttls on', `tls_trust_file ${caFile}`, 'auth user', `port ${pop3}`]],
      ['nocheck', ['tls on', 'tls_starttls on', 'tls_certcheck off', 'auth plain', `port ${pop3}`]],
    ];
    for (const [name, lines] of variants) {
      await refill();
      const home = path.join(t.dir, `mpop-${name}`);
      const maildir = path.join(home, 'Maildir');
      for (const sub of ['tmp', 'new', 'cur']) await mkdir(path.join(maildir, sub), { recursive: true });
      const config = path.join(home, 'mpoprc');
      await writeFile(
        config,
        ['defaults', `uidls_file ${path.join(home, 'uidls')}`, 'account test', 'host 127.0.0.1', ...lines, `user ${ADDRESS}`, `password ${PASSWORD}`, `delivery maildir ${maildir}`, 'keep off', ''].join('\n'),
      );
      await chmod(config, 0o600);
      const result = await run(mpop, ['--file', config, '--quiet', 'test'], { env: { ...process.env, HOME: home } });
      assert.equal(result.code, 0, `mpop (${name}) failed: ${result.stderr}${result.stdout}`);
      const files = await readdir(path.join(maildir, 'new'));
      assert.equal(files.length, MESSAGES.length, name);
      const bodies = await Promise.all(files.map((f) => readFile(path.join(maildir, 'new', f), 'utf8')));
      for (const message of MESSAGES) assert.ok(bodies.some((b) => lf(b).endsWith(message)), `${name}: ${JSON.stringify(message)} not in ${JSON.stringify(bodies)}`);
      const [mailbox] = await t.host.admin.listMailboxes({ domain: 'example.com' });
      assert.equal(mailbox?.messages, 0, `${name}: keep off deletes what was fetched`);
    }
  });

  it('smtplib: STARTTLS with the same certificate, then delivery', async () => {
    const before = (await t.host.admin.listMailboxes({ domain: 'example.com' }))[0]?.messages;
    const [out] = await python<{ before: boolean; after: boolean; refused: Record<string, unknown>; cert: string; version: string }>(
      `
import base64, smtplib, ssl
ctx = ssl.create_default_context(cafile=ARGS['ca'])
with smtplib.SMTP('127.0.0.1', ARGS['port'], timeout=20) as s:
    s.ehlo('client.example.org')
    before = s.has_extn('starttls')
    s.starttls(context=ctx)
    s.ehlo('client.example.org')
    after = s.has_extn('starttls')
    cert = base64.b64encode(s.sock.getpeercert(binary_form=True)).decode()
    version = s.sock.version()
    refused = s.sendmail('sender@example.org', [ARGS['to']], b'Subject: encrypted\\r\\n\\r\\nSent over STARTTLS.\\r\\n')
print(json.dumps({'before': before, 'after': after, 'refused': refused, 'cert': cert, 'version': version}))
`,
      { ca: caFile, port: t.host.smtpPort, to: ADDRESS },
    );
    assert.ok(out);
    assert.equal(out.before, true, 'EHLO offers STARTTLS');
    assert.equal(out.after, false, 'not again once TLS is on');
    assert.deepEqual(out.refused, {});
    assert.equal(out.version, 'TLSv1.3');
    const der = Buffer.from(out.cert, 'base64');
    const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
    assert.equal(fingerprintOf(pem), t.host.info().tls?.certificate?.fingerprint256);
    const drop = await t.host.admin.listMailboxes({ domain: 'example.com' });
    assert.equal(typeof before, 'number');
    assert.equal(drop[0]?.messages, (before as number) + 1, 'the message sent over STARTTLS was delivered, once');
  });
});
