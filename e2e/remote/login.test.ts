/**
 * The admin endpoint over HTTPS, as curl and Node's https client see it: off
 * until its port is set (and off again at 0, without a restart); signing in
 * with the right password gives a session cookie with every protective flag,
 * a wrong one or an unknown name the same generic answer after POP3's
 * guessing penalty; log-out ends the session; a request from another
 * origin's page is refused and no answer carries a CORS header; one-time
 * links work once; the console's files are served only inside their folder,
 * with their types and a strict content security policy; TLS 1.1 and
 * non-ECDHE ciphers are refused.
 */

import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { SignInLinks } from '../../electron/service/admin/remote/sign-in-links.js';
import { run } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { requireTool } from '../helpers/tools.js';
import { cookieOf, eventually, freePort, postLogin, request, startEndpointHost, type EndpointHost, type HttpAnswer } from './support.js';

const ALICE = { name: 'alice', password: 'Alice-admin-pw-1' };
const GENERIC = '{"error":{"code":"NOT_ALLOWED","message":"The admin name or password is wrong."}}';

/** curl against the endpoint, trusting the service's certificate file; the status, headers (lower-case names) and body. */
async function curl(ctx: TestContext, t: EndpointHost, args: readonly string[], input?: string): Promise<HttpAnswer & { raw: string; exit: number | null }> {
  const program = await requireTool(ctx, 'curl', 'curl');
  assert.ok(program, 'curl is needed');
  const certFile = t.host.info().tls?.certificate?.certFile as string;
  const result = await run(program, ['-sS', '-i', '--cacert', certFile, ...args], input === undefined ? {} : { input });
  const raw = result.stdout;
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const lines = head.split('\r\n');
  const headers: Record<string, string | string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = headers[name];
    headers[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
  }
  return { status: Number(/^HTTP\/\S+ (\d+)/.exec(lines[0] ?? '')?.[1] ?? 0), headers, body: split < 0 ? '' : raw.slice(split + 4), raw, exit: result.code };
}

/** The security headers every answer must carry, and no CORS header. */
function assertProtected(answer: HttpAnswer, what: string): void {
  const csp = String(answer.headers['content-security-policy'] ?? '');
  assert.match(csp, /default-src 'none'/, `${what}: CSP`);
  assert.match(csp, /script-src 'self'(;|$)/, `${what}: scripts of this origin only`);
  assert.match(csp, /frame-ancestors 'none'/, `${what}: never framed`);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, `${what}: nothing inline, no wildcard`);
  assert.equal(answer.headers['x-content-type-options'], 'nosniff', what);
  assert.equal(answer.headers['x-frame-options'], 'DENY', what);
  assert.equal(answer.headers['referrer-policy'], 'same-origin', what);
  assert.equal(answer.headers['cache-control'], 'no-store', what);
  const cors = Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'));
  assert.deepEqual(cors, [], `${what}: no CORS header`);
}

describe('the admin endpoint is off by default, and follows its settings without a restart', () => {
  let t: EndpointHost;
  before(async () => {
    t = await startEndpointHost({ endpoint: false });
  });
  after(async () => {
    await t?.stop();
  });

  it('is off in a new service; setting adminport starts it on 127.0.0.1, and 0 stops it', async (ctx) => {
    const control = await t.control();
    try {
      const settings = await control.getSettings({});
      assert.equal(settings.adminPort, 0);
      assert.deepEqual(settings.adminListen, ['127.0.0.1']);
      assert.equal(t.host.info().listeners.find((l) => l.protocol === 'admin'), undefined, 'no admin listener while off');

      const port = await freePort();
      await control.setSettings({ patch: { adminPort: port } });
      await eventually(() => t.host.info().listeners.some((l) => l.protocol === 'admin' && l.listening), 'the endpoint to listen');
      assert.deepEqual(t.host.info().listeners.find((l) => l.protocol === 'admin')?.addresses, [`127.0.0.1:${port}`]);
      const on = await curl(ctx, { ...t, port } as EndpointHost, [`https://127.0.0.1:${port}/signin`]);
      assert.equal(on.status, 200, on.raw);
      assert.match(on.body, /<form method="post" action="\/api\/login">/);

      await control.setSettings({ patch: { adminPort: 0 } });
      await eventually(() => t.host.info().listeners.every((l) => l.protocol !== 'admin'), 'the endpoint to stop');
      const off = await curl(ctx, { ...t, port } as EndpointHost, [`https://127.0.0.1:${port}/signin`]);
      assert.equal(off.exit, 7, `curl cannot connect once it is off (exit 7), got ${off.exit}: ${off.raw}`);
    } finally {
      control.close();
    }
  });
});

