/**
 * No client may hold the slots of the others: a per-client connection cap
 * (waiting or served, greeted or not), refused with [SYS/TEMP] and logged
 * once per client per minute; a log-in deadline that closes a connection
 * that does not log in however busy it keeps itself, and bounds the wait of
 * one in the backlog too, while logged-in sessions keep the longer
 * autologout. Clients are told apart by their loopback source address
 * (127.0.0.x), as different machines would be.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clientAddressKey as clientKey } from '../../electron/service/client-address.js';
import { REPLY } from '../../electron/service/pop3/responses.js';
import { makeStore, RawClient, seedMailbox, startServer, waitFor, type TestStore } from '../pop3/support.js';
import { capturingLogger } from '../tls/tls-support.js';

describe('clients are counted by address: IPv4-mapped as IPv4, IPv6 by its /64', () => {
  it('gives one key per client', () => {
    assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
    assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(clientKey('::FFFF:192.0.2.7'), '192.0.2.7');
    // Every address of one /64 is one client; the next /64 is another.
    assert.equal(clientKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:0db8:0001:0002:abcd:ef01:2345:6789'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8:1:3::1'), '2001:db8:1:3::/64');
    assert.equal(clientKey('2001:db8::1'), '2001:db8::/64');
    assert.equal(clientKey('::1'), '::/64');
    assert.equal(clientKey('fe80::1%eth0'), 'fe80::/64');
    assert.equal(clientKey('64:ff9b::192.0.2.7'), '64:ff9b::/64');
  });
});

describe('the per-client connection cap', () => {
  let t: TestStore;
  before(async () => {
    t = await makeStore();
  });
  after(async () => {
    await t?.cleanup();
  });

  it('refuses the 11th connection of one address with [SYS/TEMP] and closes it, while another address is still greeted', async () => {
    const logs = capturingLogger();
    const srv = await startServer(t.store, { connectionsPerAddress: 10 }, { log: logs.log });
    const held: RawClient[] = [];
    try {
      for (let i = 0; i < 10; i++) held.push(await RawClient.open(srv.port, '127.0.0.2'));
      const over = await RawClient.connect(srv.port, '127.0.0.2');
      assert.equal(await over.line(), REPLY.tooManyFromAddress);
      await over.waitClosed();

      const other = await RawClient.open(srv.port, '127.0.0.3');
      assert.equal(await other.command('QUIT'), '+OK Bye.');

      // Five more refusals within the minute: still one line in the log for that address.
      for (let i = 0; i < 5; i++) {
        const again = await RawClient.connect(srv.port, '127.0.0.2');
        assert.equal(await again.line(), REPLY.tooManyFromAddress);
        await again.waitClosed();
      }
      const refusals = logs.lines.filter((line) => line.includes('pop3 connection refused: too many from one client'));
      assert.equal(refusals.length, 1, refusals.join(''));
      assert.match(refusals[0] as string, /client=127\.0\.0\.2 connections=10/);
    } finally {
      for (const c of held) c.destroy();
      await srv.stop();
    }
  });

  it('gives the place of a closed connection back, and applies a changed cap to new connections', async () => {
    const srv = await startServer(t.store, { connectionsPerAddress: 3 });
    const held: RawClient[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(await RawClient.open(srv.port, '127.0.0.4'));
      const over = await RawClient.connect(srv.port, '127.0.0.4');
      assert.equal(await over.line(), REPLY.tooManyFromAddress);

      assert.equal(await (held.shift() as RawClient).command('QUIT'), '+OK Bye.');
      await waitFor(() => srv.server.sessionCount() === 2, 'the session that quit to be gone');
      held.push(await RawClient.open(srv.port, '127.0.0.4'));

      srv.settings.connectionsPerAddress = 4;
      held.push(await RawClient.open(srv.port, '127.0.0.4'));
      const overAgain = await RawClient.connect(srv.port, '127.0.0.4');
      assert.equal(await overAgain.line(), REPLY.tooManyFromAddress);
    } finally {
      for (const c of held) c.destroy();
      await srv.stop();
    }
  });

  it('counts connections waiting for a free session too, so one client cannot fill the backlog either', async () => {
    const srv = await startServer(t.store, { connectionsPerAddress: 3, socket: { max: 2, backlog: 20 } });
    const held: RawClient[] = [];
    try {
      held.push(await RawClient.open(srv.port, '127.0.0.5'), await RawClient.open(srv.port, '127.0.0.5'));
      const waiting = await RawClient.connect(srv.port, '127.0.0.5');
      held.push(waiting);
      const over = await RawClient.connect(srv.port, '127.0.0.5');
      assert.equal(await over.line(), REPLY.tooManyFromAddress, 'the fourth is refused, not queued');
      await over.waitClosed();
      assert.equal(waiting.unread, 0, 'the third waits, not greeted');
      // Another client still gets into the backlog, and its turn.
      const other = await RawClient.connect(srv.port, '127.0.0.6');
      held.push(other);
      assert.equal(await (held.shift() as RawClient).command('QUIT'), '+OK Bye.');
      assert.match(await waiting.line(), /^\+OK /);
      assert.equal(await (held.shift() as RawClient).command('QUIT'), '+OK Bye.');
      assert.match(await other.line(), /^\+OK /);
    } finally {
      for (const c of held) c.destroy();
      await srv.stop();
    }
  });
});

describe('the log-in timeout', () => {
  let t: TestStore;
  before(async () => {
    t = await makeStore();
    await seedMailbox(t.store, 'stays@slots.example', 'pw-stays', ['Subject: one\n\nbody\n']);
  });
  after(async () => {
    await t?.cleanup();
  });

  it('closes a connection that does not log in, even one that keeps talking, while a logged-in session stays', async () => {
    const srv = await startServer(t.store, { loginTimeoutSeconds: 1, idleTimeoutSeconds: 600 });
    const clients: RawClient[] = [];
    let talking = true;
    try {
      const loggedIn = await RawClient.login(srv.port, 'stays@slots.example', 'pw-stays');
      clients.push(loggedIn);
      const silent = await RawClient.open(srv.port, '127.0.0.7');
      const chatty = await RawClient.open(srv.port, '127.0.0.8');
      clients.push(silent, chatty);
      // CAPA is valid before log-in: busy, but never logging in.
      const chatter = (async () => {
        while (talking && !chatty.isClosed) {
          chatty.send('CAPA\r\n');
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      await silent.waitClosed(10_000);
      await chatty.waitClosed(10_000);
      talking = false;
      await chatter;
      const silentText = silent.handOver().toString('latin1');
      assert.ok(silentText.endsWith(`${REPLY.loginTimeout}\r\n`), `the silent one was told why: ${JSON.stringify(silentText)}`);
      assert.ok(chatty.handOver().toString('latin1').endsWith(`${REPLY.loginTimeout}\r\n`), 'the chatty one was told why');

      assert.match(await loggedIn.command('STAT'), /^\+OK 1 /, 'the logged-in session is still served');
      assert.equal(await loggedIn.command('QUIT'), '+OK Bye.');
    } finally {
      talking = false;
      for (const c of clients) c.destroy();
      await srv.stop();
    }
  });

  it('bounds the wait of a connection in the backlog by the log-in timeout', async () => {
    const srv = await startServer(t.store, { loginTimeoutSeconds: 1, idleTimeoutSeconds: 600, socket: { max: 1, backlog: 5 } });
    const clients: RawClient[] = [];
    try {
      const served = await RawClient.login(srv.port, 'stays@slots.example', 'pw-stays');
      const waiting = await RawClient.connect(srv.port, '127.0.0.9');
      clients.push(served, waiting);
      assert.equal(await waiting.line(10_000), REPLY.tooManyConnections);
      await waiting.waitClosed();
      assert.match(await served.command('NOOP'), /^\+OK/, 'the session that holds the slot is logged in and stays');
      assert.equal(await served.command('QUIT'), '+OK Bye.');
    } finally {
      for (const c of clients) c.destroy();
      await srv.stop();
    }
  });
});
