/**
 * The administrator's journey of the README, end to end through real processes:
 * pop3svc on loopback, winpop, smtplib and poplib.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPop3svc, winpop, type RunningService } from '../helpers/processes.js';
import { openPopSession, popFetchAll, smtpSend, type OpenSession } from '../helpers/python.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

let dir: TempDir;
let service: RunningService;
let mailroot: string;
let config: string;
/** Closed in `after` too: a live poplib child left by a failed assertion would keep the test process running. */
const sessions: OpenSession[] = [];

const ADDRESS = 'alice@example.com';
const PASSWORD = 'Correct-Horse-7';

function message(subject: string, body: string): string {
  return `From: bob@example.org\r\nTo: ${ADDRESS}\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;
}

/**
 * Generous: the session is closed before `winpop lock` returns (its reply
 * counts it) and bench/lock-latency.ts measures the second the README
 * promises; a busy machine must not fail the journey.
 */
const CLOSED_WITHIN_MS = 10_000;

/** Sends NOOP until the answer is no longer +OK (the server closed the session); the answer and how long it took. */
async function noopUntilClosed(session: OpenSession): Promise<{ answer: string; ms: number }> {
  const started = performance.now();
  for (;;) {
    const answer = await session.send('noop');
    const ms = performance.now() - started;
    if (!answer.startsWith('+OK')) return { answer, ms };
    if (ms > CLOSED_WITHIN_MS) assert.fail(`the session was still open ${CLOSED_WITHIN_MS / 1000} s after the lock returned (NOOP: ${answer})`);
    await sleep(20);
  }
}

const admin = (...args: string[]) => winpop(['--mailroot', mailroot, '--config', config, ...args]);

before(async () => {
  dir = await tempDir();
  mailroot = path.join(dir.path, 'mailroot');
  config = path.join(dir.path, 'config.json');
  service = await startPop3svc(mailroot, config);
});

after(async () => {
  for (const session of sessions) session.close();
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

  // An open session is closed by the lock; its client sees it at its next command.
  const session = openPopSession(service.pop3Port, ADDRESS, PASSWORD);
  sessions.push(session);
  assert.match(await session.loggedIn, /^\+OK/);
  assert.match(await session.send('dele 1'), /^\+OK/);
  r = await admin('lock', ADDRESS, '--reason', 'left the company');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /locked/i);
  assert.match(r.stdout, /1 open session closed/);
  const closed = await noopUntilClosed(session);
  console.log(`the locked session answered as closed ${closed.ms.toFixed(0)} ms after winpop lock returned`);
  // (poplib's error carries the server's line as Python bytes: b'…'.)
  assert.equal(closed.answer, "CLOSED error_proto: b'-ERR [AUTH] Log-in to this mailbox was disabled by the administrator; session closed, nothing deleted.'");
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
