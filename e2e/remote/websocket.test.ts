/**
 * The admin endpoint's WebSocket, with the `ws` client against a whole
 * service on loopback: a signed-in console locks a mailbox and POP3
 * (Python's poplib) refuses its right password with the lock text while an
 * open session is closed; events reach the other consoles; the audit log
 * names the admin and its address; the upgrade needs the cookie and the
 * endpoint's own Origin; the account operations are refused there; deleting
 * an admin or changing its password ends its sessions and open WebSockets
 * before the call returns; an idle session ends and closes its WebSocket.
 */

import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { popFetchAll, openPopSession } from '../helpers/python.js';
import {
  auditLines,
  ConsoleSocket,
  cookieOf,
  eventually,
  postLogin,
  Refused,
  request,
  signIn,
  startEndpointHost,
  type EndpointHost,
} from './support.js';

const ALICE = { name: 'alice', password: 'Alice-admin-pw-1' };
const BOB = { name: 'bob', password: 'Bob-admin-pw-1' };
const CAROL = { name: 'carol', password: 'Carol-admin-pw-1' };
const USER = { address: 'user@example.com', password: 'User-pop-pw-1' };
const OTHER = { address: 'other@example.com', password: 'Other-pop-pw-1' };
const LOCK_TEXT = '-ERR [AUTH] Log-in to this mailbox is disabled by the administrator; its mail is still delivered. Contact your administrator.';

/** Opens a WebSocket and expects a refusal; returns it. */
async function refusal(t: EndpointHost, options: { cookie: string | null; origin: string | null; path?: string }): Promise<Refused> {
  try {
    const socket = await ConsoleSocket.open(t, options);
    socket.close();
  } catch (err) {
    if (err instanceof Refused) return err;
    throw err;
  }
  assert.fail(`the WebSocket was accepted with ${JSON.stringify(options)}`);
}

