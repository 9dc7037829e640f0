/**
 * The `winpop set socket…` limits made real, and the limits that keep one
 * client from hurting the others: the idle timeout (also for a client that
 * stops reading), the command line length, and PIPELINING that answers a
 * long pipelined batch exactly as the same commands sent one at a time.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { winpop } from '../helpers/processes.js';
import { makeStore, RawClient, seedMailbox, startServer, waitFor, type TestServer, type TestStore } from '../pop3/support.js';
import { Random, seedFrom, startService, type TestService } from './support.js';

describe('socket limits of a running pop3svc, set with winpop', () => {
  let service: TestService;

  before(async () => {
    service = await startService();
  });
  after(async () => {
    await service?.cleanup();
  });

  it('serves at most socketmax sessions, lets socketbacklog wait, refuses the rest with [SYS/TEMP]; a freed slot admits the next', async () => {
    // Backlog 1, max 2, min 1, threshold 1: applied by the running service at once, through its control channel.
    const set = await winpop(['--mailroot', service.mailroot, '--config', service.config, 'set', 'socket', '1', '2', '1', '1']);
    assert.equal(set.code, 0, set.stderr);
    const first = await RawClient.open(service.svc.pop3Port);
    const second = await RawClient.open(service.svc.pop3Port);
    const waiting = await RawClient.connect(service.svc.pop3Port);
    const refused = await RawClient.connect(service.svc.pop3Port);
    try {
      assert.equal(await refused.line(), '-ERR [SYS/TEMP] Too many connections; try again later.');
      await refused.waitClosed();
      // The service took the waiting connection before the refused one: it is queued, not greeted.
      assert.equal(waiting.unread, 0, 'a connection in the backlog is not greeted while all sessions are busy');
      assert.equal(waiting.isClosed, false);
      assert.equal(await first.command('QUIT'), '+OK Bye.');
      assert.match(await waiting.line(), /^\+OK .*POP3 service ready/);
      assert.equal(await waiting.command('CAPA'), '+OK Capability list follows');
      await waiting.lines();
    } finally {
      for (const c of [first, second, waiting, refused]) c.destroy();
    }
  });
});

describe('per-client limits', () => {
  let t: TestStore;
  let srv: TestServer;

  before(async () => {
    t = await makeStore();
    srv = await startServer(t.store, { idleTimeoutSeconds: 1 });
    await seedMailbox(t.store, 'pipe@limits.example', 'pw-pipe', messages());
  });
  after(async () => {
    await srv?.stop();
    await t?.cleanup();
  });

  // Logged in: before log-in the log-in timeout (one deadline, whatever the client does) closes any connection.
  it('logs out a client that pipelines megabytes of commands and never reads the answers', async () => {
    const c = await RawClient.login(srv.port, 'pipe@limits.example', 'pw-pipe');
    const flood = Buffer.from('NOOP\r\n'.repeat(40_000));
    // Stop reading: the answers pile up in the socket buffers until the server must wait for us.
    c.socket.pause();
    let sent = 0;
    const pump = (): void => {
      while (!c.isClosed && sent < 200 * 1024 * 1024) {
        sent += flood.length;
        if (!c.socket.write(flood)) {
          c.socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
    try {
      // Idle timeout 1 s: waiting for a client that does not read is a stall, not work in progress.
      // (Before the stall the server answers some 100,000 commands to fill the socket buffers; a busy machine takes a while.)
      await waitFor(() => srv.server.sessionCount() === 0, 'the stalled session to be logged out', 60_000);
    } finally {
      c.destroy();
    }
    const fresh = await RawClient.open(srv.port);
    assert.equal(await fresh.command('QUIT'), '+OK Bye.');
  });

  it('logs out a client that trickles a line byte by byte and never ends it', async () => {
    const c = await RawClient.login(srv.port, 'pipe@limits.example', 'pw-pipe');
    let stop = false;
    const trickle = (async () => {
      for (let i = 0; !stop && !c.isClosed && i < 200; i++) {
        c.send('x');
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      // Bytes of an unfinished line are not activity: the 1 s idle timer still runs out.
      assert.equal(await c.line(10_000), '-ERR Autologout; idle for too long');
      await c.waitClosed();
    } finally {
      stop = true;
      await trickle;
      c.destroy();
    }
  });

  it('serves a command line of 1024 octets and closes the connection on 1025', async () => {
    const ok = await RawClient.open(srv.port);
    assert.equal(await ok.command(`NOOP ${'x'.repeat(1024 - 5)}`), '-ERR Log in first with USER and PASS.');
    assert.equal(await ok.command('QUIT'), '+OK Bye.');
    const long = await RawClient.open(srv.port);
    long.send(`NOOP ${'x'.repeat(1025 - 5)}\r\n`);
    assert.equal(await long.line(), '-ERR Line too long');
    await long.waitClosed();
  });

  it('PIPELINING: 2,000 commands sent in one write get the answers the same commands get one at a time', async () => {
    const random = new Random(seedFrom('PIPELINE_SEED', 'pipelining batch'));
    const commands = randomSession(random, 2000);
    const lockstep = await RawClient.open(srv.port);
    const expected: string[] = [];
    for (const command of commands) {
      lockstep.send(`${command}\r\n`);
      expected.push(await readAnswer(lockstep, command));
    }
    await lockstep.waitClosed();

    const pipelined = await RawClient.open(srv.port);
    pipelined.send(commands.map((c) => `${c}\r\n`).join(''));
    const got: string[] = [];
    for (const command of commands) got.push(await readAnswer(pipelined, command));
    await pipelined.waitClosed();
    assert.equal(got.length, expected.length);
    for (let i = 0; i < got.length; i++) assert.equal(got[i], expected[i], `answer ${i + 1} to ${commands[i]}`);
  });
});

/** Twelve messages, some with lines that need dot-stuffing. */
function messages(): string[] {
  return Array.from({ length: 12 }, (_, i) => `Subject: pipelined ${i + 1}\n\n${'.dot line\n'.repeat(i)}${'body text\n'.repeat(20 * i + 1)}`);
}

/** USER/PASS, then a random mix of commands valid in TRANSACTION (and a few that are refused), then RSET and QUIT. */
function randomSession(random: Random, count: number): string[] {
  const n = (): number => random.int(0, 14); // 0 and 13–14 are not messages: refused
  const makers: (() => string)[] = [
    () => 'STAT',
    () => 'LIST',
    () => `LIST ${n()}`,
    () => 'UIDL',
    () => `UIDL ${n()}`,
    () => `RETR ${n()}`,
    () => `TOP ${n()} ${random.int(0, 5)}`,
    () => `DELE ${n()}`,
    () => 'RSET',
    () => 'NOOP',
    () => 'CAPA',
  ];
  const out = ['USER pipe@limits.example', 'PASS pw-pipe'];
  while (out.length < count - 2) out.push(random.pick(makers)());
  out.push('RSET', 'QUIT');
  return out;
}

const MULTI_LINE = /^(CAPA|LIST|UIDL|RETR \S+|TOP \S+ \S+)$/;

/** One whole answer: the status line, and the body when the command has one and succeeded. */
async function readAnswer(c: RawClient, command: string): Promise<string> {
  const status = await c.line(20_000);
  if (!status.startsWith('+OK') || !MULTI_LINE.test(command)) return status;
  const body = await c.multiline(20_000);
  return `${status}\n${body.toString('latin1')}`;
}
