/**
 * RFC 1939's exclusive maildrop across worker processes: while one worker
 * holds a mailbox's session, a log-in to the same mailbox on the other worker
 * is refused with [IN-USE] too.
 *
 * Each process's session registry is its own; across processes the maildrop
 * is held by the lock file in the Maildir that the store keeps (the
 * "shared-store" part of issue 13). This test passes once that part is in.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { watchPopSession, type WatchedPopSession } from '../helpers/poplib-watch.js';
import { address, password, startWorkerService, until, type WorkerService } from './support.js';

let s: WorkerService;
const closers: (() => Promise<void>)[] = [];

before(async () => {
  s = await startWorkerService(1);
});

after(async () => {
  await Promise.all(closers.map((close) => close()));
  await s?.close();
});

/** A poplib log-in that stays connected whatever PASS answered; resolves to that answer. */
function attempt(port: number, user: string, pass: string): Promise<string> {
  const child = spawn('python3', [
    '-u',
    '-c',
    `
import poplib, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=20)
p.user(sys.argv[2])
try:
    print(p.pass_(sys.argv[3]).decode('latin-1'), flush=True)
except poplib.error_proto as e:
    print(e.args[0].decode('latin-1'), flush=True)
sys.stdin.read()
`,
    String(port),
    user,
    pass,
  ]);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  closers.push(async () => {
    child.stdin.end();
    await exited;
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    void exited.then(() => reject(new Error(`poplib ended before it answered: ${out}`)));
  });
}

test('a mailbox held by a session on one worker cannot be logged in to on the other', async () => {
  const holder: WatchedPopSession = watchPopSession(s.svc.pop3Port, address(0), password(0));
  closers.push(() => holder.close());
  assert.match(await holder.loggedIn, /^\+OK/);
  const replies: string[] = [];
  // Connections stay open, so each worker's count shows where they went: until the other worker has one.
  for (let i = 0; i < 8 && !(await s.workers()).every((w) => w.sessions > 0); i++) {
    replies.push(await attempt(s.svc.pop3Port, address(0), password(0)));
    await until(async () => (await s.workers()).reduce((n, w) => n + w.sessions, 0) === replies.length + 1, () => 'the attempt counted');
  }
  assert.ok((await s.workers()).every((w) => w.sessions > 0), `attempts reached both workers: ${JSON.stringify(await s.workers())}`);
  for (const reply of replies) assert.match(reply, /^-ERR \[IN-USE\]/, `every second log-in is refused, on either worker: ${JSON.stringify(replies)}`);
  assert.match(await holder.send('noop'), /^\+OK/, 'the holder keeps its session');
});
