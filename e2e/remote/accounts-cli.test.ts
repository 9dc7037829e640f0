/**
 * The admin endpoint from the command line, as real processes: `pop3svc
 * --admin-port`, and `winpop admin add/list/passwd/delete` (the password at
 * a no-echo prompt on a real pseudo-terminal, or on standard input, never
 * on the command line) through the running service, or on the store when
 * none runs; `winpop get/set adminport` and `adminlisten`; and the console's
 * IPC, which has no way to reach the accounts.
 */

import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { APP_ENTRY_URL } from '../../electron/app-origin.js';
import { handleCall } from '../../electron/ipc/handle-call.js';
import { TrustedSenders } from '../../electron/ipc/trusted-sender.js';
import { startPop3svc, winpop, WINPOP, type RunningService } from '../helpers/processes.js';
import { runInPty } from '../helpers/pty.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { auditLines, ConsoleSocket, eventually, freePort, postLogin, request, signIn, startEndpointHost, type EndpointHost } from './support.js';

const PROMPT = 'New password for admin \\S+: $';
const AGAIN = 'Type it again: $';

describe('winpop admin and pop3svc --admin-port', { skip: process.platform === 'win32' ? 'pseudo-terminals (Python pty) exist only on POSIX systems' : false }, () => {
  let dir: TempDir;
  let mailroot: string;
  let config: string;
  let service: RunningService | null = null;
  let port: number;
  let ca: string;
  /** The endpoint as the test clients reach it. */
  const endpoint = (): { port: number; ca: string } => ({ port, ca });
  const origin = (): string => `https://127.0.0.1:${port}`;

  const admin = (args: readonly string[], input?: string) =>
    winpop(['--mailroot', mailroot, '--config', config, ...args], input === undefined ? {} : { input });

  before(async () => {
    dir = await tempDir();
    mailroot = path.join(dir.path, 'mailroot');
    config = path.join(dir.path, 'config.json');
  });
  after(async () => {
    await service?.stop();
    await dir?.remove();
  });

  it('pop3svc has no admin endpoint unless asked; winpop get shows it off, on this computer only', async () => {
    const plain = await startPop3svc(mailroot, config);
    try {
      assert.doesNotMatch(plain.output(), /admin=/, plain.output());
      const port0 = await admin(['get', 'adminport']);
      assert.equal(port0.code, 0, port0.stderr);
      assert.equal(port0.stdout, '0 (the admin endpoint is off)\n');
      assert.equal((await admin(['get', 'adminlisten'])).stdout, '127.0.0.1\n');
      assert.deepEqual(JSON.parse((await admin(['--json', 'get', 'adminport'])).stdout), { adminport: 0 });
    } finally {
      await plain.stop();
    }
  });

  it('pop3svc --admin-port N serves it on 127.0.0.1:N and says so in its ready line', async () => {
    port = await freePort();
    service = await startPop3svc(mailroot, config, ['--admin-port', String(port)]);
    // The self-signed certificate the service made at its first start, as the README says.
    ca = await readFile(path.join(mailroot, '.winpop', 'tls', 'cert.pem'), 'utf8');
    assert.match(service.output(), new RegExp(`pop3svc ready .* admin=127\\.0\\.0\\.1:${port}\\n`));
    assert.equal((await request(endpoint(), { path: '/signin' })).status, 200);
  });

  it('admin add reads the password from standard input; list shows the admin, and its sessions once it signs in', async () => {
    const added = await admin(['admin', 'add', 'Alice', '-'], 'Alice-admin-pw-1\n');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^Admin alice added\./);
    assert.equal(added.stderr, '', 'no warning for a password on standard input');
    const empty = await admin(['admin', 'list']);
    assert.match(empty.stdout, /^ADMIN +CREATED +PASSWORD CHANGED +SESSIONS\nalice +\S+ +\S+ +0\n1 admin account\n$/);
    await signIn(endpoint(), 'alice', 'Alice-admin-pw-1');
    const listed = JSON.parse((await admin(['--json', 'admin', 'list'])).stdout) as { admins: { name: string; sessions: number }[] };
    assert.deepEqual(listed.admins.map((a) => [a.name, a.sessions]), [['alice', 1]]);
  });

  it('admin add with no password asks twice on the terminal and shows none of it', async () => {
    const r = await runInPty([process.execPath, WINPOP, '--mailroot', mailroot, '--config', config, 'admin', 'add', 'bob'], [
      { expect: PROMPT, send: 'Bob-admin-pw-1\r' },
      { expect: AGAIN, send: 'Bob-admin-pw-1\r' },
    ]);
    assert.equal(r.error, null, r.output);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /New password for admin bob: \r?\nType it again: \r?\nAdmin bob added\./);
    assert.doesNotMatch(r.output, /Bob-admin/, 'nothing typed is echoed');
    assert.equal((await postLogin(endpoint(), 'bob', 'Bob-admin-pw-1')).status, 200);
  });

  it('refuses a password on the command line, a short one, a bad name and a name taken, and changes nothing', async () => {
    const argv = await admin(['admin', 'add', 'carol', 'Carol-admin-pw-1']);
    assert.equal(argv.code, 2);
    assert.match(argv.stderr, /An admin password is never taken from the command line/);
    const short = await admin(['admin', 'add', 'carol', '-'], 'short');
    assert.equal(short.code, 1);
    assert.match(short.stderr, /addAdmin: an admin password needs at least 8 characters\./);
    const badName = await admin(['admin', 'add', '../carol', '-'], 'Carol-admin-pw-1');
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /is not an admin name: use letters, digits, dots, hyphens and underscores/);
    const taken = await admin(['admin', 'add', 'ALICE', '-'], 'Another-pw-123');
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /The admin alice exists already/);
    const missing = await admin(['admin', 'delete', 'nobody']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /There is no admin named nobody/);
    const names = (JSON.parse((await admin(['--json', 'admin', 'list'])).stdout) as { admins: { name: string }[] }).admins.map((a) => a.name);
    assert.deepEqual(names, ['alice', 'bob']);
    assert.equal((await postLogin(endpoint(), 'alice', 'Another-pw-123')).status, 401, 'alice kept her password');
  });

  it('admin passwd ends the admin\'s open console at once; the new password signs in, the old one not', async () => {
    const socket = await ConsoleSocket.open(endpoint(), { cookie: await signIn(endpoint(), 'alice', 'Alice-admin-pw-1'), origin: origin() });
    await socket.next();
    const changed = await admin(['admin', 'passwd', 'alice', '-'], 'Alice-new-pw-2');
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stdout, /^Password of admin alice changed\. 2 sessions signed in with the old one ended\.$/m);
    assert.equal((await socket.closedWithin()).code, 4001);
    assert.equal((await postLogin(endpoint(), 'alice', 'Alice-admin-pw-1', { localAddress: '127.0.0.4' })).status, 401);
    assert.equal((await postLogin(endpoint(), 'alice', 'Alice-new-pw-2', { localAddress: '127.0.0.5' })).status, 200);
  });

  it('admin delete ends its sessions; the audit log names who managed the accounts (the OS user and its uid)', async () => {
    const socket = await ConsoleSocket.open(endpoint(), { cookie: await signIn(endpoint(), 'bob', 'Bob-admin-pw-1'), origin: origin() });
    await socket.next();
    const deleted = await admin(['admin', 'delete', 'bob']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /^Admin bob deleted\. 2 sessions of it ended\.$/m);
    assert.equal((await socket.closedWithin()).code, 4001);
    assert.equal((await postLogin(endpoint(), 'bob', 'Bob-admin-pw-1')).status, 401);

    const lines = (await auditLines(mailroot)).filter((l) => String(l.op).endsWith('Admin') || l.op === 'changeAdminPassword');
    const ok = lines.filter((l) => l.result === 'ok').map((l) => [l.op, l.target]);
    assert.deepEqual(ok, [
      ['addAdmin', 'alice'],
      ['addAdmin', 'bob'],
      ['changeAdminPassword', 'alice'],
      ['deleteAdmin', 'bob'],
    ]);
    for (const line of lines) {
      assert.equal(line.uid, process.getuid?.(), 'the proved uid of winpop');
      assert.equal(line.remote, undefined);
    }
    const text = await readFile(path.join(mailroot, '.winpop', 'audit.log'), 'utf8');
    assert.doesNotMatch(text, /Alice-admin-pw|Alice-new-pw|Bob-admin-pw/, 'no password in the audit log');
  });

  it('winpop set adminport applies at once: 0 closes the endpoint, a port opens it there', async () => {
    const off = await admin(['set', 'adminport', '0']);
    assert.equal(off.code, 0, off.stderr);
    await eventually(async () => (await request(endpoint(), { path: '/signin' }).then(() => 'open', (err: NodeJS.ErrnoException) => err.code)) === 'ECONNREFUSED', 'the endpoint to close');
    port = await freePort();
    const on = await admin(['set', 'adminport', String(port)]);
    assert.equal(on.code, 0, on.stderr);
    assert.equal(on.stdout, `adminport set to ${port}.\n`);
    await eventually(async () => (await request(endpoint(), { path: '/signin' }).then((a) => a.status, () => 0)) === 200, 'the endpoint on the new port');
    assert.equal((await postLogin(endpoint(), 'alice', 'Alice-new-pw-2')).status, 200);
    const bad = await admin(['set', 'adminport', '70000']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /adminPort \(0 turns the admin endpoint off\) must be from 0 to 65535; got 70000\./);
  });

  it('admin link prints a one-time sign-in link for the user who asks: it opens one session, once', async () => {
    const made = await admin(['--json', 'admin', 'link']);
    assert.equal(made.code, 0, made.stderr);
    const link = JSON.parse(made.stdout) as { url: string; expires: string };
    assert.match(link.url, new RegExp(`^https://127\\.0\\.0\\.1:${port}/signin\\?token=[A-Za-z0-9_-]{43}$`));
    const target = new URL(link.url);
    const first = await request(endpoint(), { path: `${target.pathname}${target.search}` });
    assert.equal(first.status, 303);
    const cookie = String(first.headers['set-cookie']).split(';')[0] as string;
    const session = await request(endpoint(), { path: '/api/session', headers: { Cookie: cookie } });
    assert.equal(JSON.parse(session.body).admin, os.userInfo().username);
    assert.equal((await request(endpoint(), { path: `${target.pathname}${target.search}` })).status, 403, 'the second use');
    const text = await admin(['admin', 'link']);
    assert.match(text.stdout, /^https:\/\/\S+\nOpens one session, once, until \S+; whoever has it can administer this service until then\.\n$/);
    const line = (await auditLines(mailroot)).filter((l) => l.op === 'signInLink').at(-1);
    assert.equal(line?.actor, os.userInfo().username);
    assert.doesNotMatch(JSON.stringify(await auditLines(mailroot)), new RegExp(target.searchParams.get('token') as string), 'the token is not in the audit log');
  });

  it('with no service running, admin add writes the accounts file (0600, a hash, no password), which the next service uses', async () => {
    await service?.stop();
    service = null;
    const noLink = await admin(['admin', 'link']);
    assert.equal(noLink.code, 1);
    assert.match(noLink.stderr, /No service is running for this mail root, so there is no admin endpoint to sign in to/);
    const added = await admin(['admin', 'add', 'dave', '-'], 'Dave-admin-pw-1');
    assert.equal(added.code, 0, added.stderr);
    const file = path.join(mailroot, '.winpop', 'admins.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const text = await readFile(file, 'utf8');
    assert.match(text, /"dave": \{\n\s+"hash": "\$scrypt\$ln=15,r=8,p=1\$/);
    assert.doesNotMatch(text, /Dave-admin-pw-1/);
    const remoteUse = await admin(['set', 'adminlisten', '0.0.0.0']);
    assert.match(remoteUse.stdout, /adminlisten set to 0\.0\.0\.0\. The admin endpoint now takes connections from other computers/);
    assert.equal((await admin(['set', 'adminlisten', '127.0.0.1'])).code, 0);

    service = await startPop3svc(mailroot, config);
    assert.match(service.output(), new RegExp(`admin=127\\.0\\.0\\.1:${port}`), 'the saved port');
    assert.equal((await postLogin(endpoint(), 'dave', 'Dave-admin-pw-1')).status, 200);
  });

  it('winpop help documents the admin commands and settings', async () => {
    const help = await winpop(['help', 'admin']);
    assert.equal(help.code, 0);
    for (const form of ['winpop admin list', 'winpop admin add Name', 'winpop admin add Name -', 'winpop admin passwd Name [-]', 'winpop admin delete Name', 'winpop admin link']) {
      assert.ok(help.stdout.includes(form), `${form} in:\n${help.stdout}`);
    }
    const all = (await winpop(['help'])).stdout;
    assert.match(all, /winpop set adminport PortNumber +the admin endpoint \(HTTPS and WebSocket\) on this port;/);
    assert.match(all, /winpop set adminlisten Address/);
    assert.match(all, /Admin accounts are managed only here, by the user that runs\nthe service/);
  });
});

describe('the console\'s IPC has no way to the admin accounts', () => {
  let t: EndpointHost;
  before(async () => {
    t = await startEndpointHost({ endpoint: false });
  });
  after(async () => {
    await t?.stop();
  });

  it('an account operation from the trusted console page is refused as unknown, and nothing is written', async () => {
    const trusted = new TrustedSenders();
    trusted.add({ id: 1, isDestroyed: () => false, getURL: () => APP_ENTRY_URL, send: () => undefined });
    const sender = { webContentsId: 1, frame: { url: APP_ENTRY_URL, isMainFrame: true } };
    for (const op of ['addAdmin', 'listAdmins', 'changeAdminPassword', 'deleteAdmin', 'signInLink']) {
      const reply = await handleCall(t.host.admin, trusted, sender, op, [{ name: 'mallory', password: 'Mallory-pw-123' }]);
      assert.equal(reply.ok, false, op);
      assert.match(reply.ok ? '' : reply.error.message, new RegExp(`Unknown operation "${op}"`), op);
    }
    await assert.rejects(stat(path.join(t.mailroot, '.winpop', 'admins.json')), { code: 'ENOENT' });
  });
});
