/**
 * The administrator's lock against live POP3 sessions, through the path
 * users take: every lock and unlock goes to a running service through its
 * admin API (`winpop`, or the control channel winpop and a second console
 * use), never into the store or the listener directly. Open sessions end at
 * once with their deletions discarded, and new log-ins get the locked answer
 * only with the right password.
 *
 * The last block holds a log-in at the two places where a lock can land in
 * the middle of it (after the password check; after the maildrop claim) with
 * the service's test-only hold points, so each interleaving is certain, not
 * left to timing.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { AdminEvent } from '../../shared/contract.js';
import { connectControl, type ControlClient } from '../../electron/service/admin/control-client.js';
import { startService as startHost, type ServiceHost } from '../../electron/service/host.js';
import { silentLogger } from '../../electron/service/log.js';
import type { LoginHoldForTests, LoginHoldPoint } from '../../electron/service/pop3/session.js';
import { winpop } from '../helpers/processes.js';
import { expectSessions } from '../helpers/session-count.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { startService, type TestService } from '../hostile/support.js';
import { RawClient, waitFor } from './support.js';

const LOCKED_LOGIN = '-ERR [AUTH] Log-in to this mailbox is disabled by the administrator; its mail is still delivered. Contact your administrator.';
const LOCKED_SESSION = '-ERR [AUTH] Log-in to this mailbox was disabled by the administrator; session closed, nothing deleted.';
const BAD_CREDENTIALS = '-ERR [AUTH] Invalid user name or password.';
const LOGIN_FIRST = '-ERR Log in first with USER and PASS.';
const LOCK_CLOSE_REASON = 'locked by the administrator';
const msg = (n: number): string => `Subject: ${n}\n\nbody ${n}\n`;

/**
 * One USER/PASS on a fresh connection; `from` is the loopback source address,
 * so that a wrong password does not slow the next test's log-ins (the
 * failed-log-in penalty counts per client address).
 */
async function tryLogin(port: number, user: string, password: string, from?: string): Promise<string> {
  const c = track(await RawClient.open(port, from));
  await c.command(`USER ${user}`);
  const answer = await c.command(`PASS ${password}`);
  c.destroy();
  return answer;
}

/** Connections of the running test, ended after it whatever its outcome, so that a failure does not spill into the next test's counts. */
const opened: RawClient[] = [];
function track(client: RawClient): RawClient {
  opened.push(client);
  return client;
}
afterEach(async () => {
  const clients = opened.splice(0);
  for (const c of clients) c.destroy();
  await Promise.all(clients.map((c) => c.closed));
});

