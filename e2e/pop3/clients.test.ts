/**
 * Real POP3 clients against the real listener and store: Python's poplib,
 * curl and mpop fetch, list and delete mail, byte for byte.
 */

import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { requireTool } from '../helpers/tools.js';
import { run, seedMailbox, wireForm, useStoreAndServer } from './support.js';

const PLAIN = 'From: a@example.com\nTo: alice@example.com\nSubject: plain\n\nHello Alice.\nSecond line.\n';
/** Lines starting with "." (a lone "." would end the response if not stuffed) and CRLF as delivered by SMTP. */
const DOTTED = 'Subject: dots\r\n\r\n.\r\n..two dots\r\n.leading dot\r\nmiddle . dot\r\n.\r\nend\r\n';
const LONG_BODY = 'Subject: top test\nX-Extra: yes\n\nbody 1\nbody 2\n.body 3\nbody 4\n';
const MESSAGES = [PLAIN, DOTTED, LONG_BODY];

const POPLIB_SCRIPT = String.raw`
import base64, json, poplib, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = poplib.POP3('127.0.0.1', port, timeout=10)
out = {'welcome': p.getwelcome().decode()}
out['capa'] = sorted(p.capa().keys())
p.user(user)
p.pass_(password)
out['stat'] = list(p.stat())
resp, lines, _ = p.list()
out['list'] = [l.decode() for l in lines]
resp, lines, _ = p.uidl()
out['uidl'] = [l.decode() for l in lines]
out['retr'] = []
for n in range(1, out['stat'][0] + 1):
    resp, lines, octets = p.retr(n)
    out['retr'].append(base64.b64encode(b'\r\n'.join(lines) + b'\r\n').decode())
resp, lines, _ = p.top(3, 2)
out['top'] = base64.b64encode(b'\r\n'.join(lines) + b'\r\n').decode()
out['dele'] = p.dele(1).decode()
out['quit'] = p.quit().decode()
print(json.dumps(out))
`;

describe('POP3 with real clients', () => {
  const fx = useStoreAndServer();

  it('Python poplib: stat, list, uidl, retr, top, dele, quit, byte-exact with dot-stuffing', async () => {
    await seedMailbox(fx.t.store, 'alice@example.com', 'alice-pw', MESSAGES);
    const result = await run('python3', ['-c', POPLIB_SCRIPT, String(fx.srv.port), 'alice@example.com', 'alice-pw']);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as { welcome: string; capa: string[]; stat: number[]; list: string[]; uidl: string[]; retr: string[]; top: string; dele: string; quit: string };

    assert.match(out.welcome, /^\+OK pop3\.test /);
    for (const cap of ['TOP', 'UIDL', 'USER', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE']) assert.ok(out.capa.includes(cap), `CAPA lacks ${cap}`);
    assert.ok(out.capa.includes('SASL'), 'CAPA offers SASL (AUTH PLAIN)');
    assert.ok(!out.capa.includes('STLS'), 'a listener without a certificate must not offer STLS');

    const wire = MESSAGES.map(wireForm);
    assert.deepEqual(out.stat, [3, wire.reduce((sum, w) => sum + w.length, 0)]);
    assert.deepEqual(out.list, wire.map((w, i) => `${i + 1} ${w.length}`));
    assert.equal(out.uidl.length, 3);
    assert.equal(new Set(out.uidl.map((l) => l.split(' ')[1])).size, 3, 'UIDLs must differ');
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(Buffer.from(out.retr[i] as string, 'base64'), wire[i], `message ${i + 1} differs`);
    }
    assert.equal(Buffer.from(out.top, 'base64').toString(), 'Subject: top test\r\nX-Extra: yes\r\n\r\nbody 1\r\nbody 2\r\n');
    assert.match(out.dele, /^\+OK/);
    assert.match(out.quit, /^\+OK/);

    const drop = await fx.t.store.openMaildrop('alice@example.com');
    assert.equal(drop.messages.length, 2, 'DELE 1 applied at QUIT');
  });

  it('curl pop3://: lists and retrieves with user@domain credentials', async (ctx) => {
    const curl = await requireTool(ctx, 'curl', 'curl');
    if (curl === null) return;
    await seedMailbox(fx.t.store, 'bob@example.com', 'bob pw:with colon', [PLAIN, DOTTED]);
    const base = `pop3://127.0.0.1:${fx.srv.port}/`;
    const auth = ['-u', 'bob@example.com:bob pw:with colon'];
    const list = await run(curl, ['-sS', '--max-time', '10', ...auth, base]);
    assert.equal(list.code, 0, list.stderr);
    const wire = [PLAIN, DOTTED].map(wireForm);
    assert.equal(list.stdout, wire.map((w, i) => `${i + 1} ${w.length}\r\n`).join(''));

    const retr = await run(curl, ['-sS', '--max-time', '10', ...auth, `${base}2`]);
    assert.equal(retr.code, 0, retr.stderr);
    assert.equal(retr.stdout, wire[1]?.toString());

    const encoded = await run(curl, ['-sS', '--max-time', '10', `pop3://bob%40example.com:bob%20pw%3Awith%20colon@127.0.0.1:${fx.srv.port}/1`]);
    assert.equal(encoded.code, 0, encoded.stderr);
    assert.equal(encoded.stdout, wire[0]?.toString());

    const wrong = await run(curl, ['-sS', '--max-time', '10', '-u', 'bob@example.com:nope', base]);
    // 67: CURLE_LOGIN_DENIED, the password refused, not some other failure on the way.
    assert.equal(wrong.code, 67, `a wrong password must be refused at log-in: ${wrong.stderr}`);
    assert.match(wrong.stderr, /Login denied/);
  });

  it('mpop: fetches everything into a Maildir and deletes it from the server', async (ctx) => {
    const mpop = await requireTool(ctx, 'mpop', 'mpop');
    if (mpop === null) return;
    await seedMailbox(fx.t.store, 'carol@example.com', 'carol-pw', MESSAGES);
    const home = path.join(fx.t.root, '..', `${path.basename(fx.t.root)}-mpop`);
    const maildir = path.join(home, 'Maildir');
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(path.join(maildir, sub), { recursive: true });
    const config = path.join(home, 'mpoprc');
    await writeFile(
      config,
      [
        'defaults',
        'tls off',
        'auth user',
        `uidls_file ${path.join(home, 'uidls')}`,
        'account test',
        'host 127.0.0.1',
        `port ${fx.srv.port}`,
        'user carol@example.com',
        'password carol-pw',
        `delivery maildir ${maildir}`,
        'keep off',
        '',
      ].join('\n'),
    );
    await chmod(config, 0o600);
    try {
      const result = await run(mpop, ['--file', config, '--quiet', 'test'], { env: { ...process.env, HOME: home } });
      assert.equal(result.code, 0, `mpop failed: ${result.stderr}${result.stdout}`);
      const files = await readdir(path.join(maildir, 'new'));
      assert.equal(files.length, 3);
      const bodies = await Promise.all(files.map((f) => readFile(path.join(maildir, 'new', f), 'utf8')));
      const fetched = bodies.map((b) => b.replace(/\r\n/g, '\n'));
      for (const message of MESSAGES) {
        const lf = message.replace(/\r\n/g, '\n');
        assert.ok(fetched.some((b) => b.endsWith(lf)), `no fetched message ends with ${JSON.stringify(lf)}`);
      }
      const drop = await fx.t.store.openMaildrop('carol@example.com');
      assert.equal(drop.messages.length, 0, 'keep off: mpop deleted what it fetched');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