describe('signing in and out', () => {
  let t: EndpointHost;
  before(async () => {
    t = await startEndpointHost({ admins: [ALICE] });
  });
  after(async () => {
    await t?.stop();
  });

  it('the right password (curl): 200, a __Host- cookie that is Secure, HttpOnly, SameSite=Strict, for / with a lifetime; the session works', async (ctx) => {
    const jar = path.join(t.dir.path, 'cookies.txt');
    const answer = await curl(ctx, t, ['-c', jar, '-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', '@-', `${t.origin}/api/login`], JSON.stringify(ALICE));
    assert.equal(answer.status, 200, answer.raw);
    assert.deepEqual(JSON.parse(answer.body), { admin: 'alice', computer: t.host.info().computer, idleSeconds: 1800 });
    const cookie = String(answer.headers['set-cookie']);
    assert.match(cookie, /^__Host-winpop-session=[A-Za-z0-9_-]{43}; /);
    const flags = cookie.split('; ').slice(1).sort();
    assert.deepEqual(flags, ['HttpOnly', 'Max-Age=43200', 'Path=/', 'SameSite=Strict', 'Secure']);
    assertProtected(answer, 'log-in');

    const session = await curl(ctx, t, ['-b', jar, `${t.origin}/api/session`]);
    assert.equal(session.status, 200, session.raw);
    assert.equal(JSON.parse(session.body).admin, 'alice');
    assertProtected(session, 'session');
  });

  it('a wrong password and an unknown name get the same answer; the next answer to that address waits out the penalty', async () => {
    const wrong = await postLogin(t, 'alice', 'not-the-password', { localAddress: '127.0.0.2' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body, GENERIC);
    assert.equal(wrong.headers['set-cookie'], undefined);

    const mark = t.logs.lines.length;
    const started = Date.now();
    const unknown = await postLogin(t, 'nobody', 'not-the-password', { localAddress: '127.0.0.2' });
    const took = Date.now() - started;
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body, GENERIC, 'an unknown name is answered as a wrong password');
    const delayed = t.logs.lines.slice(mark).find((line) => line.includes('sign-in answer delayed'));
    assert.ok(delayed, 'the second failure from that address was slowed');
    // POP3's penalty (2 s after one failure), and the answer did not come before it ran out.
    assert.match(delayed, /remote=127\.0\.0\.2 .*delayMs=2000/);
    assert.ok(took >= 1990, `answered after ${took} ms, before its 2000 ms penalty`);
    assert.ok(!t.logs.text().includes('not-the-password'), 'no password reaches the log');

    // The name that was guessed is slowed from another address too; its right password then clears it.
    const right = await postLogin(t, ALICE.name, ALICE.password, { localAddress: '127.0.0.3' });
    assert.equal(right.status, 200);
    const mark2 = t.logs.lines.length;
    assert.equal((await postLogin(t, ALICE.name, ALICE.password, { localAddress: '127.0.0.3' })).status, 200);
    assert.ok(!t.logs.lines.slice(mark2).some((line) => line.includes('sign-in answer delayed')), 'a right password cleared the penalty');
  });

  it('log-out ends the session and clears the cookie; the old cookie is refused', async () => {
    const cookie = cookieOf(await postLogin(t, ALICE.name, ALICE.password));
    assert.equal((await request(t, { path: '/api/session', headers: { Cookie: cookie } })).status, 200);
    const out = await request(t, { method: 'POST', path: '/api/logout', headers: { Cookie: cookie, Origin: t.origin } });
    assert.equal(out.status, 204);
    assert.match(String(out.headers['set-cookie']), /^__Host-winpop-session=; Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=0$/);
    const after = await request(t, { path: '/api/session', headers: { Cookie: cookie } });
    assert.equal(after.status, 401, after.body);
    assert.equal((await request(t, { path: '/', headers: { Cookie: cookie } })).headers.location, '/signin', 'a page without a session goes to the sign-in page');
  });

  it('a sign-in posted by another origin\'s page is refused; the endpoint\'s own page may post it, as a form too', async () => {
    const foreign = await postLogin(t, ALICE.name, ALICE.password, { headers: { Origin: 'https://evil.example' } });
    assert.equal(foreign.status, 403, foreign.body);
    assert.match(JSON.parse(foreign.body).error.message, /Origin https:\/\/evil\.example/);
    assert.equal(foreign.headers['set-cookie'], undefined);
    const otherPort = await postLogin(t, ALICE.name, ALICE.password, { headers: { Origin: `https://127.0.0.1:${t.port + 1}` } });
    assert.equal(otherPort.status, 403, 'another port is another origin');

    const form = await request(t, {
      method: 'POST',
      path: '/api/login',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: t.origin },
      body: new URLSearchParams(ALICE).toString(),
    });
    assert.equal(form.status, 303, form.body);
    assert.equal(form.headers.location, '/');
    assert.match(String(form.headers['set-cookie']), /^__Host-winpop-session=/);
    const badForm = await request(t, {
      method: 'POST',
      path: '/api/login',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: t.origin },
      body: new URLSearchParams({ name: 'alice', password: 'wrong-again' }).toString(),
    });
    assert.equal(badForm.status, 401);
    assert.match(badForm.body, /<p class="message" role="alert">The admin name or password is wrong\.<\/p>/);
    assertProtected(badForm, 'sign-in page');
  });

  it('bad requests get clear errors, and no answer is a CORS grant', async () => {
    const notJson = await request(t, { method: 'POST', path: '/api/login', headers: { 'Content-Type': 'application/json' }, body: '{name:' });
    assert.equal(notJson.status, 400);
    assert.match(notJson.body, /not valid JSON/);
    const noType = await request(t, { method: 'POST', path: '/api/login', body: 'x' });
    assert.equal(noType.status, 415);
    const huge = await request(t, { method: 'POST', path: '/api/login', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'a', password: 'p'.repeat(20_000) }) });
    assert.equal(huge.status, 413);
    const preflight = await request(t, {
      method: 'OPTIONS',
      path: '/api/login',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(preflight.status, 405);
    assertProtected(preflight, 'a CORS preflight');
    const get = await request(t, { path: '/api/login' });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    const plainGet = await request(t, { path: '/api/ws' });
    assert.equal(plainGet.status, 426);
  });
});

