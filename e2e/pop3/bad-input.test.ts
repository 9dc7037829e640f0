/**
 * Bad input never crashes the listener: unknown and malformed commands,
 * commands in the wrong state, bad message numbers, binary garbage, path
 * tricks in user names, and a 10 MB line, while other clients keep being
 * served.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeStore, RawClient, seedMailbox, startServer, type TestServer, type TestStore } from './support.js';

describe('POP3 bad input', () => {
  let t: TestStore;
  let srv: TestServer;

  before(async () => {
    t = await makeStore();
    srv = await startServer(t.store);
    await seedMailbox(t.store, 'user@bad.example', 'pw-user', ['Subject: 1\n\none\n', 'Subject: 2\n\ntwo\n']);
  });
  after(async () => {
    await srv?.stop();
    await t?.cleanup();
  });

  it('answers unknown, empty and malformed commands with clear errors', async () => {
    const c = await RawClient.open(srv.port);
    assert.equal(await c.command('HELO there'), '-ERR Unknown command');
    assert.equal(await c.command(''), '-ERR Empty command line; send a command such as CAPA, USER or QUIT.');
    assert.equal(await c.command('USER'), '-ERR USER needs your full mailbox address, for example: USER someone@example.com');
    assert.equal(await c.command('PASS secret'), '-ERR Send USER with your full address (user@domain) before PASS.');
    assert.equal(await c.command('APOP user@bad.example 0123456789abcdef0123456789abcdef'), '-ERR APOP is not supported; log in with USER and PASS.');
    assert.equal(await c.command('CAPA now'), '-ERR Wrong arguments for CAPA; usage: CAPA');
    // A good command in between: ten bad ones in a row would close the connection.
    assert.equal(await c.command('CAPA'), '+OK Capability list follows');
    await c.lines();
    for (const cmd of ['STAT', 'LIST', 'RETR 1', 'DELE 1', 'UIDL', 'TOP 1 1', 'RSET', 'NOOP']) {
      assert.equal(await c.command(cmd), '-ERR Log in first with USER and PASS.', cmd);
    }
    assert.equal(await c.command('QUIT'), '+OK Bye.');
  });

  it('checks message numbers and arguments after log-in', async () => {
    const c = await RawClient.login(srv.port, 'user@bad.example', 'pw-user');
    for (const arg of ['0', '99999', '3']) assert.equal(await c.command(`RETR ${arg}`), '-ERR No such message; messages are numbered 1 to 2.', arg);
    for (const arg of ['-1', 'abc', '1.0', '0x1', '12345678901']) {
      assert.equal(await c.command(`LIST ${arg}`), '-ERR Invalid message number; use a decimal number (messages are numbered 1 to 2).', arg);
    }
    assert.equal(await c.command('NOOP'), '+OK');
    assert.equal(await c.command('RETR'), '-ERR RETR needs a message number; messages are numbered 1 to 2.');
    assert.equal(await c.command('DELE 1 2'), '-ERR Wrong arguments for DELE; usage: DELE message-number');
    assert.equal(await c.command('TOP 1'), '-ERR Wrong arguments for TOP; usage: TOP message-number lines, for example TOP 1 10');
    assert.equal(await c.command('TOP 1 -5'), '-ERR Invalid line count; use a decimal number of 0 or more, for example TOP 1 10.');
    assert.equal(await c.command('NOOP'), '+OK');
    assert.equal(await c.command('USER other@bad.example'), '-ERR Already logged in; this command is only valid before log-in.');
    assert.match(await c.command('dele 1'), /^\+OK/, 'commands are case-insensitive');
    assert.equal(await c.command('DELE 1'), '-ERR Message 1 is already marked as deleted.');
    assert.equal(await c.command('LIST 1'), '-ERR Message 1 is already marked as deleted.');
    assert.match(await c.command('list 2'), /^\+OK 2 \d+$/);
    assert.match(await c.command('RSET'), /^\+OK/);
    assert.equal(await c.command('QUIT'), '+OK Bye.');
    assert.equal((await t.store.openMaildrop('user@bad.example')).messages.length, 2);
  });

  it('answers binary garbage line by line, and closes after too many bad commands in a row', async () => {
    const c = await RawClient.open(srv.port);
    const garbage = (): Buffer => Buffer.concat([randomBytes(40).map((b) => (b === 0x0a || b === 0x0d ? 0 : b)), Buffer.from('\r\n')]);
    for (let i = 0; i < 5; i++) {
      c.send(garbage());
      assert.match(await c.line(), /^-ERR /);
    }
    c.send(Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a]));
    assert.equal(await c.line(), '-ERR Unknown command');
    assert.equal(await c.command('CAPA'), '+OK Capability list follows', 'a good command resets the count');
    await c.lines();
    for (let i = 0; i < 9; i++) {
      c.send(garbage());
      assert.match(await c.line(), /^-ERR /);
    }
    c.send(garbage());
    assert.match(await c.line(), /^-ERR /);
    assert.equal(await c.line(), '-ERR Too many bad commands; closing the connection.');
    await c.waitClosed();
  });

  it('takes odd user names, NUL and ../ included, as nothing more than a failed log-in', async () => {
    const names = ['../../etc/passwd', '..@..', 'user@bad.example/../x', 'us\u0000er@bad.example', 'a@b', '@bad.example', 'user@'];
    const answers = await Promise.all(
      names.map(async (name) => {
        const c = await RawClient.open(srv.port);
        const user = await c.command(`USER ${name}`);
        const pass = await c.command('PASS pw-user');
        await c.command('QUIT');
        return [user.slice(0, 3), pass];
      }),
    );
    for (const answer of answers) assert.deepEqual(answer, ['+OK', '-ERR [AUTH] Invalid user name or password.']);
  });

  it('disconnects a client sending a 10 MB line, while another client keeps being served', async () => {
    const good = await RawClient.login(srv.port, 'user@bad.example', 'pw-user');
    const flood = await RawClient.open(srv.port);
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 10; i++) flood.send(chunk);
    assert.equal(await flood.line(), '-ERR Line too long');
    await flood.waitClosed();
    assert.match(await good.command('STAT'), /^\+OK 2 \d+$/);
    // The server kept at most a few KiB of that line (the client's own 10 MB buffers are in the same process).
    assert.ok(process.memoryUsage().arrayBuffers - before < 40 * 1024 * 1024);
    assert.equal(await good.command('QUIT'), '+OK Bye.');
  });

  it('accepts a long but legal line and a password with spaces', async () => {
    await seedMailbox(t.store, 'spaces@bad.example', 'a pass phrase with spaces', []);
    const c = await RawClient.open(srv.port);
    assert.equal(await c.command(`NOOP ${'x'.repeat(900)}`), '-ERR Log in first with USER and PASS.');
    await c.command('USER spaces@bad.example');
    assert.equal(await c.command('PASS a pass phrase with spaces'), '+OK Logged in; 0 messages (0 octets).');
    assert.equal(await c.command('LIST'), '+OK 0 messages (0 octets)');
    assert.deepEqual(await c.lines(), []);
    assert.equal(await c.command('RETR 1'), '-ERR No such message; the maildrop is empty.');
    assert.equal(await c.command('QUIT'), '+OK Bye.');
  });

  it('reports store problems with [SYS/PERM] and [SYS/TEMP], and keeps serving', async () => {
    await seedMailbox(t.store, 'gone@bad.example', 'pw-gone', ['Subject: 1\n\none\n', 'Subject: 2\n\ntwo\n']);
    const c = await RawClient.login(srv.port, 'gone@bad.example', 'pw-gone');
    const [first] = (await t.store.openMaildrop('gone@bad.example')).messages;
    await rm(path.join(t.root, 'bad.example', 'gone', first?.file as string));
    assert.equal(await c.command('RETR 1'), '-ERR [SYS/PERM] Message 1 is no longer in the mailbox; it may have been removed by the administrator.');
    assert.match(await c.command('RETR 2'), /^\+OK/);
    await c.multiline();
    await c.command('QUIT');

    await seedMailbox(t.store, 'broken@bad.example', 'pw-broken');
    await writeFile(path.join(t.root, 'bad.example', 'broken', '.winpop-mailbox.json'), '{ not json');
    const b = await RawClient.open(srv.port);
    await b.command('USER broken@bad.example');
    // Damaged: only the administrator can repair it, so trying again later is no use (RFC 3206 SYS/PERM).
    assert.equal(await b.command('PASS pw-broken'), "-ERR [SYS/PERM] The server's record of this mailbox is damaged; log-in is impossible until the administrator repairs it. Contact your administrator.");
    assert.equal(await b.command('QUIT'), '+OK Bye.');
  });
});
