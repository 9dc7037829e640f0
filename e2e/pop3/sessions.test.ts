/**
 * Session rules of RFC 1939 through a raw socket: the maildrop lock
 * ([IN-USE]), DELE applied only at QUIT, RSET, stable UIDLs, pipelining,
 * CAPA, the autologout timer and the socket limits.
 */

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createPop3Server } from '../../electron/service/pop3/index.js';
import { silentLogger } from '../../electron/service/log.js';
import { deliver, RawClient, seedMailbox, startServer, unstuff, waitFor, wireForm, useStoreAndServer } from './support.js';

const msg = (n: number): string => `Subject: message ${n}\n\nBody of message ${n}.\n`;

describe('POP3 sessions', () => {
  const fx = useStoreAndServer();

  it('refuses a second session on the same maildrop with [IN-USE], and allows it after QUIT', async () => {
    await seedMailbox(fx.t.store, 'inuse@example.com', 'pw-inuse', [msg(1)]);
    const first = await RawClient.login(fx.srv.port, 'inuse@example.com', 'pw-inuse');
    const second = await RawClient.open(fx.srv.port);
    assert.match(await second.command('USER inuse@example.com'), /^\+OK/);
    assert.match(await second.command('PASS pw-inuse'), /^-ERR \[IN-USE\] /);
    assert.equal(await second.command('STAT'), '-ERR Log in first with USER and PASS.');
    assert.equal(await first.command('QUIT'), '+OK Bye.');
    await first.waitClosed();
    assert.match(await second.command('USER INUSE@Example.COM'), /^\+OK/, 'names are case-insensitive');
    assert.equal(await second.command('PASS pw-inuse'), '+OK Logged in; 1 message (' + wireForm(msg(1)).length + ' octets).');
    assert.equal(await second.command('QUIT'), '+OK Bye.');
  });

  it('applies DELE only at QUIT: a dropped connection deletes nothing', async () => {
    await seedMailbox(fx.t.store, 'dele@example.com', 'pw-dele', [msg(1), msg(2), msg(3)]);
    const dropped = await RawClient.login(fx.srv.port, 'dele@example.com', 'pw-dele');
    assert.match(await dropped.command('DELE 1'), /^\+OK/);
    assert.match(await dropped.command('DELE 2'), /^\+OK/);
    assert.equal(await dropped.command('STAT'), `+OK 1 ${wireForm(msg(3)).length}`);
    assert.match(await dropped.command('RETR 1'), /^-ERR Message 1 is already marked as deleted/);
    dropped.destroy();
    await waitFor(() => fx.srv.server.sessionCount() === 0, 'the dropped session to end');
    assert.equal((await fx.t.store.openMaildrop('dele@example.com')).messages.length, 3);

    const quitter = await RawClient.login(fx.srv.port, 'dele@example.com', 'pw-dele');
    assert.match(await quitter.command('UIDL 2'), /^\+OK 2 /);
    const uidl3 = (await quitter.command('UIDL 3')).split(' ')[2];
    assert.match(await quitter.command('DELE 2'), /^\+OK/);
    assert.match(await quitter.command('DELE 1'), /^\+OK/);
    assert.equal(await quitter.command('QUIT'), '+OK Bye; 2 messages deleted.');
    await quitter.waitClosed();
    const left = (await fx.t.store.openMaildrop('dele@example.com')).messages;
    assert.equal(left.length, 1);
    assert.equal(left[0]?.uidl, uidl3, 'the message not deleted keeps its UIDL');
  });

  it('RSET unmarks every DELE', async () => {
    await seedMailbox(fx.t.store, 'rset@example.com', 'pw-rset', [msg(1), msg(2)]);
    const c = await RawClient.login(fx.srv.port, 'rset@example.com', 'pw-rset');
    const total = wireForm(msg(1)).length + wireForm(msg(2)).length;
    assert.match(await c.command('DELE 1'), /^\+OK/);
    assert.match(await c.command('DELE 2'), /^\+OK/);
    assert.equal(await c.command('STAT'), '+OK 0 0');
    assert.equal(await c.command('LIST'), '+OK 0 messages (0 octets)');
    assert.deepEqual(await c.lines(), []);
    assert.equal(await c.command('RSET'), `+OK Maildrop has 2 messages (${total} octets).`);
    assert.equal(await c.command('STAT'), `+OK 2 ${total}`);
    assert.equal(await c.command('QUIT'), '+OK Bye.');
    assert.equal((await fx.t.store.openMaildrop('rset@example.com')).messages.length, 2);
  });

  it('keeps UIDLs distinct and stable across reopening the store and a new listener', async () => {
    await seedMailbox(fx.t.store, 'uidl@example.com', 'pw-uidl', [msg(1), msg(2), msg(3)]);
    const before = await RawClient.login(fx.srv.port, 'uidl@example.com', 'pw-uidl');
    assert.equal(await before.command('UIDL'), '+OK Unique-ID listing follows');
    const listed = await before.lines();
    assert.equal(listed.length, 3);
    const uidls = listed.map((line) => line.split(' ')[1] as string);
    assert.equal(new Set(uidls).size, 3);
    for (const u of uidls) assert.match(u, /^[\x21-\x7e]{1,70}$/);
    await before.command('QUIT');

    const reopened = await fx.t.reopen();
    const server2 = createPop3Server({ store: reopened, log: silentLogger, settings: () => fx.srv.settings });
    const { port } = await server2.listen(0, '127.0.0.1');
    try {
      await deliver(reopened, 'uidl@example.com', msg(4));
      const later = await RawClient.login(port, 'uidl@example.com', 'pw-uidl');
      await later.command('UIDL');
      const again = await later.lines();
      assert.deepEqual(again.slice(0, 3), listed);
      assert.equal(again.length, 4);
      assert.ok(!uidls.includes(again[3]?.split(' ')[1] as string), 'a new message gets a new UIDL');
      await later.command('QUIT');
    } finally {
      await server2.close();
    }
  });

  it('answers LIST, TOP and RETR consistently: sizes are the unstuffed CRLF octets', async () => {
    const body = 'Subject: sizes\n\n.\n.. \nline\r\nlone\rcr\nend';
    await seedMailbox(fx.t.store, 'sizes@example.com', 'pw-sizes', [body]);
    const c = await RawClient.login(fx.srv.port, 'sizes@example.com', 'pw-sizes');
    const listed = await c.command('LIST 1');
    const size = Number(listed.split(' ')[2]);
    assert.match(await c.command('RETR 1'), new RegExp(`^\\+OK ${size} octets$`));
    const stuffed = await c.multiline();
    assert.equal(stuffed.toString('latin1'), 'Subject: sizes\r\n\r\n..\r\n... \r\nline\r\nlone\rcr\r\nend\r\n');
    // The final line end the message lacked is sent, and counted (RFC 1939: exact octets).
    assert.equal(unstuff(stuffed).length, size);
    assert.equal(await c.command('TOP 1 0'), '+OK Top of message follows');
    assert.equal((await c.multiline()).toString(), 'Subject: sizes\r\n\r\n');
    assert.equal(await c.command('TOP 1 1'), '+OK Top of message follows');
    assert.equal((await c.multiline()).toString(), 'Subject: sizes\r\n\r\n..\r\n');
    assert.equal(await c.command('TOP 1 100'), '+OK Top of message follows');
    assert.deepEqual(await c.multiline(), stuffed);
    await c.command('QUIT');
  });

  it('serves a message another Maildir program wrote with CRLF line ends, CR and LF split across read chunks', async () => {
    await seedMailbox(fx.t.store, 'foreign@example.com', 'pw-foreign');
    // 37 bytes of head, then 100-byte lines: a CR lands on the last byte of the first 64 KiB read.
    const head = 'Subject: crlf\r\n\r\n' + 'y'.repeat(18) + '\r\n';
    const lines = Array.from({ length: 1500 }, (_, i) => (i % 7 === 0 ? '.' : 'z').padEnd(98, i % 5 === 0 ? '\r' : 'x') + '\r\n');
    const file = head + lines.join('');
    assert.equal(file.indexOf('\r\n', 65_535 - 2), 65_535);
    await writeFile(path.join(fx.t.root, 'example.com', 'foreign', 'new', '1700000000.M1P1.elsewhere'), file, 'latin1');
    const c = await RawClient.login(fx.srv.port, 'foreign@example.com', 'pw-foreign');
    assert.equal(await c.command('LIST 1'), `+OK 1 ${file.length}`);
    assert.equal(await c.command('RETR 1'), `+OK ${file.length} octets`);
    const body = await c.multiline();
    assert.equal(unstuff(body).toString('latin1'), file);
    assert.equal(body.length, file.length + Math.ceil(1500 / 7));
    await c.command('QUIT');
  });

  it('answers pipelined commands in order, including multi-line ones', async () => {
    await seedMailbox(fx.t.store, 'pipe@example.com', 'pw-pipe', [msg(1), msg(2)]);
    const c = await RawClient.open(fx.srv.port);
    c.send('CAPA\r\nUSER pipe@example.com\r\nPASS pw-pipe\r\nSTAT\r\nLIST\r\nRETR 2\r\nUIDL 1\r\nDELE 1\r\nNOOP\r\nRSET\r\nQUIT\r\n');
    assert.equal(await c.line(), '+OK Capability list follows');
    assert.ok((await c.lines()).includes('PIPELINING'));
    assert.match(await c.line(), /^\+OK Now send your password/);
    assert.match(await c.line(), /^\+OK Logged in; 2 messages/);
    assert.match(await c.line(), /^\+OK 2 \d+$/);
    assert.match(await c.line(), /^\+OK 2 messages/);
    assert.equal((await c.lines()).length, 2);
    assert.match(await c.line(), /^\+OK \d+ octets$/);
    assert.deepEqual(unstuff(await c.multiline()), wireForm(msg(2)));
    assert.match(await c.line(), /^\+OK 1 \S+$/);
    assert.match(await c.line(), /^\+OK Message 1 marked/);
    assert.equal(await c.line(), '+OK');
    assert.match(await c.line(), /^\+OK Maildrop has 2 messages/);
    assert.equal(await c.line(), '+OK Bye.');
    await c.waitClosed();
  });

  it('CAPA lists only what works, and hides USER when secure password authentication is required', async () => {
    const c = await RawClient.open(fx.srv.port);
    assert.equal(await c.command('capa'), '+OK Capability list follows');
    const caps = await c.lines();
    // No certificate on this listener: no STLS (e2e/tls covers the listener with one).
    assert.deepEqual(caps, ['TOP', 'UIDL', 'USER', 'SASL PLAIN', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'IMPLEMENTATION winpop']);
    fx.srv.settings.sparequired = true;
    try {
      await c.command('CAPA');
      const secureOnly = await c.lines();
      assert.ok(!secureOnly.includes('USER'));
      assert.ok(!secureOnly.includes('SASL PLAIN'));
      assert.match(await c.command('USER someone@example.com'), /^-ERR \[AUTH\] Plain-text log-in refused, encryption required/);
    } finally {
      fx.srv.settings.sparequired = false;
    }
    assert.equal(await c.command('QUIT'), '+OK Bye.');
  });

  it('never tells from USER whether a mailbox exists, and answers a bad log-in generically', async () => {
    const c = await RawClient.open(fx.srv.port);
    const known = await c.command('USER inuse@example.com');
    const unknown = await c.command('USER nobody@nowhere.example');
    assert.equal(known, unknown);
    assert.equal(await c.command('PASS whatever'), '-ERR [AUTH] Invalid user name or password.');
    assert.equal(await c.command('PASS whatever'), '-ERR Send USER with your full address (user@domain) before PASS.', 'a failed PASS needs USER again');
    await c.command('USER inuse@example.com');
    assert.equal(await c.command('PASS wrong'), '-ERR [AUTH] Invalid user name or password.');
    await c.command('QUIT');
  });

  it('logs out an idle session (autologout) without applying its deletions', async () => {
    const timed = await startServer(fx.t.store, { idleTimeoutSeconds: 1 });
    try {
      await seedMailbox(fx.t.store, 'idle@example.com', 'pw-idle', [msg(1)]);
      const c = await RawClient.login(timed.port, 'idle@example.com', 'pw-idle');
      assert.match(await c.command('DELE 1'), /^\+OK/);
      assert.equal(await c.line(5000), '-ERR Autologout; idle for too long');
      await c.waitClosed();
      await waitFor(() => timed.events.some((e) => e.type === 'sessionClosed'), 'the sessionClosed event');
      assert.deepEqual(timed.events.map((e) => [e.type, e.address, e.reason]), [
        ['sessionOpened', 'idle@example.com', undefined],
        ['sessionClosed', 'idle@example.com', 'autologout'],
      ]);
      assert.equal((await fx.t.store.openMaildrop('idle@example.com')).messages.length, 1);
    } finally {
      await timed.stop();
    }
  });

  it('serves at most socket.max sessions; the backlog waits for a slot, beyond it connections are refused', async () => {
    const limited = await startServer(fx.t.store, { socket: { max: 1, backlog: 1 } });
    try {
      const served = await RawClient.open(limited.port);
      const queued = await RawClient.connect(limited.port);
      const refused = await RawClient.connect(limited.port);
      assert.equal(await refused.line(), '-ERR [SYS/TEMP] Too many connections; try again later.');
      await refused.waitClosed();
      assert.equal(queued.unread, 0, 'a queued connection is not greeted while all sessions are busy');
      assert.equal(limited.server.sessionCount(), 1);
      assert.equal(await served.command('QUIT'), '+OK Bye.');
      assert.match(await queued.line(), /^\+OK pop3\.test POP3 service ready/);
      assert.equal(await queued.command('QUIT'), '+OK Bye.');
    } finally {
      await limited.stop();
    }
  });

  it('close() ends every session without applying deletions', async () => {
    const closing = await startServer(fx.t.store);
    await seedMailbox(fx.t.store, 'shutdown@example.com', 'pw-shutdown', [msg(1)]);
    const c = await RawClient.login(closing.port, 'shutdown@example.com', 'pw-shutdown');
    assert.match(await c.command('DELE 1'), /^\+OK/);
    await closing.stop();
    assert.equal(await c.line(), '-ERR [SYS/TEMP] The server is shutting down; try again later.');
    await c.waitClosed();
    assert.equal(closing.server.sessionCount(), 0);
    assert.equal((await fx.t.store.openMaildrop('shutdown@example.com')).messages.length, 1);
  });

  it('rejects listen() with the Node error when the port is taken', async () => {
    const other = createPop3Server({ store: fx.t.store, log: silentLogger, settings: () => fx.srv.settings });
    await assert.rejects(other.listen(fx.srv.port, '127.0.0.1'), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    await other.close();
  });
});