describe('a console on the admin endpoint', () => {
  let t: EndpointHost;

  before(async () => {
    t = await startEndpointHost({ admins: [ALICE, BOB, CAROL], mailboxes: [USER, OTHER] });
  });
  after(async () => {
    await t?.stop();
  });

  it('is greeted with the protocol version, the service, the admin and the computer', async () => {
    const socket = await ConsoleSocket.open(t, { cookie: await signIn(t, ALICE.name, ALICE.password), origin: t.origin });
    try {
      assert.deepEqual(await socket.next(), { hello: { version: 1, service: 'winpop', admin: 'alice', computer: os.hostname() } });
    } finally {
      socket.close();
    }
  });

  it('locks a mailbox: POP3 refuses its right password with the lock text, its open session is closed, another console hears of it, the audit log names alice and her address', async () => {
    const pop = openPopSession(t.host.pop3Port as number, USER.address, USER.password);
    const watcher = await ConsoleSocket.open(t, { cookie: await signIn(t, BOB.name, BOB.password), origin: t.origin });
    const socket = await ConsoleSocket.open(t, { cookie: await signIn(t, ALICE.name, ALICE.password), origin: t.origin });
    try {
      assert.match(await pop.loggedIn, /^\+OK/);
      await watcher.next();
      watcher.send({ id: 99, subscribe: true });
      assert.deepEqual((await watcher.nextWhere((f) => f.id === 99)).reply, { ok: true, result: { subscribed: true } });
      await socket.next();

      const reply = await socket.call('lock', { target: USER.address, reason: 'left the company' });
      assert.equal(reply.ok, true, JSON.stringify(reply));
      assert.equal(reply.result.locked, true);
      assert.equal(reply.result.sessionsClosed, 1);
      assert.equal(reply.result.lock.by, 'alice');

      const event = await watcher.nextWhere((f) => f.event?.type === 'locked');
      assert.deepEqual(event.event, { type: 'locked', target: USER.address, kind: 'mailbox', lock: reply.result.lock });

      assert.match(await pop.send('noop'), /^CLOSED |^-ERR/, 'the open POP3 session was closed by the lock');
      assert.deepEqual(await popFetchAll(t.host.pop3Port as number, USER.address, USER.password), { error: LOCK_TEXT });
      const other = await popFetchAll(t.host.pop3Port as number, OTHER.address, OTHER.password);
      assert.ok(!('error' in other), 'another mailbox still logs in');

      const line = (await auditLines(t.mailroot)).find((l) => l.op === 'lock' && l.target === USER.address);
      assert.ok(line, 'the lock is audited');
      assert.equal(line.actor, 'alice');
      const local = socket.ws as unknown as { _socket: { localPort: number } };
      assert.equal(line.remote, `127.0.0.1:${local._socket.localPort}`, 'the audit line names the console\'s address and port');
      assert.equal(line.uid, undefined, 'no OS user is claimed for a remote admin');
      assert.equal(line.result, 'ok');

      const unlock = await socket.call('unlock', { target: USER.address });
      assert.equal(unlock.ok, true);
      assert.ok(!('error' in (await popFetchAll(t.host.pop3Port as number, USER.address, USER.password))), 'unlocked: POP3 logs in again');
    } finally {
      pop.close();
      socket.close();
      watcher.close();
    }
  });

  it('answers bad frames with errors and stays open: bad JSON, a binary message, an unknown operation, bad arguments, a hello', async () => {
    const socket = await ConsoleSocket.open(t, { cookie: await signIn(t, ALICE.name, ALICE.password), origin: t.origin });
    try {
      await socket.next();
      /** The message of the next frame, which must be an error not tied to a call. */
      const nextError = async (): Promise<string> => {
        const frame = await socket.next();
        assert.ok(frame.error, `expected an error frame, got ${JSON.stringify(frame)}`);
        return String(frame.error.message);
      };
      socket.send('{"id":1,"op":');
      assert.match(await nextError(), /not valid JSON/);
      socket.ws.send(Buffer.from('{"id":2,"op":"listDomains","args":{}}'), { binary: true });
      assert.match(await nextError(), /JSON text message, not binary/);
      const unknown = await socket.call('formatDisk', {});
      assert.equal(unknown.error.code, 'INVALID_ARGUMENT');
      assert.match(unknown.error.message, /Unknown operation "formatDisk"/);
      const bad = await socket.call('lock', { target: 42 });
      assert.match(bad.error.message, /"target" must be a string/);
      socket.send({ hello: { actor: 'root', version: 2 } });
      assert.match(await nextError(), /hello and proof belong to the local control channel/);
      const fine = await socket.call('listDomains', {});
      assert.equal(fine.ok, true);
      assert.deepEqual(fine.result.map((d: { name: string }) => d.name), ['example.com']);
    } finally {
      socket.close();
    }
  });

  it('refuses the account operations: admins are managed only on the service\'s computer', async () => {
    const socket = await ConsoleSocket.open(t, { cookie: await signIn(t, ALICE.name, ALICE.password), origin: t.origin });
    try {
      await socket.next();
      for (const [op, args] of [
        ['addAdmin', { name: 'mallory', password: 'Mallory-pw-123' }],
        ['changeAdminPassword', { name: 'bob', password: 'Taken-over-123' }],
        ['deleteAdmin', { name: 'bob' }],
        ['listAdmins', {}],
        ['signInLink', {}],
      ] as const) {
        const reply = await socket.call(op, args);
        assert.equal(reply.ok, false, op);
        assert.equal(reply.error.code, 'NOT_ALLOWED', op);
        assert.match(reply.error.message, /managed only on the service's computer/, op);
      }
    } finally {
      socket.close();
    }
    const control = await t.control();
    try {
      assert.deepEqual((await control.listAdmins({})).map((a) => a.name), ['alice', 'bob', 'carol']);
    } finally {
      control.close();
    }
    assert.equal((await postLogin(t, BOB.name, BOB.password)).status, 200, 'bob\'s password is unchanged');
  });

  it('refuses an upgrade without the endpoint\'s own Origin (403), without a live session (401), or on another path (404)', async () => {
    const cookie = await signIn(t, ALICE.name, ALICE.password);
    for (const origin of ['https://evil.example', `https://evil.example:${t.port}`, `http://127.0.0.1:${t.port}`, `https://127.0.0.1:${t.port + 1}`, 'null', `https://localhost:${t.port}`]) {
      const r = await refusal(t, { cookie, origin });
      assert.equal(r.status, 403, `${origin}: ${r.body}`);
      assert.equal(JSON.parse(r.body).error.code, 'NOT_ALLOWED');
    }
    const none = await refusal(t, { cookie, origin: null });
    assert.equal(none.status, 403);
    assert.match(JSON.parse(none.body).error.message, /names no Origin/);

    const noCookie = await refusal(t, { cookie: null, origin: t.origin });
    assert.equal(noCookie.status, 401);
    assert.match(JSON.parse(noCookie.body).error.message, /no session/);
    const made = await refusal(t, { cookie: `__Host-winpop-session=${'x'.repeat(43)}`, origin: t.origin });
    assert.equal(made.status, 401);

    const loggedOut = await signIn(t, ALICE.name, ALICE.password);
    assert.equal((await request(t, { method: 'POST', path: '/api/logout', headers: { Cookie: loggedOut } })).status, 204);
    assert.equal((await refusal(t, { cookie: loggedOut, origin: t.origin })).status, 401, 'a signed-out cookie');

    assert.equal((await refusal(t, { cookie, origin: t.origin, path: '/api/other' })).status, 404);
  });

  it('signing out closes the session\'s open WebSocket at once', async () => {
    const cookie = await signIn(t, ALICE.name, ALICE.password);
    const socket = await ConsoleSocket.open(t, { cookie, origin: t.origin });
    await socket.next();
    assert.equal((await request(t, { method: 'POST', path: '/api/logout', headers: { Cookie: cookie, Origin: t.origin } })).status, 204);
    assert.match((await socket.next()).error.message, /Your session ended: signed out/);
    assert.equal((await socket.closedWithin()).code, 4001);
  });

  it('deleting an admin (over the control channel) ends its sessions and open WebSockets before the call returns', async () => {
    const cookie = await signIn(t, CAROL.name, CAROL.password);
    const socket = await ConsoleSocket.open(t, { cookie, origin: t.origin });
    await socket.next();
    const control = await t.control();
    try {
      const result = await control.deleteAdmin({ name: 'carol' });
      assert.deepEqual(result, { name: 'carol', sessionsEnded: 1 });
      // Not eventually: when the call has returned, the session is gone.
      assert.equal(t.host.adminEndpoint.sessionsOf('carol'), 0);
    } finally {
      control.close();
    }
    const frame = await socket.next();
    assert.match(frame.error.message, /Your session ended: the admin account carol was deleted/);
    assert.equal((await socket.closedWithin()).code, 4001);
    assert.equal((await request(t, { path: '/api/session', headers: { Cookie: cookie } })).status, 401);
    assert.equal((await refusal(t, { cookie, origin: t.origin })).status, 401);
    assert.equal((await postLogin(t, CAROL.name, CAROL.password)).status, 401, 'a deleted admin cannot sign in');
  });

  it('a new password ends the admin\'s sessions at once; the old password no longer signs in, the new one does', async () => {
    const cookie = await signIn(t, BOB.name, BOB.password);
    const socket = await ConsoleSocket.open(t, { cookie, origin: t.origin });
    await socket.next();
    const control = await t.control();
    try {
      // Bob signed in earlier in this suite too: every one of his sessions ends.
      const open = t.host.adminEndpoint.sessionsOf('bob');
      assert.ok(open >= 1);
      const result = await control.changeAdminPassword({ name: 'bob', password: 'Bob-new-pw-2' });
      assert.deepEqual(result, { name: 'bob', sessionsEnded: open });
      assert.equal(t.host.adminEndpoint.sessionsOf('bob'), 0);
    } finally {
      control.close();
    }
    assert.match((await socket.next()).error.message, /password of the admin account bob was changed/);
    assert.equal((await socket.closedWithin()).code, 4001);
    assert.equal((await request(t, { path: '/api/session', headers: { Cookie: cookie } })).status, 401);
    assert.equal((await postLogin(t, BOB.name, BOB.password, { localAddress: '127.0.0.9' })).status, 401);
    assert.equal((await postLogin(t, BOB.name, 'Bob-new-pw-2', { localAddress: '127.0.0.10' })).status, 200);
  });
});

describe('an idle session', () => {
  let t: EndpointHost;
  before(async () => {
    t = await startEndpointHost({ admins: [ALICE], adminEndpoint: { sessions: { idleMs: 1500 } } });
  });
  after(async () => {
    await t?.stop();
  });

  it('ends after its idle time: its open WebSocket is closed, and its cookie no longer opens one', async () => {
    const cookie = cookieOf(await postLogin(t, ALICE.name, ALICE.password));
    const socket = await ConsoleSocket.open(t, { cookie, origin: t.origin });
    assert.equal((await socket.next()).hello.admin, 'alice');
    // Nothing is sent: the session is idle from now.
    const frame = await socket.next(20_000);
    assert.match(frame.error.message, /Your session ended: the session was idle for 2 seconds/);
    assert.equal((await socket.closedWithin()).code, 4001);
    await eventually(() => t.host.adminEndpoint.sessionsOf('alice') === 0, 'the session to be gone');
    assert.equal((await refusal(t, { cookie, origin: t.origin })).status, 401, 'an expired cookie');
    assert.equal((await request(t, { path: '/api/session', headers: { Cookie: cookie } })).status, 401);
  });
});
