/**
 * `winpop` on a store with no service running: every documented command,
 * its exit codes, its one-line errors, and what it leaves on disk.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { winpop } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

let dir: TempDir;
let mailroot: string;
let config: string;

const admin = (args: readonly string[], input?: string) =>
  winpop(['--mailroot', mailroot, '--config', config, ...args], input === undefined ? {} : { input });

/** The whole of stderr is one line, "winpop: " and the message: no second line, no stack trace. */
function oneLineError(stderr: string): void {
  assert.match(stderr, /^winpop: [^\n]+\n$/, `one line expected on stderr, got: ${JSON.stringify(stderr)}`);
}

/**
 * A wrong command line: one line that says what was wrong and what to type
 * (the usage, or the words allowed), then the one pointer to winpop help.
 */
function usageError(stderr: string): void {
  assert.match(stderr, /^winpop: [^\n]+\nType winpop help for the syntax\.\n$/, `a usage error and the help pointer expected, got: ${JSON.stringify(stderr)}`);
  assert.match(stderr.split('\n')[0] as string, /Usage: winpop |Commands: |Settings: |Options: /, 'the error line says what to type');
}

before(async () => {
  dir = await tempDir();
  mailroot = path.join(dir.path, 'mailroot');
  config = path.join(dir.path, 'config.json');
});

after(async () => {
  await dir?.remove();
});