describe('one-time sign-in links', () => {
  let t: EndpointHost;
  before(async () => {
    t = await startEndpointHost();
  });
  after(async () => {
    await t?.stop();
  });

  it('a link signs one browser in, once, as the user who made it; the second visit is refused (curl)', async (ctx) => {
    const link = t.host.adminEndpoint.signInLink({ actor: 'operator' });
    assert.match(link.url, new RegExp(`^https://127\\.0\\.0\\.1:${t.port}/signin\\?token=[A-Za-z0-9_-]{43}$`));
    assert.ok(Date.parse(link.expires) > Date.now());
    const first = await curl(ctx, t, [link.url]);
    assert.equal(first.status, 303, first.raw);
    assert.equal(first.headers.location, '/', 'the token leaves the address bar');
    const cookie = String(first.headers['set-cookie']).split(';')[0] as string;
    const session = await request(t, { path: '/api/session', headers: { Cookie: cookie } });
    assert.equal(session.status, 200);
    assert.equal(JSON.parse(session.body).admin, 'operator');

    const again = await curl(ctx, t, [link.url]);
    assert.equal(again.status, 403, again.raw);
    assert.equal(again.headers['set-cookie'], undefined);
    assert.match(again.body, /This sign-in link was used already or has expired/);
    const forged = await curl(ctx, t, [`${t.origin}/signin?token=${'A'.repeat(43)}`]);
    assert.equal(forged.status, 403);
  });

  it('a link expires after its time, unused', () => {
    let now = 1_000_000;
    const links = new SignInLinks({ ttlMs: 1000 }, () => now);
    const kept = links.mint('operator');
    const late = links.mint('operator');
    now += 999;
    assert.equal(links.redeem(kept.token), 'operator');
    now += 1;
    assert.equal(links.redeem(late.token), null);
  });
});

