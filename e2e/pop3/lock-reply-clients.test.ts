/**
 * The administrator's lock as six real POP3 clients see it: with the right
 * password each one reports a failed log-in (not a busy maildrop, not a
 * server outage) and, where it shows the server's words, says that the
 * administrator disabled log-in. fetchmail matters most: it treats "lock" or
 * "wait" anywhere in the -ERR text as "maildrop busy" and retries for ever.
 * winpop still calls it a lock. A damaged state file answers [SYS/PERM].
 */

import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPLY } from '../../electron/service/pop3/responses.js';
import { winpop } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { startService, type TestService } from '../hostile/support.js';
import { run } from './support.js';

const LOCKED = { address: 'locked@example.com', password: 'Locked-pw-1' };
const DAMAGED = { address: 'damaged@example.com', password: 'Damaged-pw-1' };
const OPEN = { address: 'open@example.com', password: 'Open-pw-1' };
const LOCKED_TEXT = '[AUTH] Log-in to this mailbox is disabled by the administrator; its mail is still delivered. Contact your administrator.';

/** Python's poplib: USER/PASS, and what it raised. */
const POPLIB_LOGIN = String.raw`
import json, poplib, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = poplib.POP3('127.0.0.1', port, timeout=10)
p.user(user)
try:
    print(json.dumps({'ok': p.pass_(password).decode()}))
except poplib.error_proto as e:
    print(json.dumps({'error_proto': e.args[0].decode()}))
p.quit()
`;

