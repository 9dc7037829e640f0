/**
 * The administrator's lock against live POP3 sessions: the admin layer writes
 * the lock to the store, then calls closeSessions; open sessions end at once
 * with their deletions discarded, and new log-ins get the locked answer only
 * with the right password.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LockInfo } from '../../shared/contract.js';
import { RawClient, seedMailbox, waitFor, useStoreAndServer } from './support.js';

const LOCK: LockInfo = { by: 'admin', at: new Date(0).toISOString(), reason: 'test' };
const LOCKED_LOGIN = '-ERR [AUTH] Log-in to this mailbox is disabled by the administrator; its mail is still delivered. Contact your administrator.';
const LOCKED_SESSION = '-ERR [AUTH] Log-in to this mailbox was disabled by the administrator; session closed, nothing deleted.';
const BAD_CREDENTIALS = '-ERR [AUTH] Invalid user name or password.';
const msg = (n: number): string => `Subject: ${n}\n\nbody ${n}\n`;

async function tryLogin(port: number, user: string, password: string): Promise<string> {
  const c = await RawClient.open(port);
  await c.command(`USER ${user}`);
  const answer = await c.command(`PASS ${password}`);
  c.destroy();
  return answer;
}

describe('POP3 and the lock', () => {
  const fx = useStoreAndServer();

  it('closes an open session of a locked mailbox, discarding its DELE marks; log-in then tells the lock only to the right password', async () => {
    await seedMailbox(fx.t.store, 'locked@lock.example', 'pw-locked', [msg(1), msg(2)]);
    const c = await RawClient.login(fx.srv.port, 'locked@lock.example', 'pw-locked');
    assert.match(await c.command('DELE 1'), /^\+OK/);
    assert.match(await c.command('DELE 2'), /^\+OK/);

    await fx.t.store.setMailboxLock('locked@lock.example', LOCK);
    assert.equal(fx.srv.server.closeSessions({ address: 'Locked@Lock.Example' }, 'mailbox locked'), 1);
    assert.equal(await c.line(), LOCKED_SESSION);
    await c.waitClosed(3000);
    await waitFor(() => fx.srv.events.some((e) => e.type === 'sessionClosed' && e.address === 'locked@lock.example'), 'sessionClosed');
    assert.equal(fx.srv.events.find((e) => e.type === 'sessionClosed' && e.address === 'locked@lock.example')?.reason, 'mailbox locked');
    assert.equal((await fx.t.store.openMaildrop('locked@lock.example')).messages.length, 2, 'pending deletions are discarded');

    const [right, wrong] = await Promise.all([tryLogin(fx.srv.port, 'locked@lock.example', 'pw-locked'), tryLogin(fx.srv.port, 'locked@lock.example', 'not-it')]);
    assert.equal(right, LOCKED_LOGIN);
    assert.equal(wrong, BAD_CREDENTIALS);

    await fx.t.store.setMailboxLock('locked@lock.example', null);
    const again = await RawClient.login(fx.srv.port, 'locked@lock.example', 'pw-locked');
    assert.match(await again.command('STAT'), /^\+OK 2 /);
    await again.command('QUIT');
  });

  it('a domain lock closes the sessions of every mailbox of the domain, and only those', async () => {
    await seedMailbox(fx.t.store, 'one@dom.example', 'pw-one', [msg(1)]);
    await seedMailbox(fx.t.store, 'two@dom.example', 'pw-two', [msg(1)]);
    await seedMailbox(fx.t.store, 'three@other.example', 'pw-three', [msg(1)]);
    const one = await RawClient.login(fx.srv.port, 'one@dom.example', 'pw-one');
    const two = await RawClient.login(fx.srv.port, 'two@dom.example', 'pw-two');
    const three = await RawClient.login(fx.srv.port, 'three@other.example', 'pw-three');
    assert.match(await one.command('DELE 1'), /^\+OK/);

    await fx.t.store.setDomainLock('dom.example', LOCK);
    assert.equal(fx.srv.server.closeSessions({ domain: 'DOM.example' }, 'domain locked'), 2);
    assert.equal(await one.line(), LOCKED_SESSION);
    assert.equal(await two.line(), LOCKED_SESSION);
    await Promise.all([one.waitClosed(3000), two.waitClosed(3000)]);
    assert.equal(await three.command('NOOP'), '+OK', 'another domain is untouched');
    assert.equal((await fx.t.store.openMaildrop('one@dom.example')).messages.length, 1);

    const [right, wrong] = await Promise.all([tryLogin(fx.srv.port, 'two@dom.example', 'pw-two'), tryLogin(fx.srv.port, 'two@dom.example', 'pw-one')]);
    assert.equal(right, LOCKED_LOGIN);
    assert.equal(wrong, BAD_CREDENTIALS);
    assert.equal(fx.srv.server.closeSessions({ domain: 'dom.example' }, 'again'), 0, 'nothing left to close');

    await fx.t.store.setDomainLock('dom.example', null);
    const back = await RawClient.login(fx.srv.port, 'two@dom.example', 'pw-two');
    await back.command('QUIT');
    await three.command('QUIT');
  });

  it('a lock during a RETR stream aborts the stream and closes the connection', async () => {
    // Big enough that the download is still running while the client reads nothing.
    const big = `Subject: big\n\n${'x'.repeat(1000)}\n`.repeat(1) + `${'y'.repeat(999)}\n`.repeat(20_000);
    await seedMailbox(fx.t.store, 'stream@lock.example', 'pw-stream', [big, msg(2)]);
    const c = await RawClient.login(fx.srv.port, 'stream@lock.example', 'pw-stream');
    assert.match(await c.command('DELE 2'), /^\+OK/);
    c.socket.pause();
    c.send('RETR 1\r\n');
    await waitFor(() => fx.srv.server.sessionCount() === 1 && c.socket.readableLength > 0, 'the download to start');
    await fx.t.store.setMailboxLock('stream@lock.example', LOCK);
    assert.equal(fx.srv.server.closeSessions({ address: 'stream@lock.example' }, 'mailbox locked'), 1);
    c.socket.resume();
    await c.waitClosed(3000);
    assert.equal((await fx.t.store.openMaildrop('stream@lock.example')).messages.length, 2);
    await fx.t.store.setMailboxLock('stream@lock.example', null);
  });

  it('never lets a log-in racing the lock through: each ends refused or closed', async () => {
    const names = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    for (const name of names) await seedMailbox(fx.t.store, `${name}@race.example`, `pw-${name}`, [msg(1)]);
    const clients = await Promise.all(names.map(() => RawClient.open(fx.srv.port)));
    await Promise.all(clients.map((c, i) => c.command(`USER ${names[i]}@race.example`)));
    // PASS goes out, and the lock lands while the password checks are in flight.
    clients.forEach((c, i) => c.send(`PASS pw-${names[i]}\r\n`));
    await new Promise((resolve) => setTimeout(resolve, (names.length * 7) % 40));
    await fx.t.store.setDomainLock('race.example', LOCK);
    fx.srv.server.closeSessions({ domain: 'race.example' }, 'domain locked');

    for (const c of clients) {
      const answer = await c.line();
      if (answer.startsWith('+OK')) {
        assert.equal(await c.line(), LOCKED_SESSION, 'a session logged in before the lock is closed by it');
        await c.waitClosed(3000);
      } else {
        assert.equal(answer, LOCKED_LOGIN);
        // Refused by the lock check, the client may go on in AUTHORIZATION; caught by closeSessions mid-log-in, it is closed.
        const next = await c.command('STAT').catch((err: Error) => err.message);
        assert.ok(['-ERR Log in first with USER and PASS.', 'connection closed'].includes(next), next);
        c.destroy();
      }
    }
    await waitFor(() => fx.srv.server.sessionCount() <= 1, 'the race sessions to end');
  });
});