/** Open POP3 connections as the running service counts them (ServerInfo.sessions); waits until exactly `n`. */
describe('the lock through pop3svc and its admin API', () => {
  let service: TestService;
  let control: ControlClient;
  let port: number;
  const events: AdminEvent[] = [];
  const admin = (...args: string[]) => winpop(['--mailroot', service.mailroot, '--config', service.config, ...args]);
  const messagesOf = async (address: string): Promise<number> => {
    const domain = address.slice(address.indexOf('@') + 1);
    const row = (await control.listMailboxes({ domain })).find((m) => m.address === address);
    assert.ok(row, `${address} is listed`);
    return row.messages;
  };

  before(async () => {
    // The big message: still downloading while the client reads nothing.
    const big = `Subject: big\n\n${'x'.repeat(1000)}\n` + `${'y'.repeat(999)}\n`.repeat(20_000);
    service = await startService({
      mailboxes: [
        { address: 'locked@lock.example', password: 'pw-locked' },
        { address: 'stream@lock.example', password: 'pw-stream' },
        { address: 'one@dom.example', password: 'pw-one' },
        { address: 'two@dom.example', password: 'pw-two' },
        { address: 'three@other.example', password: 'pw-three' },
      ],
      messages: (address) => (address === 'stream@lock.example' ? [big, msg(2)] : address.endsWith('@dom.example') || address.startsWith('three@') ? [msg(1)] : [msg(1), msg(2)]),
    });
    port = service.svc.pop3Port;
    control = await service.control();
    control.onEvent((e) => events.push(e));
  });
  after(async () => {
    control?.close();
    await service?.cleanup();
  });

  it('winpop lock closes an open session of the mailbox, discarding its DELE marks; log-in then tells the lock only to the right password', async () => {
    const c = track(await RawClient.login(port, 'locked@lock.example', 'pw-locked'));
    assert.match(await c.command('DELE 1'), /^\+OK/);
    assert.match(await c.command('DELE 2'), /^\+OK/);

    const locked = await admin('lock', 'Locked@Lock.Example', '--reason', 'test');
    assert.equal(locked.code, 0, locked.stderr);
    assert.equal(locked.stdout.trim(), 'Mailbox locked@lock.example locked. It still receives mail. 1 open session closed.');
    assert.equal(await c.line(), LOCKED_SESSION);
    await c.waitClosed(3000);
    await waitFor(() => events.some((e) => e.type === 'sessionClosed' && e.address === 'locked@lock.example'), 'the sessionClosed event');
    const closed = events.find((e) => e.type === 'sessionClosed' && e.address === 'locked@lock.example');
    assert.equal(closed?.type === 'sessionClosed' && closed.reason, LOCK_CLOSE_REASON);
    assert.equal(await messagesOf('locked@lock.example'), 2, 'pending deletions are discarded');

    assert.equal(await tryLogin(port, 'locked@lock.example', 'pw-locked'), LOCKED_LOGIN);
    assert.equal(await tryLogin(port, 'locked@lock.example', 'not-it', '127.0.0.2'), BAD_CREDENTIALS);

    const unlocked = await admin('unlock', 'locked@lock.example');
    assert.equal(unlocked.code, 0, unlocked.stderr);
    const again = track(await RawClient.login(port, 'locked@lock.example', 'pw-locked'));
    assert.match(await again.command('STAT'), /^\+OK 2 /);
    assert.match(await again.command('QUIT'), /^\+OK/);
    await again.waitClosed(3000);
    await expectSessions(control, 0, 'after the last client quit');
  });

  it('a domain lock closes the sessions of every mailbox of the domain, and only those', async () => {
    const one = track(await RawClient.login(port, 'one@dom.example', 'pw-one'));
    const two = track(await RawClient.login(port, 'two@dom.example', 'pw-two'));
    const three = track(await RawClient.login(port, 'three@other.example', 'pw-three'));
    assert.match(await one.command('DELE 1'), /^\+OK/);
    await expectSessions(control, 3, 'three logged in');

    const result = await control.lock({ target: 'DOM.example', reason: 'test' });
    assert.deepEqual([result.kind, result.locked, result.changed, result.sessionsClosed], ['domain', true, true, 2]);
    assert.equal(await one.line(), LOCKED_SESSION);
    assert.equal(await two.line(), LOCKED_SESSION);
    await Promise.all([one.waitClosed(3000), two.waitClosed(3000)]);
    assert.equal(await three.command('NOOP'), '+OK', 'another domain is untouched');
    await expectSessions(control, 1, 'the domain lock closed its two');
    assert.equal(await messagesOf('one@dom.example'), 1);

    assert.equal(await tryLogin(port, 'two@dom.example', 'pw-two'), LOCKED_LOGIN);
    assert.equal(await tryLogin(port, 'two@dom.example', 'pw-one', '127.0.0.3'), BAD_CREDENTIALS);
    const again = await control.lock({ target: 'dom.example', reason: 'again' });
    assert.deepEqual([again.changed, again.sessionsClosed], [false, 0], 'nothing left to close');

    await control.unlock({ target: 'dom.example' });
    const back = track(await RawClient.login(port, 'two@dom.example', 'pw-two'));
    assert.match(await back.command('QUIT'), /^\+OK/);
    assert.match(await three.command('QUIT'), /^\+OK/);
    await Promise.all([back.waitClosed(3000), three.waitClosed(3000)]);
    await expectSessions(control, 0, 'after the last clients quit');
  });

  it('a lock during a RETR stream aborts the stream and closes the connection, deleting nothing', async () => {
    const c = track(await RawClient.login(port, 'stream@lock.example', 'pw-stream'));
    assert.match(await c.command('DELE 2'), /^\+OK/);
    c.socket.pause();
    c.send('RETR 1\r\n');
    await waitFor(() => c.socket.readableLength > 0, 'the download to start');
    const result = await control.lock({ target: 'stream@lock.example' });
    assert.equal(result.sessionsClosed, 1);
    c.socket.resume();
    await c.waitClosed(3000);
    assert.equal(await messagesOf('stream@lock.example'), 2);
    await control.unlock({ target: 'stream@lock.example' });
    await expectSessions(control, 0, 'the stream closed');
  });
});

/** Log-ins held at a hold point until the test releases them; the rest pass straight through. */
class LoginHolds {
  private readonly armed = new Map<string, { reached: () => void; released: Promise<void> }>();

  readonly hook: LoginHoldForTests = async (at, address) => {
    const key = `${at} ${address}`;
    const hold = this.armed.get(key);
    if (hold === undefined) return;
    this.armed.delete(key);
    hold.reached();
    await hold.released;
  };

  /** Holds the next log-in of `address` at `at`; `reached` resolves when it gets there. */
  arm(at: LoginHoldPoint, address: string): { reached: Promise<void>; release: () => void } {
    let reached: () => void = () => undefined;
    let release: () => void = () => undefined;
    const reachedP = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.armed.set(`${at} ${address}`, { reached, released });
    return { reached: reachedP, release };
  }
}

