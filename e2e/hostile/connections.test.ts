/**
 * Hostile connection patterns: clients that send and read one byte at a
 * time, 1,000 connections at once, and clients that hang up abruptly in
 * every protocol state. The server keeps serving the others, counts no
 * session that is gone, and never leaves a maildrop held ([IN-USE]).
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { deliver, makeStore, RawClient, seedMailbox, startServer, unstuff, waitFor, wireForm, type TestServer, type TestStore } from '../pop3/support.js';
import { eventually, Random, seedFrom, sessionCount, startService, type TestService } from './support.js';

const CONNECTIONS = 1000;

/** The soft limit on open files, or null when it cannot be read. */
function openFileLimit(): Promise<number | null> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', 'ulimit -n'], (err, stdout) => {
      const text = String(stdout).trim();
      resolve(err ? null : text === 'unlimited' ? Infinity : Number(text) || null);
    });
  });
}

function socketTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Writes one byte at a time, each in its own TCP segment. */
async function trickle(s: Socket, text: string): Promise<void> {
  for (const byte of Buffer.from(text, 'latin1')) {
    s.write(Buffer.from([byte]));
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Reads exactly one byte at a time (paused mode), until `done` says the text so far is complete. */
async function readByByte(s: Socket, done: (text: string) => boolean, ms = 30_000): Promise<string> {
  let text = '';
  const until = Date.now() + ms;
  while (!done(text)) {
    const byte = s.read(1) as Buffer | null;
    if (byte !== null) {
      text += byte.toString('latin1');
      continue;
    }
    if (s.destroyed || Date.now() > until) throw new Error(`stopped after ${text.length} bytes: ${JSON.stringify(text.slice(-200))}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, 50);
      function finish(): void {
        clearTimeout(timer);
        s.off('readable', finish);
        resolve();
      }
      s.once('readable', finish);
    });
  }
  return text;
}

describe('slow and many clients, against a running pop3svc', () => {
  let service: TestService;
  const MESSAGE = `Subject: slow\n\n.starts with a dot\n${'a line of the body\n'.repeat(40)}`;

  before(async () => {
    service = await startService({
      // All from 127.0.0.1: the per-address cap is raised with the slots.
      settings: { logging: 1, socket: { backlog: 200, max: CONNECTIONS + 100, min: 10, threshold: 3 }, connectionsPerAddress: CONNECTIONS + 100 },
      mailboxes: [{ address: 'slow@conn.example', password: 'pw-slow' }],
      messages: () => [MESSAGE],
    });
  });
  after(async () => {
    await service?.cleanup();
  });

  it('a client that writes and reads one byte at a time logs in, lists, retrieves and quits', async () => {
    const s = await socketTo(service.svc.pop3Port);
    s.pause();
    try {
      const lineDone = (t: string): boolean => t.endsWith('\r\n');
      const bodyDone = (t: string): boolean => t.endsWith('\r\n.\r\n');
      assert.match(await readByByte(s, lineDone), /^\+OK .*POP3 service ready/);
      await trickle(s, 'USER slow@conn.example\r\n');
      assert.match(await readByByte(s, lineDone), /^\+OK/);
      await trickle(s, 'PASS pw-slow\r\n');
      assert.equal(await readByByte(s, lineDone), `+OK Logged in; 1 message (${wireForm(MESSAGE).length} octets).\r\n`);
      await trickle(s, 'LIST\r\n');
      assert.equal(await readByByte(s, bodyDone), `+OK 1 messages (${wireForm(MESSAGE).length} octets)\r\n1 ${wireForm(MESSAGE).length}\r\n.\r\n`);
      await trickle(s, 'RETR 1\r\n');
      const retr = await readByByte(s, bodyDone);
      const body = retr.slice(retr.indexOf('\r\n') + 2, -'.\r\n'.length);
      assert.deepEqual(unstuff(Buffer.from(body, 'latin1')), wireForm(MESSAGE));
      await trickle(s, 'QUIT\r\n');
      assert.equal(await readByByte(s, lineDone), '+OK Bye.\r\n');
    } finally {
      s.destroy();
    }
  });

  it('an SMTP client that sends one byte at a time delivers its message whole', async () => {
    const s = await socketTo(service.svc.smtpPort);
    s.pause();
    const replyDone = (t: string): boolean => /(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(t);
    try {
      assert.match(await readByByte(s, replyDone), /^220 /);
      for (const [command, code] of [
        ['EHLO slow.client', '250'],
        ['MAIL FROM:<sender@remote.example>', '250'],
        ['RCPT TO:<slow@conn.example>', '250'],
        ['DATA', '354'],
      ] as const) {
        await trickle(s, `${command}\r\n`);
        const reply = await readByByte(s, replyDone);
        assert.ok(reply.split('\r\n').at(-2)?.startsWith(code), `${command}: ${reply}`);
      }
      await trickle(s, 'Subject: trickled\r\n\r\n..a dot line\r\nbody\r\n.\r\n');
      assert.match(await readByByte(s, replyDone), /^250 /);
      await trickle(s, 'QUIT\r\n');
      assert.match(await readByByte(s, replyDone), /^221 /);
    } finally {
      s.destroy();
    }
    const c = await RawClient.login(service.svc.pop3Port, 'slow@conn.example', 'pw-slow');
    try {
      assert.match(await c.command('STAT'), /^\+OK 2 /);
      assert.match(await c.command('RETR 2'), /^\+OK/);
      const text = unstuff(await c.multiline()).toString('latin1');
      assert.match(text, /Subject: trickled\r\n\r\n\.a dot line\r\nbody\r\n$/);
    } finally {
      await c.command('QUIT');
    }
  });

  it(`${CONNECTIONS} connections at once are all served, and all counted gone afterwards`, { timeout: 120_000 }, async (t) => {
    const limit = await openFileLimit();
    // Both ends of every connection are in this machine: the test's sockets and the service's.
    if (limit !== null && limit < CONNECTIONS + 200) {
      t.skip(`the open-file limit (ulimit -n) is ${limit}; ${CONNECTIONS} connections need at least ${CONNECTIONS + 200}`);
      return;
    }
    const clients: RawClient[] = [];
    try {
      // In waves, so the listen queue of the kernel never overflows.
      for (let wave = 0; wave < CONNECTIONS / 100; wave++) {
        clients.push(...(await Promise.all(Array.from({ length: 100 }, () => RawClient.open(service.svc.pop3Port)))));
      }
      assert.equal(clients.length, CONNECTIONS);
      assert.equal(await sessionCount(service), CONNECTIONS, 'every connection is a session at the same time');
      const capas = await Promise.all(clients.map(async (c) => [await c.command('CAPA'), (await c.lines()).includes('PIPELINING')]));
      assert.ok(capas.every(([status, pipelining]) => status === '+OK Capability list follows' && pipelining === true));
      const byes = await Promise.all(clients.map((c) => c.command('QUIT')));
      assert.ok(byes.every((b) => b === '+OK Bye.'));
      await Promise.all(clients.map((c) => c.waitClosed(20_000)));
    } finally {
      for (const c of clients) c.destroy();
    }
    await eventually(async () => (await sessionCount(service)) === 0, 'every session to be gone', 30_000);
  });
});

describe('abrupt disconnects at every protocol state', () => {
  let t: TestStore;
  let srv: TestServer;
  let bystander: RawClient;
  const random = new Random(seedFrom('DISCONNECT_SEED', 'abrupt disconnects'));
  const ADDRESS = 'victim@conn.example';
  const PASSWORD = 'pw-victim';
  const COUNT = 6;
  const ROUNDS = 4;
  const msg = (i: number): string => `Subject: victim ${i}\n\n${'line of text\n'.repeat(i === 0 ? 200_000 : 10)}`;

  before(async () => {
    t = await makeStore();
    srv = await startServer(t.store, { idleTimeoutSeconds: 600 });
    await seedMailbox(t.store, ADDRESS, PASSWORD, Array.from({ length: COUNT }, (_, i) => msg(i)));
    await seedMailbox(t.store, 'bystander@conn.example', 'pw-bystander', [msg(1)]);
    bystander = await RawClient.login(srv.port, 'bystander@conn.example', 'pw-bystander');
  });
  after(async () => {
    bystander?.destroy();
    await srv?.stop();
    await t?.cleanup();
  });

  /** After a hang-up: only the bystander's session is left, the maildrop is free, and the bystander is still served. */
  async function afterHangUp(state: string): Promise<number> {
    await waitFor(() => srv.server.sessionCount() === 1, `the session that hung up ${state} to be gone`, 10_000);
    const c = await RawClient.open(srv.port);
    await c.command(`USER ${ADDRESS}`);
    const answer = await c.command(`PASS ${PASSWORD}`);
    assert.match(answer, /^\+OK Logged in/, `after a hang-up ${state}, the maildrop must be free: ${answer}`);
    const count = Number(/^\+OK (\d+) /.exec(await c.command('STAT'))?.[1]);
    assert.equal(await c.command('QUIT'), '+OK Bye.');
    assert.match(await bystander.command('NOOP'), /^\+OK/, 'the other session is still served');
    return count;
  }

  /** A login whose answer was read; the test then misbehaves from there. */
  const loggedIn = (): Promise<RawClient> => RawClient.login(srv.port, ADDRESS, PASSWORD);
  /** Where in the server's work the hang-up lands: a random moment (the seed replays it), which is what is tested, not a wait. */
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, random.int(0, 30)));

  const states: [string, () => Promise<void>][] = [
    ['before reading the greeting', async () => (await RawClient.connect(srv.port)).destroy()],
    [
      'after USER',
      async () => {
        const c = await RawClient.open(srv.port);
        await c.command(`USER ${ADDRESS}`);
        c.destroy();
      },
    ],
    [
      'in the middle of the PASS line',
      async () => {
        const c = await RawClient.open(srv.port);
        await c.command(`USER ${ADDRESS}`);
        c.send(`PASS ${PASSWORD.slice(0, 4)}`);
        await pause();
        c.destroy();
      },
    ],
    [
      'while the password is being checked',
      async () => {
        const c = await RawClient.open(srv.port);
        await c.command(`USER ${ADDRESS}`);
        c.send(`PASS ${PASSWORD}\r\n`);
        // Somewhere in the password check (scrypt): the hang-up's moment is what is tested.
        await new Promise((r) => setTimeout(r, random.int(0, 150)));
        c.destroy();
      },
    ],
    [
      'in TRANSACTION with messages marked for deletion',
      async () => {
        const c = await loggedIn();
        assert.match(await c.command('DELE 2'), /^\+OK/);
        c.destroy();
      },
    ],
    [
      'in the middle of a RETR of a 2.6 MB message',
      async () => {
        const c = await loggedIn();
        c.send('RETR 1\r\n');
        assert.match(await c.line(), /^\+OK \d+ octets/);
        await pause();
        c.destroy();
      },
    ],
    [
      'in the middle of a pipelined batch',
      async () => {
        const c = await loggedIn();
        c.send('LIST\r\nUIDL\r\nTOP 1 1000\r\nRETR 2\r\nSTAT\r\n'.repeat(50));
        await pause();
        c.destroy();
      },
    ],
  ];

  for (const [state, hangUp] of states) {
    it(`hang-up ${state}: no session left, nothing deleted, others served`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        await hangUp();
        assert.equal(await afterHangUp(state), COUNT, `round ${round}: a hang-up deletes nothing`);
      }
    });
  }

  it('hang-up right after QUIT with deletions: all of them applied or none, and the maildrop is free', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const c = await loggedIn();
      assert.match(await c.command('DELE 2'), /^\+OK/);
      assert.match(await c.command('DELE 3'), /^\+OK/);
      c.send('QUIT\r\n');
      // Before, during or after the QUIT's deletions: the hang-up's moment is what is tested.
      await new Promise((r) => setTimeout(r, random.int(0, 5)));
      c.destroy();
      const left = await afterHangUp('during QUIT');
      assert.ok(left === COUNT || left === COUNT - 2, `round ${round}: ${left} of ${COUNT} left; QUIT applies both deletions or none`);
      if (left === COUNT - 2) {
        await deliver(t.store, ADDRESS, msg(2));
        await deliver(t.store, ADDRESS, msg(3));
      }
    }
  });

  it('hang-up while waiting in the backlog for a free session', async () => {
    const full = await startServer(t.store, { socket: { max: 1, backlog: 5 } });
    try {
      const served = await RawClient.open(full.port);
      const waiting = await Promise.all(Array.from({ length: 5 }, () => RawClient.connect(full.port)));
      for (const w of waiting) w.destroy();
      assert.equal(await served.command('QUIT'), '+OK Bye.');
      await waitFor(() => full.server.sessionCount() === 0, 'the hung-up waiters to be dropped', 10_000);
      const next = await RawClient.open(full.port);
      assert.equal(await next.command('QUIT'), '+OK Bye.');
    } finally {
      await full.stop();
    }
  });
});
