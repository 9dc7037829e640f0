/**
 * pop3svc on two worker processes (the setting `workers`): both serve POP3
 * and SMTP, the primary's control channel sees one service (sessions,
 * events), a lock or a password change made there closes the sessions each
 * worker holds, and a clean stop leaves no process behind.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AdminEvent } from '../../shared/contract.js';
import { watchPopSession, type WatchedPopSession } from '../helpers/poplib-watch.js';
import { WORKERS_MAX } from '../../shared/validate.js';
import { POP3SVC, run, startPop3svc, WINPOP, type RunResult } from '../helpers/processes.js';
import { popFetchAll, smtpSend } from '../helpers/python.js';
import { address, alive, DOMAIN, password, startWorkerService, until, type WorkerService } from './support.js';

const MAILBOXES = 16;
let s: WorkerService;
const sessions: WatchedPopSession[] = [];

before(async () => {
  s = await startWorkerService(MAILBOXES);
});

after(async () => {
  await Promise.all(sessions.map((x) => x.close()));
  await s?.close();
});

/**
 * Opens POP3 sessions on mailboxes `from`, `from + 1`, … (before `to`) one at
 * a time until each worker holds at least one (the cluster hands connections
 * round-robin, so two or three suffice); returns them.
 */
async function sessionsOnEveryWorker(from: number, to: number): Promise<WatchedPopSession[]> {
  const opened: WatchedPopSession[] = [];
  for (let i = from; i < to; i++) {
    const session = watchPopSession(s.svc.pop3Port, address(i), password(i));
    sessions.push(session);
    opened.push(session);
    assert.match(await session.loggedIn, /^\+OK/);
    const n = opened.length;
    await until(async () => (await s.workers()).reduce((sum, w) => sum + w.sessions, 0) === n, () => `${n} sessions counted`);
    if ((await s.workers()).every((w) => w.sessions > 0)) return opened;
  }
  assert.fail(`${opened.length} sessions all went to one worker: ${JSON.stringify(await s.workers())}`);
}

test('pop3svc with workers 2 serves POP3 and SMTP, and both workers take connections', async () => {
  const ready = /pop3svc ready .* workers=2 pids=(\d+),(\d+)/.exec(s.svc.output());
  assert.ok(ready, `the ready line names two worker processes:\n${s.svc.output()}`);
  const pids = [Number(ready[1]), Number(ready[2])].sort();
  assert.deepEqual((await s.workers()).map((w) => w.pid).sort(), pids, 'serverInfo lists the same workers');
  assert.ok(!pids.includes(s.svc.process.pid as number), 'the workers are other processes than pop3svc');

  const opened = await sessionsOnEveryWorker(0, 7);
  const info = await s.control.serverInfo({});
  assert.equal(info.sessions, opened.length, 'serverInfo counts the sessions of every worker');
  assert.equal(info.workers?.reduce((sum, w) => sum + w.sessions, 0), opened.length);

  // Each message its own SMTP connection: the cluster hands them to both workers.
  for (let m = 0; m < 6; m++) assert.deepEqual(await smtpSend(s.svc.smtpPort, 'sender@example.org', [address(0)], `Subject: spread ${m}\r\n\r\nbody ${m}\r\n`), {});
  for (const session of opened) assert.match(await session.send('quit'), /^\+OK/);
  const box = await popFetchAll(s.svc.pop3Port, address(0), password(0), { delete: true });
  assert.ok(!('error' in box), JSON.stringify(box));
  assert.equal(box.count, 6, 'every delivered message is in the store once');

  // The counters are the service's: every worker's, summed by the primary.
  let totals = (await s.control.counters({})).totals;
  await until(async () => {
    totals = (await s.control.counters({})).totals;
    return totals.smtpAccepted === 6 && totals.loginsAccepted === opened.length + 1;
  }, () => `counters of both workers: ${JSON.stringify(totals)}`);

  // The log shows which process served what.
  const delivered = new Set([...s.svc.output().matchAll(/INFO {2}mail delivered worker=(\d+)/g)].map((m) => Number(m[1])));
  const logins = new Set([...s.svc.output().matchAll(/INFO {2}pop3 login ok worker=(\d+)/g)].map((m) => Number(m[1])));
  assert.deepEqual([...logins].sort(), pids, 'both workers logged POP3 users in');
  assert.deepEqual([...delivered].sort(), pids, 'both workers delivered SMTP mail');
});

test('winpop get and set workers, pop3svc --workers: the value, and clear errors for bad ones', async () => {
  const cli = (...args: string[]): Promise<RunResult> => run(process.execPath, [WINPOP, '--config', s.config, '--mailroot', s.mailroot, ...args]);
  const got = await cli('get', 'workers');
  assert.equal(got.code, 0, got.stderr);
  assert.equal(got.stdout.trim(), '2');
  const bad = await cli('set', 'workers', 'many');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /workers must be a whole number; got "many"/);
  const tooMany = await cli('set', 'workers', String(WORKERS_MAX + 1));
  assert.equal(tooMany.code, 1);
  assert.match(tooMany.stderr, new RegExp(`workers \\(0 is one per CPU, 1 serves everything in one process\\) must be .*${WORKERS_MAX}`));
  const svc = await run(process.execPath, [POP3SVC, '--config', s.config, '--mailroot', s.mailroot, '--workers', 'all']);
  assert.equal(svc.code, 2);
  assert.match(svc.stderr, /--workers must be a whole number from 0 \(one per CPU\) to 256; got "all"/);
});