test('help prints the syntax and exits 0', async () => {
  const r = await winpop(['help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /winpop lock \{Domain \| User@Domain\}/);
  assert.match(r.stdout, /winpop changepwd User@Domain NewPassword/);
  // The forms that keep the password out of the process list come first.
  for (const verb of ['add User@Domain /createuser', 'changepwd User@Domain']) {
    const forms = r.stdout.split('\n').filter((line) => line.trimStart().startsWith(`winpop ${verb}`));
    assert.deepEqual(
      forms.map((line) => line.trim().split(/\s{2,}/)[0]),
      verb.startsWith('add') ? [`winpop ${verb}`, `winpop ${verb} -`, `winpop ${verb} Password`] : [`winpop ${verb}`, `winpop ${verb} -`, `winpop ${verb} NewPassword`],
    );
    assert.match(forms[2] ?? '', /every local user/);
  }
});

test('a wrong command line exits 2 with a one-line error that says what to type, then the pointer to winpop help', async () => {
  for (const args of [['frobnicate'], ['lock'], ['add'], ['set', 'socket', '1', '2'], ['get', 'nonsense'], ['list', '--bogus']]) {
    const r = await admin(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    usageError(r.stderr);
    assert.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`);
  }
});

test('domains and mailboxes: add, list, stat, delete', async () => {
  assert.equal((await admin(['add', 'Example.COM'])).code, 0);
  const dup = await admin(['add', 'example.com']);
  assert.equal(dup.code, 1);
  oneLineError(dup.stderr);
  assert.match(dup.stderr, /already exists/i);

  const noPassword = await admin(['add', 'carol@example.com']);
  assert.equal(noPassword.code, 2);
  assert.match(noPassword.stderr, /\/createuser/);

  assert.equal((await admin(['add', 'carol@example.com', '/createuser', 's3cret!'])).code, 0);
  assert.equal((await admin(['add', 'dave@example.com', '/createuser', '-'], 'from-stdin\n')).code, 0);

  const list = await admin(['--json', 'list', 'example.com']);
  assert.equal(list.code, 0, list.stderr);
  const parsed = JSON.parse(list.stdout) as { mailboxes: { name: string; messages: number; bytes: number; locked: boolean }[] };
  assert.deepEqual(
    parsed.mailboxes.map((m) => ({ name: m.name, messages: m.messages, bytes: m.bytes, locked: m.locked })).sort((a, b) => a.name.localeCompare(b.name)),
    [
      { name: 'carol', messages: 0, bytes: 0, locked: false },
      { name: 'dave', messages: 0, bytes: 0, locked: false },
    ],
  );

  const text = await admin(['list', 'example.com']);
  assert.match(text.stdout, /MAILBOX\s+MESSAGES\s+SIZE\s+STATE/);
  assert.match(text.stdout, /2 mailboxes in example\.com/);

  const stat = await admin(['--json', 'stat']);
  assert.equal((JSON.parse(stat.stdout) as { totals: { mailboxes: number } }).totals.mailboxes, 2);

  assert.equal((await admin(['delete', 'dave@example.com', '/deleteuser'])).code, 0);
  assert.ok(!existsSync(path.join(mailroot, 'example.com', 'dave')));
});

test('names that could escape the mail root are refused and nothing is created', async () => {
  for (const target of ['../evil@example.com', 'a/b@example.com', '..', '../../etc', 'x@../../tmp', 'c:\\windows@example.com']) {
    // The password on stdin: on the command line it would add a warning line before the error.
    const r = target.includes('@') ? await admin(['add', target, '/createuser', '-'], 'pw\n') : await admin(['add', target]);
    assert.equal(r.code, 1, `${target}: ${r.stderr}`);
    oneLineError(r.stderr);
  }
  assert.deepEqual((await readdir(dir.path)).sort(), ['mailroot']);
  assert.deepEqual((await readdir(mailroot)).filter((n) => !n.startsWith('.')).sort(), ['example.com']);
});

test('lock and unlock: idempotent, resulting state reported, domain lock rules', async () => {
  let r = await admin(['--json', 'lock', 'carol@example.com', '--reason', 'audit']);
  assert.equal(r.code, 0, r.stderr);
  let result = JSON.parse(r.stdout) as { locked: boolean; changed: boolean; lock: { by: string; reason: string } };
  assert.deepEqual([result.locked, result.changed, result.lock.reason], [true, true, 'audit']);

  r = await admin(['--json', 'lock', 'carol@example.com']);
  result = JSON.parse(r.stdout);
  assert.deepEqual([result.locked, result.changed], [true, false]);

  assert.equal((await admin(['lock', 'example.com'])).code, 0);
  assert.equal((await admin(['add', 'erin@example.com', '/createuser', 'pw'])).code, 0);
  const list = JSON.parse((await admin(['--json', 'list', 'example.com'])).stdout) as { mailboxes: { name: string; locked: boolean; domainLocked: boolean }[] };
  assert.ok(list.mailboxes.every((m) => m.locked && m.domainLocked), 'every mailbox of a locked domain is locked, new ones too');

  r = await admin(['unlock', 'erin@example.com']);
  assert.equal(r.code, 1);
  oneLineError(r.stderr);
  assert.match(r.stderr, /domain example\.com is locked/i);

  assert.equal((await admin(['unlock', 'example.com'])).code, 0);
  const after = JSON.parse((await admin(['--json', 'list', 'example.com'])).stdout) as { mailboxes: { name: string; locked: boolean }[] };
  assert.deepEqual(
    Object.fromEntries(after.mailboxes.map((m) => [m.name, m.locked])),
    { carol: true, erin: false },
    'each mailbox keeps its own lock when the domain is unlocked',
  );
});

test('bulk lock reports a result per target and exits 1 when one fails', async () => {
  const r = await admin(['--json', 'lock', 'erin@example.com', 'nobody@example.com']);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as { results: { target: string; ok: boolean; error?: { code: string } }[] };
  assert.deepEqual(
    out.results.map((x) => [x.target, x.ok, x.error?.code]),
    [
      ['erin@example.com', true, undefined],
      ['nobody@example.com', false, 'NOT_FOUND'],
    ],
  );
});

test('settings: get and set, with cross-field rules and clear refusals', async () => {
  assert.equal((await admin(['get', 'port'])).stdout.trim(), '110');
  assert.equal((await admin(['set', 'port', '1110'])).code, 0);
  assert.equal((await admin(['get', 'port'])).stdout.trim(), '1110');
  const saved = JSON.parse(await readFile(config, 'utf8')) as { port: number };
  assert.equal(saved.port, 1110);

  assert.equal((await admin(['set', 'socket', '40', '60', '12', '4'])).code, 0);
  assert.equal((await admin(['get', 'socket'])).stdout.trim(), 'backlog 40\nmax 60\nmin 12\nthreshold 4');

  let r = await admin(['set', 'socketmin', '60']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /socketmin \(60\) must be smaller than socketmax \(60\)/);

  r = await admin(['set', 'port', '70000']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /port must be from 1 to 65535/);

  // Another method (here 1, System accounts) is chosen only while no domain exists: mailboxes of two methods are not converted.
  r = await admin(['set', 'auth', '1']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'winpop: The authentication method can be changed only while no domain exists.\n');

  r = await admin(['get', 'threadcount']);
  assert.equal(r.code, 2, r.stderr);
  oneLineError(r.stderr);
  assert.match(r.stderr, /^winpop: threadcount does not apply/);
});

test('timeout: the autologout timer is at least ten minutes (RFC 1939); below that is refused and nothing changes', async () => {
  assert.equal((await admin(['set', 'timeout', '900'])).code, 0);
  for (const seconds of ['10', '599']) {
    const r = await admin(['set', 'timeout', seconds]);
    assert.equal(r.code, 1, `set timeout ${seconds}: ${r.stdout}${r.stderr}`);
    oneLineError(r.stderr);
    assert.match(r.stderr, new RegExp(`autologout timer; RFC 1939 requires at least ten minutes\\) must be from 600 to 86400; got ${seconds}\\.`));
  }
  assert.equal((await admin(['get', 'timeout'])).stdout.trim(), '900', 'a refused value leaves the setting as it was');
  assert.equal((JSON.parse(await readFile(config, 'utf8')) as { idleTimeoutSeconds: number }).idleTimeoutSeconds, 900);
  const r = await admin(['set', 'timeout', '600']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await admin(['get', 'timeout'])).stdout.trim(), '600');
});

test('listen and plaintextremote: set, shown, saved; a bad address is refused with what to type', async () => {
  assert.equal((await admin(['get', 'listen'])).stdout.trim(), '* ::', 'the default is every IPv4 and every IPv6 address');
  assert.equal((await admin(['get', 'plaintextremote'])).stdout.trim(), '0');
  let r = await admin(['set', 'listen', '127.0.0.1', '::1']);
  assert.equal(r.code, 0, r.stderr);
  // No service runs on this mail root: the local form of the notice, not "next starts".
  assert.match(r.stdout, /It applies when the service starts\.$/m);
  assert.deepEqual((JSON.parse(await readFile(config, 'utf8')) as { listen: string[] }).listen, ['127.0.0.1', '::1']);
  r = await admin(['set', 'listen', 'mail.example.com']);
  assert.equal(r.code, 1);
  oneLineError(r.stderr);
  assert.match(r.stderr, /"mail\.example\.com" is not a listen address: use \*, ::, or an IPv4 or IPv6 address/);
  assert.equal((await admin(['get', 'listen'])).stdout.trim(), '127.0.0.1 ::1');
  assert.equal((await admin(['set', 'plaintextremote', '1'])).code, 0);
  assert.equal((JSON.parse(await readFile(config, 'utf8')) as { plaintextRemote: boolean }).plaintextRemote, true);
  assert.equal((await admin(['set', 'plaintextremote', '0'])).code, 0);
  assert.equal((await admin(['set', 'listen', '*', '::'])).code, 0);
});

test('changepwd reads the new password from stdin and every change is in the audit log', async () => {
  const r = await admin(['changepwd', 'carol@example.com', '-'], 'n3w-secret\n');
  assert.equal(r.code, 0, r.stderr);
  const audit = (await readFile(path.join(mailroot, '.winpop', 'audit.log'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { time: string; actor: string; op: string; target: string; result: string });
  const ops = audit.map((a) => `${a.op} ${a.target} ${a.result}`);
  assert.ok(ops.includes('addDomain Example.COM ok'), ops.join('\n'));
  assert.ok(ops.includes('lock carol@example.com ok'));
  assert.ok(ops.includes('unlock erin@example.com error'));
  assert.ok(ops.includes('changePassword carol@example.com ok'));
  assert.ok(audit.every((a) => a.actor.length > 0 && !Number.isNaN(Date.parse(a.time))));
  assert.ok(!JSON.stringify(audit).includes('n3w-secret'), 'no password in the audit log');
});
