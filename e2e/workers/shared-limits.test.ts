/**
 * pop3svc on two worker processes keeps the abuse limits for the whole
 * service, not per worker: one client address holds at most `peraddress`
 * POP3 connections and `smtpperaddress` SMTP connections however the
 * cluster spreads them, `socketmax` counts the sessions of both, a worker
 * killed with kill -9 gives its slots back, the failed-log-in pacing and
 * the unknown-recipient count go on whichever worker takes the next
 * attempt, and the counters' totals do not drop when a worker dies
 * (Prometheus would read a drop as a restart).
 *
 * Which worker served a connection is read from the log: each worker's
 * lines carry `worker=<pid>`, and "pop3 connection opened" names the
 * client's port.
 */

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { COUNTER_NAMES, type CountersReport } from '../../shared/contract.js';
import { popFetchAll, smtpSend } from '../helpers/python.js';
import { address, alive, password, startWorkerService, until, type WorkerService } from './support.js';

/** The default of `winpop set peraddress`. */
const PER_ADDRESS = 10;
let s: WorkerService;
const open: RawPop[] = [];

before(async () => {
  s = await startWorkerService(4);
});

after(async () => {
  for (const c of open.splice(0)) c.socket.destroy();
  await s?.close();
});

// Each test starts with no connection of ours open (one that failed may have left some).
beforeEach(async () => {
  for (const c of open.splice(0)) c.socket.destroy();
  await until(async () => (await s.workers()).every((w) => w.sessions === 0), () => 'no POP3 connection left open');
});

interface RawPop {
  readonly socket: net.Socket;
  /** The client's port, as the server's log names it. */
  readonly port: number;
  /** The server's first line. */
  readonly greeting: string;
  /** The next line the server sends. */
  line(): Promise<string>;
  /** Resolves when the server has closed the connection. */
  readonly closed: Promise<void>;
}

/** A POP3 connection from 127.0.0.1, once its first line has come. */
async function connect(): Promise<RawPop> {
  const socket = net.connect(s.svc.pop3Port, '127.0.0.1');
  socket.setEncoding('latin1');
  let buffer = '';
  const waiters: ((line: string) => void)[] = [];
  const lines: string[] = [];
  socket.on('data', (d: string) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf('\r\n')) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 2);
      const waiter = waiters.shift();
      if (waiter) waiter(text);
      else lines.push(text);
    }
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const line = (): Promise<string> => {
    const ready = lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<string>((resolve, reject) => {
      waiters.push(resolve);
      void closed.then(() => reject(new Error(`connection closed before a line; had ${JSON.stringify(buffer)}`)));
    });
  };
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const port = socket.localPort as number;
  const greeting = await line();
  const c: RawPop = { socket, port, greeting, line, closed };
  open.push(c);
  return c;
}

/** The worker whose log says it opened the connection from `port`; waits for the line. */
async function workerOf(port: number): Promise<number> {
  const re = new RegExp(`pop3 connection opened worker=(\\d+) remote=127\\.0\\.0\\.1:${port}\\b`);
  let pid = 0;
  await until(
    () => {
      pid = Number(re.exec(s.svc.output())?.[1] ?? 0);
      return pid > 0;
    },
    () => `a "pop3 connection opened" line for port ${port}:\n${s.svc.output().slice(-3000)}`,
  );
  return pid;
}

const greeted = (c: RawPop): boolean => c.greeting.startsWith('+OK');

test('one client address holds at most peraddress POP3 connections across both workers', async () => {
  const conns: RawPop[] = [];
  for (let i = 0; i < PER_ADDRESS + 4; i++) conns.push(await connect());
  const accepted = conns.filter(greeted);
  const refused = conns.filter((c) => !greeted(c));
  const byWorker = new Map<number, number>();
  for (const c of accepted) {
    const pid = await workerOf(c.port);
    byWorker.set(pid, (byWorker.get(pid) ?? 0) + 1);
  }
  assert.equal(byWorker.size, 2, `the accepted connections landed on both workers: ${JSON.stringify([...byWorker])}`);
  assert.equal(accepted.length, PER_ADDRESS, `${PER_ADDRESS} accepted in all, not ${PER_ADDRESS} per worker: ${JSON.stringify([...byWorker])}`);
  for (const c of refused) assert.match(c.greeting, /^-ERR \[SYS\/TEMP\] Too many connections from your address/);

  // One closed anywhere frees one slot for the next, wherever it lands.
  const first = accepted[0] as RawPop;
  first.socket.end('QUIT\r\n');
  await first.closed;
  await until(
    async () => {
      const next = await connect();
      next.socket.destroy();
      return greeted(next);
    },
    () => 'a connection accepted after one was closed',
  );
  for (const c of conns) c.socket.destroy();
});

