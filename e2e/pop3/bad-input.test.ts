/**
 * Bad input never crashes the listener: unknown and malformed commands,
 * commands in the wrong state, bad message numbers, binary garbage, path
 * tricks in user names, and a 10 MB line, while other clients keep being
 * served.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processMemory, startService } from '../hostile/support.js';
import { makeStore, RawClient, seedMailbox, startServer, type TestServer, type TestStore } from './support.js';

/**
 * What the server's peak may grow by while a client sends a 10 MB line. The
 * server reads and drops what follows the first KiB, so its garbage until
 * the next collection is at most the 10 MB read (8-10 MB measured); a
 * reader that keeps the line, growing it chunk by chunk, peaks several
 * times higher (64-69 MB measured for one that refuses only at 9.5 MB).
 */
const LINE_GROWTH_LIMIT = 16 * 1024 * 1024;

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Why the peak memory of another process cannot be measured here, or false when it can (Linux /proc). */
function peakMemorySkip(): string | false {
  return processMemory(process.pid) === null ? `measuring the server's peak memory needs /proc (Linux); this is ${process.platform}` : false;
}

/**
 * Starts a new peak for the process's resident memory (VmHWM = VmRSS now),
 * so the peak read later is the one reached in between; returns the
 * resident size at the reset.
 */
function resetPeakMemory(pid: number): number {
  // "5" resets the peak resident set size (proc(5), /proc/pid/clear_refs, Linux 4.0 and later).
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const now = processMemory(pid);
  assert.ok(now, `no memory reading of pid ${pid}`);
  assert.equal(now.peak, now.rss, 'the peak was reset to the resident size');
  return now.rss;
}

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

  it('disconnects a client sending a 10 MB line, while another client keeps being served; the server process never holds the line', { skip: peakMemorySkip() }, async () => {
    // The server in a process of its own (pop3svc), so that its memory is not the test's, which holds the 10 MB it sends.
    const service = await startService({ mailboxes: [{ address: 'user@bad.example', password: 'pw-user' }], messages: () => ['Subject: 1\n\none\n', 'Subject: 2\n\ntwo\n'] });
    try {
      const port = service.svc.pop3Port;
      const good = await RawClient.login(port, 'user@bad.example', 'pw-user');
      const flood = await RawClient.open(port);
      const before = resetPeakMemory(service.pid);
      const chunk = Buffer.alloc(1024 * 1024, 0x41);
      for (let i = 0; i < 10; i++) flood.send(chunk);
      assert.equal(await flood.line(), '-ERR Line too long');
      await flood.waitClosed();
      assert.match(await good.command('STAT'), /^\+OK 2 \d+$/);
      const after = processMemory(service.pid);
      assert.ok(after, `no memory reading of pop3svc (pid ${service.pid}) after the flood`);
      const growth = after.peak - before;
      console.log(`10 MB line: pop3svc peak resident memory ${mb(before)} before, ${mb(after.peak)} during the flood (+${mb(growth)})`);
      assert.ok(growth < LINE_GROWTH_LIMIT, `pop3svc grew by ${mb(growth)} while a client sent a 10 MB line (limit ${mb(LINE_GROWTH_LIMIT)})`);
      assert.equal(await good.command('QUIT'), '+OK Bye.');
    } finally {
      await service.cleanup();
    }
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