test('a lock through winpop closes the open poplib sessions held by every worker; so does a password change', async () => {
  const opened = await sessionsOnEveryWorker(1, 7);
  const lock = await run(process.execPath, [WINPOP, '--config', s.config, '--mailroot', s.mailroot, '--json', 'lock', DOMAIN]);
  assert.equal(lock.code, 0, lock.stderr);
  assert.equal((JSON.parse(lock.stdout) as { sessionsClosed: number }).sessionsClosed, opened.length, 'the lock sums the sessions closed in both workers');
  for (const session of opened) {
    await until(() => session.closedAt !== null, () => `${session.address} closed by the lock`);
    assert.match(session.unasked ?? '', /disabled by the administrator/);
  }
  assert.equal((await run(process.execPath, [WINPOP, '--config', s.config, '--mailroot', s.mailroot, 'unlock', DOMAIN])).code, 0);
  // The server's side of each socket closes a moment after the client saw its end.
  await until(async () => (await s.control.serverInfo({})).sessions === 0, () => 'no connection counted after the lock');

  const held = await sessionsOnEveryWorker(1, 7);
  const changed = held[held.length - 1] as WatchedPopSession;
  const pwd = await run(process.execPath, [WINPOP, '--config', s.config, '--mailroot', s.mailroot, 'changepwd', changed.address, '-'], { input: 'pw-new-one\n' });
  assert.equal(pwd.code, 0, pwd.stderr);
  await until(() => changed.closedAt !== null, () => `${changed.address} closed by its password change`);
  for (const other of held.filter((x) => x !== changed)) assert.match(await other.send('noop'), /^\+OK/, `${other.address} is untouched`);
  for (const other of held.filter((x) => x !== changed)) assert.match(await other.send('quit'), /^\+OK/);
});

test('events from the workers reach a control subscriber once each', async () => {
  const events: AdminEvent[] = [];
  const unsubscribe = s.control.onEvent((e) => events.push(e));
  try {
    const a = address(7);
    const of = (type: AdminEvent['type']): AdminEvent[] => events.filter((e) => e.type === type && 'address' in e && e.address === a);
    // As a console does: the primary's own store now follows the domain, and finds the workers' changes on disk too.
    await s.control.listMailboxTable({ domain: DOMAIN });
    const session = watchPopSession(s.svc.pop3Port, a, password(7));
    sessions.push(session);
    assert.match(await session.loggedIn, /^\+OK/);
    await until(() => of('sessionOpened').length > 0, () => `sessionOpened of ${a}: ${JSON.stringify(events)}`);
    assert.deepEqual(await smtpSend(s.svc.smtpPort, 'sender@example.org', [a], 'Subject: once\r\n\r\nonce\r\n'), {});
    await until(() => of('mailArrived').length > 0, () => `mailArrived of ${a}: ${JSON.stringify(events)}`);
    // A listing checks the disk: whatever the primary's store finds of the delivery, it announces before the listing returns.
    await s.control.listMailboxes({ domain: DOMAIN });
    assert.match(await session.send('quit'), /^\+OK/);
    await until(() => of('sessionClosed').length > 0, () => `sessionClosed of ${a}`);
    const box = await popFetchAll(s.svc.pop3Port, a, password(7), { delete: true });
    assert.ok(!('error' in box) && box.count === 1, JSON.stringify(box));
    await until(() => of('mailboxChanged').length > 0, () => `mailboxChanged of ${a}: ${JSON.stringify(events)}`);
    await until(() => of('sessionClosed').length === 2, () => `second sessionClosed of ${a}`);
    await s.control.listMailboxes({ domain: DOMAIN });
    assert.equal(of('sessionOpened').length, 2, JSON.stringify(events));
    assert.equal(of('sessionClosed').length, 2, JSON.stringify(events));
    assert.deepEqual(of('mailArrived'), [{ type: 'mailArrived', address: a, messages: 1, bytes: (of('mailArrived')[0] as { bytes: number }).bytes }], JSON.stringify(events));
    assert.deepEqual(of('mailboxChanged'), [{ type: 'mailboxChanged', address: a, messages: 0, bytes: 0 }], JSON.stringify(events));
  } finally {
    unsubscribe();
  }
});