test('a worker killed with kill -9 gives its POP3 slots back to the service', async () => {
  // Wait until the previous test's connections are given back: ten are accepted again.
  let conns: RawPop[] = [];
  await until(
    async () => {
      for (const c of conns) c.socket.destroy();
      conns = [];
      for (let i = 0; i < PER_ADDRESS; i++) conns.push(await connect());
      return conns.every(greeted);
    },
    () => `${PER_ADDRESS} connections accepted: ${conns.map((c) => c.greeting).join(' | ')}`,
  );
  const extra = await connect();
  assert.match(extra.greeting, /^-ERR \[SYS\/TEMP\] Too many connections from your address/, 'the cap holds before the kill');

  const owners = await Promise.all(conns.map((c) => workerOf(c.port)));
  const victim = owners[0] as number;
  const onVictim = conns.filter((_, i) => owners[i] === victim);
  const survivors = conns.filter((_, i) => owners[i] !== victim);
  assert.ok(survivors.length > 0, `connections on both workers: ${owners.join(',')}`);

  const before = (await s.workers()).map((w) => w.pid);
  process.kill(victim, 'SIGKILL');
  await until(() => !alive(victim), () => `worker ${victim} gone`);
  await Promise.all(onVictim.map((c) => c.closed));
  await until(
    async () => {
      const pids = (await s.workers()).map((w) => w.pid);
      return pids.length === 2 && !pids.includes(victim) && pids.some((p) => !before.includes(p));
    },
    () => `a replacement for worker ${victim}`,
  );

  // The survivors still hold theirs; the dead worker's are free again, and no more.
  const again: RawPop[] = [];
  for (let i = 0; i < onVictim.length + 1; i++) again.push(await connect());
  const accepted = again.filter(greeted);
  assert.equal(
    accepted.length,
    onVictim.length,
    `the ${onVictim.length} slots of the killed worker came back (and only those): ${again.map((c) => c.greeting).join(' | ')}`,
  );
  assert.match(s.svc.output(), new RegExp(`limits held by the ended worker process given back pid=${victim} pop3Connections=${onVictim.length}`));
  for (const c of [...conns, ...again, extra]) c.socket.destroy();
});

test('the counters totals do not drop when a worker is killed', async () => {
  // Traffic on both workers: each session and delivery its own connection, so the cluster spreads them.
  for (let i = 0; i < 4; i++) {
    await smtpSend(s.svc.smtpPort, 'sender@example.org', [address(1)], `Subject: count ${i}\r\n\r\nbody ${i}\r\n`);
    await popFetchAll(s.svc.pop3Port, address(1), password(1));
  }
  const workers = await s.workers();
  const served = new Set([...s.svc.output().matchAll(/INFO {2}(?:pop3 login ok|mail delivered) worker=(\d+)/g)].map((m) => Number(m[1])));
  const live = workers.map((w) => w.pid).filter((pid) => served.has(pid));
  assert.equal(live.length, 2, `both live workers served some of it: served by ${[...served].join(',')}, live ${workers.map((w) => w.pid).join(',')}`);

  let before: CountersReport | undefined;
  await until(
    async () => {
      before = await s.control.counters({});
      return before.totals.loginsAccepted >= 4 && before.totals.smtpAccepted >= 4;
    },
    () => `the counters show the traffic: ${JSON.stringify(before?.totals)}`,
  );
  const victim = live[0] as number;
  process.kill(victim, 'SIGKILL');
  await until(() => !alive(victim), () => `worker ${victim} gone`);
  await until(
    async () => {
      const pids = (await s.workers()).map((w) => w.pid);
      return pids.length === 2 && !pids.includes(victim);
    },
    () => `a replacement for worker ${victim}`,
  );
  const after = await s.control.counters({});
  const was = before as CountersReport;
  for (const name of COUNTER_NAMES) {
    assert.ok(after.totals[name] >= was.totals[name], `${name} went from ${was.totals[name]} to ${after.totals[name]} after worker ${victim} was killed`);
  }
});

