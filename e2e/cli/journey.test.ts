/**
 * The administrator's journey of the README, end to end through real processes:
 * pop3svc on loopback, winpop, smtplib and poplib.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPop3svc, winpop, type RunningService } from '../helpers/processes.js';
import { openPopSession, popFetchAll, smtpSend } from '../helpers/python.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

let dir: TempDir;
let service: RunningService;
let mailroot: string;
let config: string;

const ADDRESS = 'alice@example.com';
const PASSWORD = 'Correct-Horse-7';

function message(subject: string, body: string): string {
  return `From: bob@example.org\r\nTo: ${ADDRESS}\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;
}

const admin = (...args: string[]) => winpop(['--mailroot', mailroot, '--config', config, ...args]);

before(async () => {
  dir = await tempDir();
  mailroot = path.join(dir.path, 'mailroot');
  config = path.join(dir.path, 'config.json');
  service = await startPop3svc(mailroot, config);
});

after(async () => {
  await service?.stop();
  await dir?.remove();
});

test('the whole journey: add, deliver, fetch, lock, deliver while locked, unlock, fetch all', async () => {
  let r = await admin('add', 'example.com');
  assert.equal(r.code, 0, r.stderr);
  // The password comes on stdin, so it never shows in the process list.
  r = await winpop(['--mailroot', mailroot, '--config', config, 'add', ADDRESS, '/createuser', '-'], { input: `${PASSWORD}\n` });
  assert.equal(r.code, 0, r.stderr);

  await smtpSend(service.smtpPort, 'bob@example.org', [ADDRESS], message('first', 'Hello Alice.\r\n.A line that starts with a dot.'));
  await smtpSend(service.smtpPort, 'bob@example.org', [ADDRESS], message('second', 'Second message.'));

  const before = await popFetchAll(service.pop3Port, ADDRESS, PASSWORD);
  assert.ok(!('error' in before), JSON.stringify(before));
  assert.equal(before.count, 2);
  assert.match(before.messages[0] ?? '', /Subject: first[\s\S]*\r\n\.A line that starts with a dot\./);

  // An open session is closed by the lock, within a second of the call returning.
  const session = openPopSession(service.pop3Port, ADDRESS, PASSWORD);
  assert.match(await session.loggedIn, /^\+OK/);
  assert.match(await session.send('dele 1'), /^\+OK/);
  r = await admin('lock', ADDRESS, '--reason', 'left the company');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /locked/i);
  assert.match(r.stdout, /1 open session closed/);
  await sleep(1000);
  assert.match(await session.send('noop'), /CLOSED|disabled by the administrator; session closed/i);
  session.close();

  // A new log-in with the right password is told the mailbox is locked; a wrong one learns nothing.
  const refused = await popFetchAll(service.pop3Port, ADDRESS, PASSWORD);
  assert.ok('error' in refused);
  assert.match(refused.error, /^-ERR \[AUTH\].*disabled by the administrator/i);
  const wrong = await popFetchAll(service.pop3Port, ADDRESS, 'wrong-password');
  assert.ok('error' in wrong);
  assert.match(wrong.error, /^-ERR \[AUTH\]/);
  assert.doesNotMatch(wrong.error, /disabled|locked/i);

  // Mail is still delivered while the mailbox is locked.
  await smtpSend(service.smtpPort, 'bob@example.org', [ADDRESS], message('third', 'Sent while locked.'));
  r = await admin('--json', 'list', 'example.com');
  assert.equal(r.code, 0, r.stderr);
  const listed = JSON.parse(r.stdout) as { mailboxes: { name: string; messages: number; bytes: number; locked: boolean }[] };
  assert.deepEqual(
    listed.mailboxes.map((m) => [m.name, m.messages, m.locked]),
    [['alice', 3, true]],
  );

  r = await admin('unlock', ADDRESS);
  assert.equal(r.code, 0, r.stderr);
  const afterUnlock = await popFetchAll(service.pop3Port, ADDRESS, PASSWORD);
  assert.ok(!('error' in afterUnlock), JSON.stringify(afterUnlock));
  // The DELE of the session the lock closed was discarded: nothing was lost.
  assert.equal(afterUnlock.count, 3);
  assert.deepEqual(
    afterUnlock.messages.map((m) => /Subject: (\w+)/.exec(m)?.[1]),
    ['first', 'second', 'third'],
  );
  assert.deepEqual(afterUnlock.uidls.slice(0, 2), before.uidls, 'UIDLs stay the same');
});

test('pop3svc stops cleanly on SIGTERM', async () => {
  const code = await service.stop();
  assert.equal(code, 0, service.output());
});