describe('the console\'s files', () => {
  let t: EndpointHost;
  let outside: TempDir;
  let cookie: string;

  before(async () => {
    outside = await tempDir('winpop-outside-');
    await writeFile(path.join(outside.path, 'secret.txt'), 'not for the browser');
    const root = path.join(outside.path, 'bundle');
    await mkdir(path.join(root, 'assets'), { recursive: true });
    await writeFile(path.join(root, 'index.html'), '<!doctype html><title>console</title>');
    await writeFile(path.join(root, 'assets', 'app.js'), 'console.log(1)');
    await writeFile(path.join(root, 'assets', 'app.css'), 'body{}');
    await writeFile(path.join(root, 'assets', 'data.bin'), 'x');
    await writeFile(path.join(root, '.env'), 'hidden');
    await symlink(path.join(outside.path, 'secret.txt'), path.join(root, 'assets', 'escape.txt'));
    t = await startEndpointHost({ admins: [ALICE], adminEndpoint: { staticDir: root } });
    cookie = cookieOf(await postLogin(t, ALICE.name, ALICE.password));
  });
  after(async () => {
    await t?.stop();
    await outside?.remove();
  });

  it('serves the folder\'s files with their types to a session, and sends a page without one to the sign-in page', async () => {
    const expect = [
      ['/', 'text/html; charset=utf-8', '<!doctype html><title>console</title>'],
      ['/index.html', 'text/html; charset=utf-8', '<!doctype html><title>console</title>'],
      ['/assets/app.js', 'text/javascript; charset=utf-8', 'console.log(1)'],
      ['/assets/app.css', 'text/css; charset=utf-8', 'body{}'],
      ['/assets/data.bin', 'application/octet-stream', 'x'],
    ] as const;
    for (const [file, type, body] of expect) {
      const answer = await request(t, { path: file, headers: { Cookie: cookie } });
      assert.equal(answer.status, 200, file);
      assert.equal(answer.headers['content-type'], type, file);
      assert.equal(answer.body, body, file);
      assertProtected(answer, file);
    }
    const page = await request(t, { path: '/' });
    assert.equal(page.status, 303);
    assert.equal(page.headers.location, '/signin');
    assert.equal((await request(t, { path: '/assets/app.js' })).status, 401);
  });

  it('refuses every way out of the folder, dot files and a symbolic link that leads outside (curl --path-as-is)', async (ctx) => {
    for (const attempt of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets%2f..%2f..%2fsecret.txt', '/.env', '/%2eenv', '/assets/escape.txt', '/assets/%00app.js', '/assets\\..\\..\\secret.txt']) {
      const answer = await curl(ctx, t, ['--path-as-is', '-H', `Cookie: ${cookie}`, `${t.origin}${attempt}`]);
      assert.equal(answer.status, 404, `${attempt}: ${answer.raw.slice(0, 300)}`);
      assert.doesNotMatch(answer.body, /not for the browser|hidden/, attempt);
    }
  });
});

describe('TLS of the admin endpoint (openssl s_client)', () => {
  let t: EndpointHost;
  before(async () => {
    t = await startEndpointHost();
  });
  after(async () => {
    await t?.stop();
  });

  async function handshake(ctx: TestContext, options: string[]): Promise<string | null> {
    const openssl = await requireTool(ctx, 'openssl', 'openssl');
    assert.ok(openssl);
    const result = await run(openssl, ['s_client', '-connect', `127.0.0.1:${t.port}`, ...options], { timeoutMs: 20_000 });
    const made = /^New, (\S+), Cipher is (\S+)/m.exec(`${result.stdout}${result.stderr}`);
    return made !== null && made[2] !== '(NONE)' ? `${made[1]} ${made[2]}` : null;
  }

  it('refuses TLS 1.1 and TLS 1.2 without ECDHE or AEAD, and speaks TLS 1.2 with ECDHE-GCM and TLS 1.3', async (ctx) => {
    assert.equal(await handshake(ctx, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']), null, 'TLS 1.1 refused');
    assert.equal(await handshake(ctx, ['-tls1_2', '-cipher', 'AES128-GCM-SHA256']), null, 'RSA key exchange refused');
    assert.equal(await handshake(ctx, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA']), null, 'CBC refused');
    assert.equal(await handshake(ctx, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']), 'TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256');
    assert.match((await handshake(ctx, ['-tls1_3'])) ?? 'refused', /^TLSv1\.3 TLS_/);
  });
});
