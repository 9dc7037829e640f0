/**
 * Domain and bulk locks against open sessions of a real mail client: Python's
 * poplib logged in to several mailboxes of a running pop3svc, the locks sent
 * through the service's control channel, as winpop and a second console send
 * them. Each poplib client watches its own connection, so a session is seen
 * closed from the client's side; the test polls for that (1 s after the lock
 * returned is its generous limit) and prints how long each one took.
 * Sessions of mailboxes the lock does not name keep working. A domain lock
 * answers a wrong password exactly as any wrong password is answered.
 */

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import type { ControlClient } from '../../electron/service/admin/control-client.js';
import { winpop } from '../helpers/processes.js';
import { expectSessions } from '../helpers/session-count.js';
import { python } from '../helpers/python.js';
import { watchPopSession, type WatchedPopSession } from '../helpers/poplib-watch.js';
import { startService, type TestService } from '../hostile/support.js';

const LOCKED_LOGIN = '-ERR [AUTH] Log-in to this mailbox is disabled by the administrator; its mail is still delivered. Contact your administrator.';
const LOCKED_SESSION = '-ERR [AUTH] Log-in to this mailbox was disabled by the administrator; session closed, nothing deleted.';
const BAD_CREDENTIALS = '-ERR [AUTH] Invalid user name or password.';
/** How long after the lock call returned a session may take to be seen closed: generous; the measured times are printed. */
const SEEN_CLOSED_WITHIN_MS = 1000;

const password = (address: string): string => `pw-${address.slice(0, address.indexOf('@'))}`;
const mailbox = (address: string) => ({ address, password: password(address) });

const DOMAIN_LOCKED = ['ann@locked-domain.test', 'bob@locked-domain.test', 'cat@locked-domain.test'];
const OTHER_DOMAIN = 'keep@other-domain.test';
const BULK = ['dan@bulk-one.test', 'eve@bulk-one.test', 'fay@bulk-two.test'];
const NOT_IN_BULK = 'gil@bulk-one.test';
const WRONG_PW_LOCKED = 'hal@wrong-pw.test';
const WRONG_PW_OPEN = 'ivy@open.test';

/** poplib sessions, logged in, each on its own connection. */
async function openSessions(port: number, addresses: readonly string[]): Promise<WatchedPopSession[]> {
  const sessions = addresses.map((a) => watchPopSession(port, a, password(a)));
  const answers = await Promise.all(sessions.map((s) => s.loggedIn));
  answers.forEach((answer, i) => assert.match(answer, /^\+OK/, `log-in of ${addresses[i]}`));
  return sessions;
}

/**
 * Polls until every session in `closing` has seen its connection closed,
 * failing 1 s after the lock returned; prints each one's time from the call
 * and from its return.
 */
