/**
 * kill -9 of one worker process of pop3svc (workers 2) in the middle of SMTP
 * deliveries and open POP3 sessions: every message acknowledged with 250 is
 * in the store exactly once and whole, nothing is duplicated, the sessions of
 * the other worker go on, the primary logs the death and starts a
 * replacement, and the service keeps serving.
 *
 * WORKERS_KILL_SEED replays the message sizes and the moment of the kill.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import type { AdminEvent } from '../../shared/contract.js';
import { watchPopSession, type WatchedPopSession } from '../helpers/poplib-watch.js';
import { popFetchAll, pythonLines, smtpSend } from '../helpers/python.js';
import { Random, seedFrom } from '../hostile/support.js';
import { address, alive, DOMAIN, password, startWorkerService, until, type WorkerService } from './support.js';

let s: WorkerService;
const sessions: WatchedPopSession[] = [];
const TARGET = 0;
const PER_SENDER = 60;

before(async () => {
  s = await startWorkerService(6);
});

after(async () => {
  await Promise.all(sessions.map((x) => x.close()));
  await s?.close();
});

/** Sends messages first … first+count-1, each over its own connection (so the cluster spreads them), printing ACK or FAIL for each. */
const SENDER = String.raw`
import hashlib, json, random, smtplib, sys
port, to, first, count, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rnd = random.Random(seed)
for i in range(first, first + count):
    body = ''.join('line %d of message %d %s\r\n' % (n, i, 'x' * rnd.randint(0, 900)) for n in range(rnd.randint(1, 150)))
    digest = hashlib.sha256(body.encode()).hexdigest()
    msg = 'Subject: kill-%d\r\nX-Body-SHA256: %s\r\n\r\n%s' % (i, digest, body)
    try:
        s = smtplib.SMTP('127.0.0.1', port, timeout=20)
        s.sendmail('load@example.org', [to], msg)
        print(json.dumps(['ACK', i]), flush=True)
        try:
            s.quit()
        except Exception:
            pass
    except Exception as e:
        print(json.dumps(['FAIL', i, type(e).__name__]), flush=True)
`;

function sender(port: number, first: number, seed: number): { lines: [string, number][]; exited: Promise<void>; stderr: () => string; kill(): void } {
  const child = pythonLines<[string, number]>(SENDER, [String(port), address(TARGET), String(first), String(PER_SENDER), String(seed)]);
  return { lines: child.lines, exited: child.exited.then(() => undefined), stderr: child.stderr, kill: () => child.child.kill('SIGKILL') };
}

function whole(message: string): { id: number; ok: boolean } {
  const id = Number(/Subject: kill-(\d+)/.exec(message)?.[1]);
  const digest = /X-Body-SHA256: ([0-9a-f]{64})/.exec(message)?.[1];
  // poplib hands back the lines without the final line end.
  const body = `${message.slice(message.indexOf('\r\n\r\n') + 4)}\r\n`;
  return { id, ok: digest !== undefined && digest === createHash('sha256').update(Buffer.from(body, 'latin1')).digest('hex') };
}