test('a password verified with scrypt on one worker is answered from the shared cache on the other', async () => {
  const a = `shared-cache@${DOMAIN}`;
  const pw = 'pw-shared-cache';
  await s.control.addMailbox({ address: a, password: pw });
  const level = (await s.control.getSettings({})).logging;
  await s.control.setSettings({ patch: { logging: 3 } });
  try {
    const servedBy = (): Set<string> => new Set([...s.svc.output().matchAll(new RegExp(`INFO {2}pop3 login ok worker=(\\d+) .*address=${a}`, 'g'))].map((m) => m[1] as string));
    // Round-robin: a few log-ins reach both workers.
    for (let i = 0; i < 8 && servedBy().size < 2; i++) {
      const box = await popFetchAll(s.svc.pop3Port, a, pw);
      assert.ok(!('error' in box), JSON.stringify(box));
    }
    assert.equal(servedBy().size, 2, `both workers logged ${a} in:\n${s.svc.output()}`);
    const scrypts = [...s.svc.output().matchAll(new RegExp(`DEBUG password checked with scrypt worker=(\\d+) address=${a} ok=true`, 'g'))];
    assert.equal(scrypts.length, 1, `one scrypt for ${a} across both workers, the other answered from the entry it passed on:\n${scrypts.map((m) => m[0]).join('\n')}`);
  } finally {
    await s.control.setSettings({ patch: { logging: level } });
  }
});

test('a stuck worker does not hold up a lock: the other worker\'s sessions close and the lock replies; the stuck one closes its own when it resumes', async () => {
  const opened = await sessionsOnEveryWorker(8, 12);
  const [stuck, other] = await s.workers();
  assert.ok(stuck && other);
  process.kill(stuck.pid, 'SIGSTOP');
  let lock;
  try {
    lock = await s.control.lock({ target: DOMAIN });
    assert.equal(lock.sessionsClosed, other.sessions, 'the answering worker\'s sessions are counted');
    await until(() => opened.filter((x) => x.closedAt !== null).length === other.sessions, () => 'the answering worker\'s sessions closed');
    assert.match(s.svc.output(), new RegExp(`WARN  a worker process could not close sessions error="worker process ${stuck.pid} did not answer closeSessions within`));
  } finally {
    process.kill(stuck.pid, 'SIGCONT');
  }
  // The kick was queued for it: it closes its sessions as soon as it runs again.
  await until(() => opened.every((x) => x.closedAt !== null), () => 'every session closed once the stuck worker resumed');
  await s.control.unlock({ target: DOMAIN });
});

test('winpop sessions lists the sessions of every worker, and winpop kick ends one held by either', async () => {
  const opened = await sessionsOnEveryWorker(12, 16);
  const cli = (...args: string[]): Promise<RunResult> => run(process.execPath, [WINPOP, '--config', s.config, '--mailroot', s.mailroot, '--json', ...args]);
  const listed = await cli('sessions', DOMAIN);
  assert.equal(listed.code, 0, listed.stderr);
  const rows = (JSON.parse(listed.stdout) as { sessions: { id: string; address: string | null }[] }).sessions.filter((r) => opened.some((o) => o.address === r.address));
  assert.deepEqual(rows.map((r) => r.address).sort(), opened.map((o) => o.address).sort(), 'every open session, whichever worker holds it');
  const pids = (await s.workers()).map((w) => w.pid).sort();
  const owners = [...new Set(rows.map((r) => Number(r.id.split('-')[0])))].sort();
  assert.deepEqual(owners, pids, 'the rows come from both workers (the pid leads each id)');
  for (const pid of pids) {
    const row = rows.find((r) => r.id.startsWith(`${pid}-`));
    const victim = opened.find((o) => o.address === row?.address) as WatchedPopSession;
    const kicked = await cli('kick', victim.address);
    assert.equal(kicked.code, 0, kicked.stderr);
    assert.equal((JSON.parse(kicked.stdout) as { ended: unknown[] }).ended.length, 1);
    await until(() => victim.closedAt !== null, () => `${victim.address} (worker ${pid}) ended by winpop kick`);
  }
  for (const other of opened.filter((o) => o.closedAt === null)) assert.match(await other.send('quit'), /^\+OK/);
});

test('a clean stop leaves no process behind, and workers of a killed primary end by themselves', async () => {
  const pidsOf = (output: string): number[] => {
    const m = /workers=2 pids=(\d+),(\d+)/.exec(output);
    assert.ok(m, output);
    return [Number(m[1]), Number(m[2])];
  };
  const workers = pidsOf(s.svc.output());
  assert.ok(workers.every(alive));
  assert.equal(await s.svc.stop(), 0, s.svc.output());
  await until(() => !workers.some(alive), () => `workers ${workers.filter(alive).join(',')} still running after pop3svc stopped`);

  const killed = await startPop3svc(s.mailroot, s.config);
  const orphans = pidsOf(killed.output());
  // The primary alone: its workers must notice.
  killed.process.kill('SIGKILL');
  await until(() => killed.process.exitCode !== null || killed.process.signalCode !== null, () => 'pop3svc killed');
  await until(() => !orphans.some(alive), () => `workers ${orphans.filter(alive).join(',')} outlived their killed primary`);
});
