/**
 * STLS (RFC 2595) and POP3S on the listener, through a raw client that sees
 * every byte: what CAPA offers before and after TLS, "secure password
 * authentication required", plaintext pipelined after STLS, and the
 * commands that are refused around TLS.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeStore, RawClient, seedMailbox, startServer, type TestServer, type TestStore } from '../pop3/support.js';
import { selfSignedTls } from './tls-support.js';

const ADDRESS = 'tls@example.com';
const PASSWORD = 'tls-secret';
const plain = (user: string, password: string): string => Buffer.from(`\0${user}\0${password}`).toString('base64');

describe('STLS and POP3S', () => {
  let t: TestStore;
  let srv: TestServer;
  let pop3sPort: number;
  let ca: string;

  before(async () => {
    t = await makeStore();
    await seedMailbox(t.store, ADDRESS, PASSWORD, ['Subject: one\n\nover TLS\n']);
    const tls = await selfSignedTls(t.root);
    ca = tls.cert;
    srv = await startServer(t.store, {}, { tls: tls.context });
    pop3sPort = (await srv.server.listenTls(0, '127.0.0.1')).port;
  });
  after(async () => {
    await srv?.stop();
    await t?.cleanup();
  });

  it('CAPA offers STLS before TLS and not after; USER and SASL PLAIN on both', async () => {
    const c = await RawClient.open(srv.port);
    assert.equal(await c.command('CAPA'), '+OK Capability list follows');
    const before = await c.lines();
    for (const cap of ['STLS', 'USER', 'SASL PLAIN']) assert.ok(before.includes(cap), `plain CAPA lacks ${cap}: ${before.join(', ')}`);
    assert.equal(await c.command('STLS'), '+OK Begin TLS negotiation');
    const s = await c.startTls(ca);
    assert.equal(await s.command('CAPA'), '+OK Capability list follows');
    const after = await s.lines();
    assert.ok(!after.includes('STLS'), 'STLS must not be offered once TLS is active');
    for (const cap of ['USER', 'SASL PLAIN']) assert.ok(after.includes(cap), `CAPA over TLS lacks ${cap}`);
    assert.equal(await s.command('QUIT'), '+OK Bye.');
    await s.waitClosed();
  });

  it('discards plaintext pipelined after STLS instead of running it inside TLS', async () => {
    const c = await RawClient.open(srv.port);
    // An attacker in the middle could append commands to the client's STLS; they must die with the plaintext.
    c.send(`STLS\r\nUSER ${ADDRESS}\r\nCAPA\r\n`);
    assert.equal(await c.line(), '+OK Begin TLS negotiation');
    const s = await c.startTls(ca);
    // Had "USER" and "CAPA" been kept, their answers would come first, and PASS would log in.
    assert.equal(await s.command(`PASS ${PASSWORD}`), '-ERR Send USER with your full address (user@domain) before PASS.');
    assert.equal(await s.command('QUIT'), '+OK Bye.');
    assert.equal(s.unread, 0);
  });

  it('forgets a USER given before STLS', async () => {
    const c = await RawClient.open(srv.port);
    assert.match(await c.command(`USER ${ADDRESS}`), /^\+OK/);
    assert.equal(await c.command('STLS'), '+OK Begin TLS negotiation');
    const s = await c.startTls(ca);
    assert.equal(await s.command(`PASS ${PASSWORD}`), '-ERR Send USER with your full address (user@domain) before PASS.');
    await s.command('QUIT');
  });

  it('refuses STLS once TLS is active and after log-in', async () => {
    const c = await RawClient.open(srv.port);
    assert.equal(await c.command('STLS'), '+OK Begin TLS negotiation');
    const s = await c.startTls(ca);
    assert.equal(await s.command('STLS'), '-ERR TLS is already active on this connection.');
    await s.command('QUIT');

    const implicit = await RawClient.openTls(pop3sPort, ca);
    assert.equal(await implicit.command('STLS'), '-ERR TLS is already active on this connection.');
    await implicit.command('QUIT');

    const loggedIn = await RawClient.login(srv.port, ADDRESS, PASSWORD);
    assert.equal(await loggedIn.command('STLS'), '-ERR Already logged in; this command is only valid before log-in.');
    await loggedIn.command('QUIT');
  });

  it('with sparequired, refuses passwords in plain text with [AUTH] naming STLS and the POP3S port, and accepts them over TLS', async () => {
    srv.settings.sparequired = true;
    try {
      const c = await RawClient.open(srv.port);
      assert.equal(await c.command('CAPA'), '+OK Capability list follows');
      const offered = await c.lines();
      assert.ok(offered.includes('STLS'));
      assert.ok(!offered.includes('USER') && !offered.includes('SASL PLAIN'), `plain CAPA must not offer passwords: ${offered.join(', ')}`);
      const refusal = `-ERR [AUTH] Plain-text log-in refused, encryption required: use STLS or port ${pop3sPort} (POP3 over TLS).`;
      assert.equal(await c.command(`USER ${ADDRESS}`), refusal);
      assert.equal(await c.command(`AUTH PLAIN ${plain(ADDRESS, PASSWORD)}`), refusal);
      assert.equal(await c.command('AUTH PLAIN'), refusal, 'no "+ " challenge: the password must not follow in plain text');
      assert.equal(await c.command(`PASS ${PASSWORD}`), '-ERR Send USER with your full address (user@domain) before PASS.');

      assert.equal(await c.command('STLS'), '+OK Begin TLS negotiation');
      const s = await c.startTls(ca);
      assert.equal(await s.command('CAPA'), '+OK Capability list follows');
      const secured = await s.lines();
      assert.ok(secured.includes('USER') && secured.includes('SASL PLAIN'), `CAPA over TLS: ${secured.join(', ')}`);
      assert.match(await s.command(`USER ${ADDRESS}`), /^\+OK/);
      assert.match(await s.command(`PASS ${PASSWORD}`), /^\+OK Logged in; 1 message/);
      assert.equal(await s.command('QUIT'), '+OK Bye.');

      const implicit = await RawClient.openTls(pop3sPort, ca);
      assert.match(await implicit.command(`AUTH PLAIN ${plain(ADDRESS, PASSWORD)}`), /^\+OK Logged in; 1 message/);
      assert.match(await implicit.command('RETR 1'), /^\+OK \d+ octets$/);
      assert.equal((await implicit.multiline()).toString('latin1'), 'Subject: one\r\n\r\nover TLS\r\n');
      assert.equal(await implicit.command('QUIT'), '+OK Bye.');
    } finally {
      srv.settings.sparequired = false;
    }
  });

  it('drops a client whose TLS handshake fails, and goes on serving others', async () => {
    const c = await RawClient.open(srv.port);
    assert.equal(await c.command('STLS'), '+OK Begin TLS negotiation');
    c.send('this is not a TLS ClientHello\r\n');
    await c.waitClosed();

    const junk = await RawClient.connect(pop3sPort);
    junk.send('USER someone\r\n');
    await junk.waitClosed();

    const s = await RawClient.openTls(pop3sPort, ca);
    assert.match(await s.command(`AUTH PLAIN ${plain(ADDRESS, PASSWORD)}`), /^\+OK Logged in/);
    await s.command('QUIT');
  });
});

describe('STLS without a certificate', () => {
  let t: TestStore;
  let srv: TestServer;

  before(async () => {
    t = await makeStore();
    srv = await startServer(t.store, { sparequired: true });
  });
  after(async () => {
    await srv?.stop();
    await t?.cleanup();
  });

  it('is neither offered nor started, and sparequired says why nobody can log in', async () => {
    const c = await RawClient.open(srv.port);
    assert.equal(await c.command('CAPA'), '+OK Capability list follows');
    assert.ok(!(await c.lines()).includes('STLS'));
    assert.equal(await c.command('STLS'), '-ERR [SYS/PERM] STLS is not available: the server has no usable TLS certificate; ask your administrator.');
    assert.equal(
      await c.command('USER someone@example.com'),
      '-ERR [AUTH] Plain-text log-in refused, encryption required, but this server has no usable TLS certificate; ask your administrator.',
    );
    await assert.rejects(srv.server.listenTls(0, '127.0.0.1'), /needs a TLS certificate/);
    assert.equal(await c.command('QUIT'), '+OK Bye.');
  });
});