/** Each case in a domain of its own, so that a lock a failed case leaves behind does not hold up the next. */
const HELD_CASES = (['mailbox', 'domain'] as const).flatMap((kind) =>
  (['password-checked', 'maildrop-claimed'] as const).map((at) => {
    const address = `user@${kind}-${at}.example`;
    return { kind, at, address, target: kind === 'mailbox' ? address : `${kind}-${at}.example` };
  }),
);
const passwordOf = (address: string): string => `pw-${address.slice(address.indexOf('@') + 1)}`;

describe('a lock landing in the middle of a log-in, at each point where it can', () => {
  const holds = new LoginHolds();
  let dir: TempDir;
  let host: ServiceHost;
  let control: ControlClient;
  let port: number;

  before(async () => {
    dir = await tempDir('winpop-lock-hold-');
    host = await startHost({
      mailroot: path.join(dir.path, 'mail'),
      configPath: path.join(dir.path, 'config.json'),
      pop3Port: 0,
      smtpPort: 0,
      listen: '127.0.0.1',
      log: silentLogger,
      fsync: false,
      loginHoldForTests: holds.hook,
    });
    assert.ok(host.pop3Port, 'the POP3 listener runs');
    port = host.pop3Port;
    const client = await connectControl(host.mailroot, 'lock-test');
    assert.ok(client, 'the control channel answers');
    control = client;
    for (const { address } of HELD_CASES) {
      await control.addDomain({ domain: address.slice(address.indexOf('@') + 1) });
      await control.addMailbox({ address, password: passwordOf(address) });
    }
  });
  after(async () => {
    control?.close();
    await host?.stop();
    await dir?.remove();
  });

  /** Sends USER and PASS, and waits until the log-in is held at `at`. */
  async function heldLogin(at: LoginHoldPoint, address: string, password: string): Promise<{ client: RawClient; release: () => void }> {
    const hold = holds.arm(at, address);
    const client = track(await RawClient.open(port));
    assert.match(await client.command(`USER ${address}`), /^\+OK/);
    client.send(`PASS ${password}\r\n`);
    let timer: NodeJS.Timeout | undefined;
    const never = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the log-in of ${address} never reached the hold point ${at}`)), 10_000);
    });
    try {
      await Promise.race([hold.reached, never]);
    } finally {
      clearTimeout(timer);
    }
    return { client, release: hold.release };
  }

  /** After the unlock, the same held log-in goes through: the refusals came from the lock, not from the hold. */
  async function logsInThroughHold(at: LoginHoldPoint, address: string, password: string): Promise<void> {
    const { client, release } = await heldLogin(at, address, password);
    release();
    assert.match(await client.line(), /^\+OK Logged in/);
    assert.match(await client.command('QUIT'), /^\+OK/);
    await client.waitClosed(3000);
  }

  for (const { kind, at, address, target } of HELD_CASES) {
    const password = passwordOf(address);
    if (at === 'password-checked') {
      it(`a ${kind} lock after the password check, before the maildrop claim: the log-in reads the lock and is refused, the connection stays`, async () => {
        const { client, release } = await heldLogin(at, address, password);
        try {
          const result = await control.lock({ target, reason: 'mid-log-in' });
          assert.equal(result.sessionsClosed, 0, 'nothing had claimed the maildrop yet');
        } finally {
          release();
        }
        assert.equal(await client.line(), LOCKED_LOGIN);
        assert.equal(await client.command('STAT'), LOGIN_FIRST, 'still in AUTHORIZATION');
        await expectSessions(control, 1, 'the refused client is still connected');
        assert.match(await client.command('QUIT'), /^\+OK/);
        await client.waitClosed(3000);
        await expectSessions(control, 0, 'the refused client quit');

        await control.unlock({ target });
        await logsInThroughHold(at, address, password);
        await expectSessions(control, 0, 'the last client quit');
      });
    } else {
      it(`a ${kind} lock after the maildrop claim, before the lock is read again: the lock closes the log-in`, async () => {
        const { client, release } = await heldLogin(at, address, password);
        try {
          const result = await control.lock({ target, reason: 'mid-log-in' });
          assert.equal(result.sessionsClosed, 1, 'the claim makes the log-in one of the sessions the lock closes');
          // Closed while still held: the lock does not wait for the log-in to finish.
          assert.equal(await client.line(), LOCKED_LOGIN);
          await client.waitClosed(3000);
        } finally {
          release();
        }
        await expectSessions(control, 0, 'the lock closed the log-in');

        await control.unlock({ target });
        await logsInThroughHold(at, address, password);
        await expectSessions(control, 0, 'the last client quit');
      });
    }
  }
});
