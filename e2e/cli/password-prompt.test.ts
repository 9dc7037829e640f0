/**
 * Passwords for `winpop add … /createuser` and `winpop changepwd` without
 * putting them on the command line, where every local user can read them in
 * the process list: typed at a real pseudo-terminal (asked twice, never
 * echoed), piped in with `-`, and (still accepted) given in argv with a
 * warning. What was set is checked by logging in with poplib against a real
 * pop3svc.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startPop3svc, winpop, WINPOP, type RunningService } from '../helpers/processes.js';
import { runInPty, type PtyResult, type PtyStep } from '../helpers/pty.js';
import { popFetchAll } from '../helpers/python.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const PROMPT = 'New password for \\S+: $';
const AGAIN = 'Type it again: $';

let dir: TempDir;
let service: RunningService;
let mailroot: string;
let config: string;

const admin = (args: readonly string[], input?: string) =>
  winpop(['--mailroot', mailroot, '--config', config, ...args], input === undefined ? {} : { input });

/** `winpop …` on a pseudo-terminal of its own, typing `steps`. */
function onTerminal(args: readonly string[], steps: readonly PtyStep[]): Promise<PtyResult> {
  return runInPty([process.execPath, WINPOP, '--mailroot', mailroot, '--config', config, ...args], steps);
}

/** The POP3 log-in outcome for a password: 'ok' or the server's answer. */
async function logIn(address: string, password: string): Promise<string> {
  const r = await popFetchAll(service.pop3Port, address, password);
  return 'error' in r ? r.error : 'ok';
}

async function mailboxNames(): Promise<string[]> {
  const r = await admin(['--json', 'list', 'example.com']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { mailboxes: { name: string }[] }).mailboxes.map((m) => m.name).sort();
}

describe('winpop passwords', { skip: process.platform === 'win32' ? 'pseudo-terminals (Python pty) exist only on POSIX systems' : false }, () => {
  before(async () => {
    dir = await tempDir();
    mailroot = path.join(dir.path, 'mailroot');
    config = path.join(dir.path, 'config.json');
    service = await startPop3svc(mailroot, config);
    assert.equal((await admin(['add', 'example.com'])).code, 0);
  });

  after(async () => {
    await service?.stop();
    await dir?.remove();
  });

  test('add with no password asks twice on the terminal, shows none of it, and the mailbox logs in over POP3', async () => {
    // Typos fixed with Ctrl+U (clear the line) and Backspace, an arrow key ignored: what counts is what is left.
    const r = await onTerminal(['add', 'alice@example.com', '/createuser'], [
      { expect: PROMPT, send: 'wrong-start\x15Tr0ub4dor&3X\x7f\x1b[D\r' },
      { expect: AGAIN, send: 'Tr0ub4dor&3\r' },
    ]);
    assert.equal(r.error, null, r.output);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /New password for alice@example\.com: \r?\nType it again: \r?\nMailbox alice@example\.com added\./);
    assert.doesNotMatch(r.output, /Tr0ub|wrong-start|\*{3}/, 'nothing typed is echoed, not even as stars');
    assert.doesNotMatch(r.output, /warning/i);
    assert.equal(await logIn('alice@example.com', 'Tr0ub4dor&3'), 'ok');
  });

  test('changepwd asks too: a mismatch changes nothing; an empty answer is asked again', async () => {
    const mismatch = await onTerminal(['changepwd', 'alice@example.com'], [
      { expect: PROMPT, send: 'first-Guess-1\r' },
      { expect: AGAIN, send: 'second-Guess-2\r' },
    ]);
    assert.equal(mismatch.code, 1, mismatch.output);
    assert.match(mismatch.output, /winpop: The two passwords do not match\. Nothing was changed/);
    assert.doesNotMatch(mismatch.output, /Guess/);
    assert.equal(await logIn('alice@example.com', 'Tr0ub4dor&3'), 'ok', 'the old password still works');
    assert.match(await logIn('alice@example.com', 'first-Guess-1'), /^-ERR/);

    const changed = await onTerminal(['changepwd', 'alice@example.com'], [
      { expect: PROMPT, send: '\r' },
      { expect: `cannot be empty[^\\n]*\\n${PROMPT}`, send: 'C0rrect-Horse\r' },
      { expect: AGAIN, send: 'C0rrect-Horse\r' },
    ]);
    assert.equal(changed.error, null, changed.output);
    assert.equal(changed.code, 0, changed.output);
    assert.match(changed.output, /Password of alice@example\.com changed\./);
    assert.doesNotMatch(changed.output, /C0rrect/);
    assert.equal(await logIn('alice@example.com', 'C0rrect-Horse'), 'ok');
    assert.match(await logIn('alice@example.com', 'Tr0ub4dor&3'), /^-ERR/);
  });

  test('Ctrl+C at either question exits 130 and changes nothing', async () => {
    const add = await onTerminal(['add', 'bob@example.com', '/createuser'], [{ expect: PROMPT, send: 'half-typed\x03' }]);
    assert.equal(add.code, 130, add.output);
    assert.match(add.output, /winpop: cancelled; nothing was changed\./);
    assert.deepEqual(await mailboxNames(), ['alice']);

    const change = await onTerminal(['changepwd', 'alice@example.com'], [
      { expect: PROMPT, send: 'Other-pass-9\r' },
      { expect: AGAIN, send: '\x03' },
    ]);
    assert.equal(change.code, 130, change.output);
    assert.equal(await logIn('alice@example.com', 'C0rrect-Horse'), 'ok');
  });

  test('with no terminal and no password, a usage error says to pipe it in with -', async () => {
    const add = await admin(['add', 'bob@example.com', '/createuser']);
    assert.equal(add.code, 2, add.stderr);
    assert.match(add.stderr, /standard input is not a terminal/);
    assert.match(add.stderr, /printf %s "\$PW" \| winpop add bob@example\.com \/createuser -/);
    const change = await admin(['changepwd', 'alice@example.com']);
    assert.equal(change.code, 2, change.stderr);
    assert.match(change.stderr, /printf %s "\$PW" \| winpop changepwd alice@example\.com -/);
    assert.deepEqual(await mailboxNames(), ['alice']);
  });

  test('- reads standard input without a word; a password in argv still works but warns on stderr', async () => {
    const piped = await admin(['add', 'bob@example.com', '/createuser', '-'], 'Piped-pass-4\n');
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stderr, '');
    assert.equal(await logIn('bob@example.com', 'Piped-pass-4'), 'ok');

    const added = await admin(['add', 'carol@example.com', '/createuser', 'Argv-pass-5']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /Mailbox carol@example\.com added\./);
    assert.match(added.stderr, /^winpop: warning: a password on the command line can be read by every user of this computer in the process list/);
    assert.match(added.stderr, /winpop add carol@example\.com \/createuser\)/, 'names the form that asks instead');
    assert.equal(await logIn('carol@example.com', 'Argv-pass-5'), 'ok');

    const changed = await admin(['changepwd', 'carol@example.com', 'Argv-pass-6']);
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stderr, /warning: .*process list.*printf %s "\$PW" \| winpop changepwd carol@example\.com -/);
    assert.equal(await logIn('carol@example.com', 'Argv-pass-6'), 'ok');
  });
});