test('kill -9 of a worker during SMTP deliveries and POP3 sessions loses and duplicates nothing; a replacement starts and the service keeps serving', async (t: TestContext) => {
  const random = new Random(seedFrom('WORKERS_KILL_SEED', 'kill -9 of a worker'));
  const tmp = path.join(s.mailroot, DOMAIN, `u${TARGET}`, 'tmp');

  // POP3 sessions until both workers hold some.
  for (let i = 1; i < 6 && !(await s.workers()).every((w) => w.sessions > 0); i++) {
    const session = watchPopSession(s.svc.pop3Port, address(i), password(i));
    sessions.push(session);
    assert.match(await session.loggedIn, /^\+OK/);
    await until(async () => (await s.workers()).reduce((sum, w) => sum + w.sessions, 0) === sessions.length, () => 'the session counted');
  }
  const before = await s.workers();
  assert.ok(before.every((w) => w.sessions > 0), `sessions on both workers: ${JSON.stringify(before)}`);
  const victim = before[random.int(0, before.length - 1)] as { pid: number; sessions: number };

  const events: AdminEvent[] = [];
  const unsubscribe = s.control.onEvent((e) => events.push(e));
  t.after(unsubscribe);
  const senders = [sender(s.svc.smtpPort, 0, random.int(0, 1e9)), sender(s.svc.smtpPort, 1000, random.int(0, 1e9))];
  try {
    const acks = (): number => senders.reduce((n, x) => n + x.lines.filter((l) => l[0] === 'ACK').length, 0);
    const threshold = random.int(5, 20);
    await until(() => acks() >= threshold, () => `${threshold} deliveries acknowledged: ${senders.map((x) => x.stderr()).join('\n')}`, 60_000);
    // Aimed at a message being written, when one is caught within a moment; else at once.
    const aimUntil = Date.now() + 2000;
    while (readdirSync(tmp).length === 0 && Date.now() < aimUntil) await new Promise((resolve) => setImmediate(resolve));
    const writing = readdirSync(tmp).length;
    process.kill(victim.pid, 'SIGKILL');
    t.diagnostic(`killed worker ${victim.pid} holding ${victim.sessions} POP3 sessions after ${acks()} acknowledged deliveries; ${writing} file(s) being written in tmp/`);
    await Promise.all(senders.map((x) => x.exited));
  } finally {
    for (const x of senders) x.kill();
  }

  // The primary saw it and replaced it.
  await until(() => new RegExp(`ERROR worker process ended unexpectedly; starting a replacement pid=${victim.pid} code=null signal=SIGKILL`).test(s.svc.output()), () => `the death logged:\n${s.svc.output()}`);
  let workersNow: { pid: number }[] = [];
  await until(async () => {
    workersNow = await s.workers();
    return workersNow.length === 2 && !workersNow.some((w) => w.pid === victim.pid);
  }, () => `a replacement worker: ${JSON.stringify(workersNow)}`);
  assert.ok(!alive(victim.pid));

  // Its sessions ended with it; the other worker's go on.
  await until(() => sessions.filter((x) => x.closedAt !== null).length === victim.sessions, () => `${victim.sessions} sessions cut by the kill, ${sessions.filter((x) => x.closedAt !== null).length} seen`);
  for (const x of sessions.filter((y) => y.closedAt === null)) assert.match(await x.send('noop'), /^\+OK/, `${x.address} on the other worker still answers`);
  await until(async () => (await s.control.serverInfo({})).sessions === sessions.length - victim.sessions, () => 'the sessions count drops by the dead worker\'s');
  // A console following events hears those sessions end, once each.
  const cut = events.filter((e) => e.type === 'sessionClosed' && e.reason === 'worker process ended');
  assert.equal(cut.length, victim.sessions, JSON.stringify(cut));
  assert.deepEqual(
    cut.map((e) => (e as { address: string }).address).sort(),
    sessions.filter((x) => x.closedAt !== null).map((x) => x.address).sort(),
  );

  // The service keeps serving: a delivery and a log-in after the kill.
  assert.deepEqual(await smtpSend(s.svc.smtpPort, 'load@example.org', [address(TARGET)], 'Subject: after\r\n\r\nafter the kill\r\n'), {});
  const box = await popFetchAll(s.svc.pop3Port, address(TARGET), password(TARGET));
  assert.ok(!('error' in box), JSON.stringify(box));

  const acked = new Set(senders.flatMap((x) => x.lines.filter((l) => l[0] === 'ACK').map((l) => l[1])));
  const failed = new Set(senders.flatMap((x) => x.lines.filter((l) => l[0] === 'FAIL').map((l) => l[1])));
  assert.equal(acked.size + failed.size, 2 * PER_SENDER, 'each message was acknowledged or refused');
  const seen = box.messages.filter((m) => /Subject: kill-/.test(m)).map(whole);
  assert.deepEqual(seen.filter((m) => !m.ok), [], 'no message is partial');
  const ids = seen.map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length, 'no message is duplicated');
  assert.deepEqual([...acked].filter((id) => !ids.includes(id)), [], 'every acknowledged message is there');
  assert.ok(box.messages.some((m) => m.includes('after the kill')), 'the delivery after the kill is there');
  const storedUnacked = ids.filter((id) => failed.has(id));
  t.diagnostic(`${acked.size} acknowledged, all stored once; ${failed.size} cut by the kill, of which ${storedUnacked.length} stored before its 250 could be sent`);
  // A message cut by the kill is stored only if it was complete: the kill came between its rename into new/ and the 250.
  assert.ok(storedUnacked.length <= senders.length, `at most the one message each sender had in flight: ${JSON.stringify(storedUnacked)}`);
});

test('workers dying in a loop are replaced after a growing pause, and the service recovers', async (t: TestContext) => {
  const readyPids = (): number[] => [...s.svc.output().matchAll(/INFO {2}worker process ready pid=(\d+)/g)].map((m) => Number(m[1]));
  let target = (await s.workers())[0]?.pid as number;
  const kills = 4;
  for (let k = 0; k < kills; k++) {
    const known = readyPids().length;
    process.kill(target, 'SIGKILL');
    await until(() => readyPids().length > known, () => `a replacement for ${target}:\n${s.svc.output()}`);
    target = readyPids().at(-1) as number;
  }
  const delays = [...s.svc.output().matchAll(/ended unexpectedly; starting a replacement pid=\d+ code=null signal=SIGKILL workers=\d+(?: delayMs=(\d+))?/g)].map((m) => Number(m[1] ?? 0));
  t.diagnostic(`pauses before the replacements, every death of this file: ${delays.join(', ')} ms`);
  const [before, last] = delays.slice(-2) as [number, number];
  assert.ok(before > 0, `deaths in a loop are replaced after a pause: ${delays.join(', ')}`);
  assert.equal(last, 2 * before, `each pause twice the one before: ${delays.join(', ')}`);
  await until(async () => (await s.workers()).length === 2, () => 'two workers again');
  assert.deepEqual(await smtpSend(s.svc.smtpPort, 'load@example.org', [address(TARGET)], 'Subject: loop\r\n\r\nafter the loop\r\n'), {});
  const box = await popFetchAll(s.svc.pop3Port, address(TARGET), password(TARGET));
  assert.ok(!('error' in box) && box.messages.some((m) => m.includes('after the loop')), JSON.stringify('error' in box ? box : box.count));
});