test('POP3 sessions at once (socketmax) are counted over both workers; the ones over it wait, then are served', async () => {
  const MAX = 3;
  const was = await s.control.getSettings({});
  await s.control.setSettings({ patch: { socket: { max: MAX, min: 1, threshold: 1 } } });
  const sockets: net.Socket[] = [];
  try {
    const served = [];
    for (let i = 0; i < MAX; i++) served.push(await connect());
    for (const c of served) assert.match(c.greeting, /^\+OK/);
    const owners = new Set(await Promise.all(served.map((c) => workerOf(c.port))));
    assert.equal(owners.size, 2, 'the served ones are on both workers');
    // Two more: over the service's MAX, whichever worker takes them, so they wait ungreeted.
    const waitingLines = (): number => (s.svc.output().match(/pop3 connection waits for a free session/g) ?? []).length;
    const linesBefore = waitingLines();
    const got: string[] = [];
    for (let i = 0; i < 2; i++) {
      const socket = net.connect(s.svc.pop3Port, '127.0.0.1');
      sockets.push(socket);
      socket.setEncoding('latin1');
      socket.on('error', () => {});
      socket.on('data', (d: string) => got.push(d));
    }
    await until(() => waitingLines() >= linesBefore + 1 || got.length > 0, () => `a "waits for a free session" line or a greeting; greetings ${JSON.stringify(got)}`);
    assert.equal(got.join(''), '', 'no greeting for the connections over socketmax');
    assert.equal((await s.workers()).reduce((sum, w) => sum + w.sessions, 0), MAX, 'serverInfo counts MAX sessions');
    // One served session ends: one waiting connection is greeted in its place.
    const first = served[0] as RawPop;
    first.socket.end('QUIT\r\n');
    await first.closed;
    await until(() => got.filter((d) => d.startsWith('+OK')).length === 1, () => `one of the waiting greeted: ${JSON.stringify(got)}`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await s.control.setSettings({ patch: { socket: was.socket } });
  }
});

/** An SMTP connection's first line (the banner, or the refusal), the socket left open. */
async function smtpFirstLine(sockets: net.Socket[]): Promise<string> {
  const socket = net.connect(s.svc.smtpPort, '127.0.0.1');
  sockets.push(socket);
  socket.setEncoding('latin1');
  socket.on('error', () => {});
  let got = '';
  return new Promise((resolve, reject) => {
    socket.on('data', (d: string) => {
      got += d;
      if (got.includes('\r\n')) resolve(got.slice(0, got.indexOf('\r\n')));
    });
    socket.once('close', () => reject(new Error(`SMTP connection closed before its first line: ${JSON.stringify(got)}`)));
  });
}

test('one client address holds at most smtpperaddress SMTP connections across both workers', async () => {
  const PER_ADDRESS_SMTP = 20;
  const sockets: net.Socket[] = [];
  try {
    const firsts: string[] = [];
    for (let i = 0; i < PER_ADDRESS_SMTP + 4; i++) firsts.push(await smtpFirstLine(sockets));
    const banners = firsts.filter((l) => l.startsWith('220 '));
    assert.equal(banners.length, PER_ADDRESS_SMTP, `${PER_ADDRESS_SMTP} greeted in all, not per worker: ${firsts.join(' | ')}`);
    for (const l of firsts.filter((x) => !x.startsWith('220 '))) assert.match(l, /^421 4\.7\.0/);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
});

test('the unknown-recipient count follows a client address across connections on both workers', async () => {
  const was = await s.control.getSettings({});
  // The count of each refused recipient is a detail line (logging 3).
  await s.control.setSettings({ patch: { logging: 3 } });
  try {
    const seen: { pid: number; unknowns: number; delayMs: number }[] = [];
    for (let n = 1; n <= 5; n++) {
      const socket = net.connect(s.svc.smtpPort, '127.0.0.1');
      socket.setEncoding('latin1');
      let buffer = '';
      const replies: string[] = [];
      socket.on('data', (d: string) => {
        buffer += d;
        let nl: number;
        while ((nl = buffer.indexOf('\r\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 2);
          // The last line of a reply: code and a space.
          if (/^\d{3} /.test(line)) replies.push(line);
        }
      });
      const reply = async (): Promise<string> => {
        await until(() => replies.length > 0, () => `an SMTP reply; got ${JSON.stringify(buffer)}`);
        return replies.shift() as string;
      };
      assert.match(await reply(), /^220 /);
      socket.write('EHLO probe.example\r\n');
      assert.match(await reply(), /^250 /);
      socket.write('MAIL FROM:<probe@example.org>\r\n');
      assert.match(await reply(), /^250 /);
      const to = `nobody-${n}@workers.test`;
      socket.write(`RCPT TO:<${to}>\r\n`);
      assert.match(await reply(), /^550 5\.1\.1/);
      socket.destroy();
      const line = new RegExp(`smtp recipient refused worker=(\\d+) to=${to.replace(/[.]/g, '\\.')} .*unknowns=(\\d+) delayMs=(\\d+)`).exec(s.svc.output());
      assert.ok(line, `the log line of recipient ${n}:\n${s.svc.output().slice(-2000)}`);
      seen.push({ pid: Number(line[1]), unknowns: Number(line[2]), delayMs: Number(line[3]) });
    }
    assert.equal(new Set(seen.map((x) => x.pid)).size, 2, `the connections went to both workers: ${JSON.stringify(seen)}`);
    assert.deepEqual(
      seen.map((x) => x.unknowns),
      [1, 2, 3, 4, 5],
      `each connection's unknown recipient counts on from the ones before, whichever worker took it: ${JSON.stringify(seen)}`,
    );
    assert.deepEqual(
      seen.map((x) => x.delayMs),
      [0, 0, 0, 1000, 2000],
      'three free, then slowed',
    );
  } finally {
    await s.control.setSettings({ patch: { logging: was.logging } });
  }
});

test('failed log-ins are paced for the service: the n-th failure waits the same whichever worker takes it', async () => {
  // Each attempt on a new connection, on the other worker than the one before.
  const attempts = 3;
  let previous = 0;
  const pids: number[] = [];
  for (let n = 1; n <= attempts; n++) {
    let c = await connect();
    let pid = await workerOf(c.port);
    while (pid === previous) {
      c = await connect();
      pid = await workerOf(c.port);
    }
    c.socket.write(`USER ${address(0)}\r\nPASS wrong-${n}\r\n`);
    assert.match(await c.line(), /^\+OK/);
    assert.match(await c.line(), /^-ERR \[AUTH\]/);
    pids.push(pid);
    previous = pid;
    const failed = new RegExp(`pop3 login failed worker=${pid} remote=127\\.0\\.0\\.1:${c.port} mailbox=${address(0).replace('.', '\\.')} .*failuresFromAddress=(\\d+) failuresForMailbox=(\\d+) nextDelayMs=(\\d+)`);
    await until(() => failed.test(s.svc.output()), () => `the log line of failure ${n}:\n${s.svc.output().slice(-3000)}`);
    const [, fromAddress, forMailbox, nextDelay] = failed.exec(s.svc.output()) as RegExpExecArray;
    assert.equal(Number(fromAddress), n, `failure ${n} (worker ${pid}) is the address's ${n}-th, counted over both workers`);
    assert.equal(Number(forMailbox), n, `failure ${n} (worker ${pid}) is the mailbox's ${n}-th`);
    assert.equal(Number(nextDelay), 2000 * 2 ** (n - 1), 'the next answer waits 2 s, doubling');
    if (n > 1) {
      const delayed = new RegExp(`pop3 login answer delayed after failed log-ins worker=${pid} remote=127\\.0\\.0\\.1:${c.port} .*delayMs=(\\d+)`);
      const waited = Number(delayed.exec(s.svc.output())?.[1]);
      assert.equal(waited, 2000 * 2 ** (n - 2), `attempt ${n} on worker ${pid} was held back as the ${n - 1} failures before it, made on the other worker, require`);
    }
    c.socket.destroy();
  }
  assert.equal(new Set(pids).size, 2, `the attempts went to both workers: ${pids.join(',')}`);
});