async function seenClosed(ctx: TestContext, closing: readonly WatchedPopSession[], called: number, returned: number): Promise<void> {
  const deadline = returned + SEEN_CLOSED_WITHIN_MS;
  while (closing.some((s) => s.closedAt === null)) {
    if (performance.now() > deadline) {
      const open = closing.filter((s) => s.closedAt === null).map((s) => s.address);
      assert.fail(`still open ${SEEN_CLOSED_WITHIN_MS} ms after the lock returned: ${open.join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  ctx.diagnostic(`lock call took ${(returned - called).toFixed(1)} ms`);
  for (const s of closing) {
    const at = s.closedAt as number;
    const sinceReturn = at - returned;
    ctx.diagnostic(
      `${s.address}: seen closed by poplib ${(at - called).toFixed(1)} ms after the lock call, ${Math.abs(sinceReturn).toFixed(1)} ms ${sinceReturn < 0 ? 'before' : 'after'} it returned`,
    );
  }
}

/** Sessions the running service counts (ServerInfo); waits until exactly `n`. */
describe('domain and bulk locks close the open poplib sessions they name, and only those', () => {
  let service: TestService;
  let control: ControlClient;
  let port: number;
  const running: WatchedPopSession[] = [];

  before(async () => {
    service = await startService({
      mailboxes: [...DOMAIN_LOCKED, OTHER_DOMAIN, ...BULK, NOT_IN_BULK, WRONG_PW_LOCKED, WRONG_PW_OPEN].map(mailbox),
      messages: () => ['Subject: waiting\n\nbody\n'],
    });
    port = service.svc.pop3Port;
    control = await service.control();
  });
  // Whatever a test's outcome, its clients end with it: a failure does not spill into the next test's counts.
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });
  after(async () => {
    control?.close();
    await service?.cleanup();
  });

  it('a domain lock closes the sessions of every mailbox of the domain within a second; another domain keeps its session', async (ctx) => {
    const closing = await openSessions(port, DOMAIN_LOCKED);
    const [keep] = await openSessions(port, [OTHER_DOMAIN]);
    running.push(...closing, keep as WatchedPopSession);
    assert.match(await (closing[0] as WatchedPopSession).send('dele 1'), /^\+OK/);
    await expectSessions(control, 4, 'four poplib sessions logged in');

    const called = performance.now();
    const result = await control.lock({ target: 'locked-domain.test', reason: 'domain lock test' });
    const returned = performance.now();
    assert.deepEqual([result.kind, result.locked, result.changed, result.sessionsClosed], ['domain', true, true, 3]);
    await seenClosed(ctx, closing, called, returned);
    for (const s of closing) assert.equal(s.unasked, `${LOCKED_SESSION}\r\n`, `${s.address}: the last words before the close`);

    assert.equal(await (keep as WatchedPopSession).send('noop'), '+OK', 'the session in another domain goes on');
    assert.equal(keep?.closedAt, null);
    await expectSessions(control, 1, 'only the other domain left');
    const rows = await control.listMailboxes({ domain: 'locked-domain.test' });
    assert.deepEqual(rows.map((m) => [m.name, m.messages, m.locked]), [['ann', 1, true], ['bob', 1, true], ['cat', 1, true]], 'the DELE was discarded');

    await control.unlock({ target: 'locked-domain.test' });
    assert.match(await (keep as WatchedPopSession).send('quit'), /^\+OK/);
    await expectSessions(control, 0, 'every client gone');
  });

  it('a bulk lock (lockMany) closes the sessions of the mailboxes it lists within a second; one not listed keeps its session', async (ctx) => {
    const closing = await openSessions(port, BULK);
    const [stay] = await openSessions(port, [NOT_IN_BULK]);
    running.push(...closing, stay as WatchedPopSession);
    await expectSessions(control, 4, 'four poplib sessions logged in');

    const called = performance.now();
    const results = await control.lockMany({ targets: BULK, reason: 'bulk lock test' });
    const returned = performance.now();
    assert.deepEqual(
      results.map((r) => (r.ok ? [r.target, r.result.kind, r.result.changed, r.result.sessionsClosed] : [r.target, r.error.message])),
      BULK.map((a) => [a, 'mailbox', true, 1]),
    );
    await seenClosed(ctx, closing, called, returned);
    for (const s of closing) assert.equal(s.unasked, `${LOCKED_SESSION}\r\n`, `${s.address}: the last words before the close`);

    assert.equal(await (stay as WatchedPopSession).send('noop'), '+OK', 'a mailbox of the same domain not in the list goes on');
    assert.equal(stay?.closedAt, null);
    await expectSessions(control, 1, 'only the mailbox not listed left');

    const unlocked = await control.unlockMany({ targets: BULK });
    assert.deepEqual(unlocked.map((r) => r.ok && r.result.locked), [false, false, false]);
    assert.match(await (stay as WatchedPopSession).send('quit'), /^\+OK/);
    await expectSessions(control, 0, 'every client gone');
  });

  it('under a domain lock a wrong password gets the answer of any wrong password; only the right one is told of the lock', async () => {
    const locked = await winpop(['--mailroot', service.mailroot, '--config', service.config, 'lock', 'wrong-pw.test']);
    assert.equal(locked.code, 0, locked.stderr);
    assert.match(locked.stdout, /^Domain wrong-pw\.test locked\./);
    // One poplib client after another, as a user would try (the wrong ones are slowed by the penalty, which is fine here).
    const answers = await python<{ who: string; answer: string }>(
      `
import poplib
for who, user, password in ARGS['tries']:
    p = poplib.POP3('127.0.0.1', ARGS['port'], timeout=30)
    try:
        p.user(user)
        answer = p.pass_(password).decode('latin-1')
    except poplib.error_proto as e:
        answer = e.args[0].decode('latin-1')
    try:
        p.quit()
    except Exception:
        pass
    print(json.dumps({'who': who, 'answer': answer}))
`,
      {
        port,
        tries: [
          ['locked, right password', WRONG_PW_LOCKED, password(WRONG_PW_LOCKED)],
          ['locked, wrong password', WRONG_PW_LOCKED, 'not-the-password'],
          ['not locked, wrong password', WRONG_PW_OPEN, 'not-the-password'],
        ],
      },
      60_000,
    );
    const byWho = Object.fromEntries(answers.map((a) => [a.who, a.answer]));
    assert.equal(byWho['locked, right password'], LOCKED_LOGIN);
    assert.equal(byWho['not locked, wrong password'], BAD_CREDENTIALS);
    assert.equal(byWho['locked, wrong password'], byWho['not locked, wrong password'], 'the same answer as any wrong password');
    assert.doesNotMatch(byWho['locked, wrong password'] ?? '', /disabled|administrator|lock/i);
    await control.unlock({ target: 'wrong-pw.test' });
  });
});