describe('a locked mailbox as real clients see it', () => {
  let service: TestService;
  let port: number;
  let work: string;

  before(async () => {
    service = await startService({ mailboxes: [LOCKED, DAMAGED, OPEN], messages: () => ['Subject: waiting\n\nbody\n'] });
    port = service.svc.pop3Port;
    work = path.join(service.dir.path, 'clients');
    await mkdir(work);
    const locked = await winpop(['--mailroot', service.mailroot, '--config', service.config, 'lock', LOCKED.address, '--reason', 'left the company']);
    assert.equal(locked.code, 0, locked.stderr);
    await writeFile(path.join(service.mailroot, 'example.com', 'damaged', '.winpop-mailbox.json'), '{ "version": 1, "password": ');
  });
  after(async () => {
    await service?.cleanup();
  });

  it('no text a client can get at log-in holds a word fetchmail reads as "busy", except [IN-USE], where busy is true', () => {
    for (const [name, text] of Object.entries(REPLY)) {
      if (name === 'inUse') continue;
      assert.doesNotMatch(text, /lock|Lock|LOCK|wait/, name);
      assert.ok(!(/[Ss]ervice/.test(text) && text.includes('unavailable')), `${name} reads as "service unavailable" to fetchmail`);
    }
  });

  it('fetchmail: an authorization failure (exit 3) showing our text, not "lock busy"', async (ctx) => {
    const fetchmail = await requireTool(ctx, 'fetchmail', 'fetchmail');
    if (fetchmail === null) return;
    const home = path.join(work, 'fetchmail');
    await mkdir(home);
    const rc = path.join(home, 'fetchmailrc');
    // Plain POP3 (sslproto ''): the server's STLS would offer a self-signed certificate.
    await writeFile(
      rc,
      `poll 127.0.0.1 service ${port} protocol pop3 auth password timeout 15\n` +
        `  user "${LOCKED.address}" password "${LOCKED.password}" sslproto '' mda "cat >/dev/null"\n`,
    );
    await chmod(rc, 0o600);
    const env = { ...process.env, HOME: home, FETCHMAILHOME: home, LC_ALL: 'C' };
    const quiet = await run(fetchmail, ['-f', rc, '--nodetach'], { env });
    assert.equal(quiet.code, 3, `fetchmail must exit 3 (authentication failed):\n${quiet.stderr}${quiet.stdout}`);
    assert.match(quiet.stderr, /Authorization failure on locked@example\.com@127\.0\.0\.1/);
    assert.doesNotMatch(quiet.stderr + quiet.stdout, /lock busy|LOCKBUSY/i);

    const verbose = await run(fetchmail, ['-f', rc, '--nodetach', '-v'], { env });
    assert.equal(verbose.code, 3, verbose.stderr);
    assert.ok(verbose.stderr.includes(`fetchmail: ${LOCKED_TEXT}`), `fetchmail -v shows our text:\n${verbose.stderr}`);
    assert.match(verbose.stdout + verbose.stderr, /Query status=3 \(AUTHFAIL\)/);
  });

  it('mpop: "authentication failed" (exit 77) and our text, for USER/PASS', async (ctx) => {
    const mpop = await requireTool(ctx, 'mpop', 'mpop');
    if (mpop === null) return;
    const home = path.join(work, 'mpop');
    const maildir = path.join(home, 'Maildir');
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(path.join(maildir, sub), { recursive: true });
    const rc = path.join(home, 'mpoprc');
    await writeFile(
      rc,
      ['defaults', 'tls off', 'auth user', `uidls_file ${path.join(home, 'uidls')}`, 'account test', 'host 127.0.0.1', `port ${port}`,
        `user ${LOCKED.address}`, `password ${LOCKED.password}`, `delivery maildir ${maildir}`, ''].join('\n'),
    );
    await chmod(rc, 0o600);
    const result = await run(mpop, ['--file', rc, 'test'], { env: { ...process.env, HOME: home } });
    // 77 is EX_NOPERM, mpop's exit code for a refused authentication.
    assert.equal(result.code, 77, `${result.stderr}${result.stdout}`);
    assert.match(result.stderr, /authentication failed \(method USER\)/);
    assert.ok(result.stderr.includes(`-ERR ${LOCKED_TEXT}`), result.stderr);
  });

  it('curl: "Login denied" (exit 67); its transcript carries our text', async (ctx) => {
    const curl = await requireTool(ctx, 'curl', 'curl');
    if (curl === null) return;
    const args = ['-sS', '--max-time', '15', '-u', `${LOCKED.address}:${LOCKED.password}`, `pop3://127.0.0.1:${port}/`];
    const quiet = await run(curl, args);
    assert.equal(quiet.code, 67, quiet.stderr);
    assert.match(quiet.stderr, /Login denied/);
    const verbose = await run(curl, ['-v', ...args]);
    assert.equal(verbose.code, 67);
    assert.ok(verbose.stderr.includes(`< -ERR ${LOCKED_TEXT}`), verbose.stderr);
  });

  it('Python poplib: error_proto with our text; the right password of an unlocked mailbox still logs in', async (ctx) => {
    const python = await requireTool(ctx, 'python3', 'python3');
    if (python === null) return;
    const refused = await run(python, ['-c', POPLIB_LOGIN, String(port), LOCKED.address, LOCKED.password]);
    assert.equal(refused.code, 0, refused.stderr);
    assert.deepEqual(JSON.parse(refused.stdout), { error_proto: `-ERR ${LOCKED_TEXT}` });
    const open = await run(python, ['-c', POPLIB_LOGIN, String(port), OPEN.address, OPEN.password]);
    assert.match((JSON.parse(open.stdout) as { ok: string }).ok, /^\+OK Logged in; 1 message/);
  });

  it('getmail: a POP error with our text, and nothing retrieved', async (ctx) => {
    const getmail = await requireTool(ctx, 'getmail', 'getmail6');
    if (getmail === null) return;
    const dir = path.join(work, 'getmail');
    const maildir = path.join(dir, 'Maildir');
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(path.join(maildir, sub), { recursive: true });
    await writeFile(
      path.join(dir, 'getmailrc'),
      ['[retriever]', 'type = SimplePOP3Retriever', 'server = 127.0.0.1', `port = ${port}`, `username = ${LOCKED.address}`,
        `password = ${LOCKED.password}`, '', '[destination]', 'type = Maildir', `path = ${maildir}/`, '', '[options]', 'delete = false', ''].join('\n'),
    );
    const result = await run(getmail, ['--getmaildir', dir, '--rcfile', 'getmailrc']);
    // 127: getmail's "a retrieval did not succeed"; 3 or 4 would be its operation error or its own crash.
    assert.equal(result.code, 127, `getmail reports the failed retrieval in its exit status:\n${result.stderr}`);
    assert.ok(result.stderr.includes(`POP error (b'-ERR ${LOCKED_TEXT}')`), result.stderr);
    assert.match(result.stdout, /0 messages \(0 bytes\) retrieved/);
  });

  it('winpop still calls it a lock, with its reason', async () => {
    const listed = await winpop(['--mailroot', service.mailroot, '--config', service.config, 'list', 'example.com']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^locked\s.*\slocked$/m);
    const json = await winpop(['--mailroot', service.mailroot, '--config', service.config, '--json', 'list', 'example.com']);
    assert.match(json.stdout, /"reason": ?"left the company"/);
  });

  it('a damaged state file: poplib gets [SYS/PERM] naming the administrator, without a path; the log has the path', async (ctx) => {
    const python = await requireTool(ctx, 'python3', 'python3');
    if (python === null) return;
    const result = await run(python, ['-c', POPLIB_LOGIN, String(port), DAMAGED.address, DAMAGED.password]);
    assert.equal(result.code, 0, result.stderr);
    const answer = (JSON.parse(result.stdout) as { error_proto: string }).error_proto;
    assert.equal(answer, REPLY.storeDamaged);
    assert.match(answer, /^-ERR \[SYS\/PERM\] .*administrator repairs it/);
    assert.ok(!answer.includes('.winpop') && !answer.includes(service.mailroot), answer);
    assert.match(service.svc.output(), /pop3 login check failed .*damaged\/\.winpop-mailbox\.json is damaged \(not valid JSON\)/);
  });
});
