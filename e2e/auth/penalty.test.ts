/**
 * Password guessing is slowed (Dovecot's auth penalty): a failed log-in
 * delays the next log-in answer to the same client address and to the same
 * mailbox, doubling to a cap; a right password clears it; other clients and
 * mailboxes are not slowed; the table forgets and stays bounded. The real
 * schedule (2 s doubling to 15 s) is checked through its pure function; the
 * listener is tested with short delays, through its log and real clients
 * on different loopback addresses.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_PENALTY, LoginPenalty, penaltyDelayMs } from '../../electron/service/pop3/login-penalty.js';
import { makeStore, RawClient, seedMailbox, startServer, type TestServer, type TestStore } from '../pop3/support.js';
import { capturingLogger } from '../tls/tls-support.js';

describe('the penalty schedule', () => {
  it('is Dovecot\'s by default: none, then 2 s doubling per failure to a cap of 15 s', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 50].map((failures) => penaltyDelayMs(failures)),
      [0, 2000, 4000, 8000, 15_000, 15_000, 15_000, 15_000],
    );
    assert.equal(DEFAULT_PENALTY.baseMs, 2000);
    assert.equal(DEFAULT_PENALTY.capMs, 15_000);
  });

  it('doubles per failure of an address or a mailbox, and a success clears both', () => {
    const p = new LoginPenalty({ baseMs: 100, capMs: 700 });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      delays.push(p.delayFor('10.0.0.1', 'victim@example.com'));
      p.failure('10.0.0.1', 'victim@example.com');
    }
    assert.deepEqual(delays, [0, 100, 200, 400, 700]);
    // The same mailbox from elsewhere, and elsewhere from the same address, are both slowed.
    assert.equal(p.delayFor('10.0.0.2', 'victim@example.com'), 700);
    assert.equal(p.delayFor('10.0.0.1', 'other@example.com'), 700);
    // IPv4 seen through an IPv6 socket is the same client; mailbox names are not case-sensitive.
    assert.equal(p.delayFor('::ffff:10.0.0.1', 'x@example.com'), 700);
    assert.equal(p.delayFor('10.9.9.9', 'VICTIM@Example.com'), 700);
    // Nobody else is.
    assert.equal(p.delayFor('10.0.0.2', 'other@example.com'), 0);
    p.success('10.0.0.1', 'victim@example.com');
    assert.equal(p.delayFor('10.0.0.1', 'victim@example.com'), 0);
  });

  it('slows a client refused untested (over the budget, a full line) as after a failure, but not the mailbox it named', () => {
    const p = new LoginPenalty({ baseMs: 100, capMs: 700 });
    assert.equal(p.refusal('10.0.0.1'), 100);
    assert.equal(p.refusal('10.0.0.1'), 200);
    assert.equal(p.delayFor('10.0.0.1', 'victim@example.com'), 200);
    assert.equal(p.delayFor('10.0.0.2', 'victim@example.com'), 0);
    // An IPv6 client is one client across its /64.
    p.failure('2001:db8:1:2::1', 'x@example.com');
    assert.equal(p.delayFor('2001:db8:1:2::ffff', 'y@example.com'), 100);
    assert.equal(p.delayFor('2001:db8:1:3::1', 'y@example.com'), 0);
  });

  it('forgets after a quiet period and never holds more than its bound', () => {
    let now = 1_000_000;
    const p = new LoginPenalty({ baseMs: 100, capMs: 700, forgetAfterMs: 60_000, maxEntries: 1000 }, () => now);
    p.failure('10.0.0.1', 'a@example.com');
    now += 59_000;
    assert.equal(p.delayFor('10.0.0.1', 'a@example.com'), 100);
    now += 2000;
    assert.equal(p.delayFor('10.0.0.1', 'a@example.com'), 0);
    assert.equal(p.size, 0);

    // A flood of made-up names from one address: the table stays bounded and keeps the flooder.
    for (let i = 0; i < 50_000; i++) p.failure('10.6.6.6', `guess${i}@example.com`);
    assert.ok(p.size <= 1000, `size ${p.size}`);
    assert.equal(p.delayFor('10.6.6.6', 'fresh@example.com'), 700);
  });
});

describe('the POP3 listener slows guessing', () => {
  const BASE = 100;
  const CAP = 400;
  let t: TestStore;
  let srv: TestServer;
  const logs = capturingLogger();

  before(async () => {
    t = await makeStore();
    await seedMailbox(t.store, 'victim@example.com', 'victim-pw');
    await seedMailbox(t.store, 'bystander@example.com', 'bystander-pw');
    await seedMailbox(t.store, 'locked@example.com', 'locked-pw');
    srv = await startServer(t.store, {}, { penalty: { baseMs: BASE, capMs: CAP }, log: logs.log });
  });
  after(async () => {
    await srv?.stop();
    await t?.cleanup();
  });

  /** One log-in from `from`; the answer, how long it took, and the delay the server logged for it. */
  async function attempt(from: string, user: string, password: string): Promise<{ answer: string; ms: number; delayMs: number }> {
    const c = await RawClient.open(srv.port, from);
    await c.command(`USER ${user}`);
    const mark = logs.lines.length;
    const started = Date.now();
    const answer = await c.command(`PASS ${password}`);
    const ms = Date.now() - started;
    await c.command('QUIT');
    const delayed = logs.lines.slice(mark).find((line) => line.includes('pop3 login answer delayed'));
    const delayMs = delayed === undefined ? 0 : Number(/delayMs=(\d+)/.exec(delayed)?.[1]);
    return { answer, ms, delayMs };
  }

  it('delays the next answers to that address and that mailbox, doubling to the cap, and logs each failure without the password', async () => {
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await attempt('127.0.0.2', 'victim@example.com', `guess-${i}`);
      assert.equal(r.answer, '-ERR [AUTH] Invalid user name or password.');
      // A lower bound only: the answer cannot have come before the delay ran out.
      assert.ok(r.ms >= r.delayMs - 5, `answered after ${r.ms} ms, before its ${r.delayMs} ms delay`);
      delays.push(r.delayMs);
    }
    assert.deepEqual(delays, [0, BASE, 2 * BASE, CAP, CAP]);

    const failures = logs.lines.filter((line) => line.includes('pop3 login failed') && line.includes('remote=127.0.0.2:'));
    assert.equal(failures.length, 5);
    assert.match(failures[4] as string, new RegExp(`mailbox=victim@example.com .*failuresFromAddress=5 failuresForMailbox=5 nextDelayMs=${CAP}`));
    assert.ok(!logs.text().includes('guess-'), 'a password must never reach the log');
  });

  it('does not slow another client on another mailbox, but slows either one alone', async () => {
    assert.equal((await attempt('127.0.0.3', 'bystander@example.com', 'bystander-pw')).delayMs, 0);
    const sameMailbox = await attempt('127.0.0.3', 'victim@example.com', 'still-guessing');
    assert.equal(sameMailbox.delayMs, CAP);
    const sameAddress = await attempt('127.0.0.2', 'bystander@example.com', 'bystander-pw');
    assert.equal(sameAddress.delayMs, CAP);
    assert.match(sameAddress.answer, /^\+OK Logged in/, 'the right password still works, only later');
  });

  it('a right password clears the penalty of its address and mailbox', async () => {
    const right = await attempt('127.0.0.2', 'victim@example.com', 'victim-pw');
    assert.equal(right.delayMs, CAP);
    assert.match(right.answer, /^\+OK Logged in/);
    assert.equal((await attempt('127.0.0.2', 'victim@example.com', 'victim-pw')).delayMs, 0);
    // 127.0.0.3 guessed once above: it is still slowed, whatever mailbox it tries.
    assert.equal((await attempt('127.0.0.3', 'victim@example.com', 'victim-pw')).delayMs, BASE);
    assert.equal((await attempt('127.0.0.6', 'victim@example.com', 'victim-pw')).delayMs, 0);
  });

  it('on a locked mailbox, the right password counts as a success and a wrong one as a failure', async () => {
    await t.store.setMailboxLock('locked@example.com', { by: 'admin', at: new Date().toISOString() });
    const wrong = await attempt('127.0.0.4', 'locked@example.com', 'nope');
    assert.equal(wrong.answer, '-ERR [AUTH] Invalid user name or password.');
    const right = await attempt('127.0.0.4', 'locked@example.com', 'locked-pw');
    assert.equal(right.delayMs, BASE, 'the wrong password counted');
    assert.match(right.answer, /^-ERR \[AUTH\] Log-in to this mailbox is disabled by the administrator/);
    assert.equal((await attempt('127.0.0.4', 'locked@example.com', 'locked-pw')).delayMs, 0, 'the right one cleared it');
  });

  it('applies to AUTH PLAIN as to USER/PASS', async () => {
    const token = (password: string): string => Buffer.from(`\0bystander@example.com\0${password}`).toString('base64');
    const c = await RawClient.open(srv.port, '127.0.0.5');
    assert.equal(await c.command(`AUTH PLAIN ${token('wrong')}`), '-ERR [AUTH] Invalid user name or password.');
    const mark = logs.lines.length;
    assert.match(await c.command(`AUTH PLAIN ${token('bystander-pw')}`), /^\+OK Logged in/);
    assert.ok(logs.lines.slice(mark).some((line) => line.includes('pop3 login answer delayed') && line.includes(`delayMs=${BASE}`)));
    assert.ok(logs.lines.some((line) => line.includes('pop3 login failed') && line.includes('mechanism="AUTH PLAIN"')));
    await c.command('QUIT');
  });
});
