/**
 * How soon pop3svc serves after it is started, on a store of 100,000
 * mailboxes: start → first POP3 greeting, → first successful POP3 log-in
 * (USER/PASS answered +OK, then STAT), → first SMTP greeting, → first
 * message accepted over SMTP; with the page cache dropped first (cold: the
 * disk is read again, Node's own files included) and without (warm).
 *
 *   node dist/bench/startup.js [--count 100000] [--rounds 3] [--dir DIR] [--no-cold]
 *
 * --dir DIR builds the store there once and keeps it (the same store as
 * big-domain-list.js with the same --dir); otherwise a temp folder. Cold
 * rounds need root (`echo 3 > /proc/sys/vm/drop_caches`); without it they
 * are left out and the notes say so.
 *
 * The clients start with the service and knock every 2 ms until it answers,
 * so each figure is from the spawn of pop3svc to the reply. The log-in uses
 * the last mailbox of the domain (user099999 at 100,000): a store that
 * recovers mailboxes in the background in name order reaches it last, so
 * this log-in is a first use that recovers its mailbox itself. Also reported:
 * when pop3svc printed its ready line, when its background recovery of
 * every mailbox finished (its "Store recovery finished" log line), and how
 * long a whole POP3 session (log-in, STAT, QUIT; the password then verified
 * from the cache) takes while that recovery runs and after it.
 */

import { spawn, spawnSync } from 'node:child_process';
import { promises as fsp, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeBigDomain } from './make-big-domain.js';
import { POP3SVC } from './lib/ours.js';
import { Pop3Client } from './lib/pop3-client.js';
import { saveResult } from './lib/results.js';
import { SmtpSender } from './lib/smtp-client.js';
import { freePort, median, onCleanup, options, percentile, runMain, sleep, tempDir } from './lib/util.js';

const DOMAIN = 'big.example.com';
const PASSWORD = 'bench-password';
/** Give up on one start after this long. */
const START_LIMIT_MS = 120_000;

/** Milliseconds from the spawn of pop3svc; null when it never happened. */
interface StartFigures {
  ready: number | null;
  pop3Greeting: number | null;
  pop3Login: number | null;
  smtpGreeting: number | null;
  smtpAccepted: number | null;
  /** RCPT to an unknown mailbox of the hosted domain answered 550 5.1.1. */
  smtpUnknownRefused: number | null;
  recovered: number | null;
}

/** Whole POP3 sessions (ms each) while the background recovery ran, and after it. */
interface SessionTimes {
  during: number[];
  after: number[];
}

/** Sessions timed in each phase, at most. */
const SESSIONS = 200;

/** One session: connect, log in, STAT, QUIT; its wall time in ms. */
async function session(port: number, user: string): Promise<number> {
  const t0 = performance.now();
  const { client } = await Pop3Client.connect(port);
  try {
    const u = await client.command(`USER ${user}`);
    const p = u.startsWith('+OK') ? await client.command(`PASS ${PASSWORD}`) : u;
    if (!p.startsWith('+OK')) throw new Error(`log-in as ${user}: ${p}`);
    if (!(await client.command('STAT')).startsWith('+OK')) throw new Error(`STAT as ${user}`);
    await client.quit();
  } finally {
    client.destroy();
  }
  return performance.now() - t0;
}

/** Unlocked mailboxes (make-big-domain locks one in ten), spread over the domain. */
const sessionUser = (n: number, count: number): string => {
  let i = (n * 7919) % count;
  if (i % 10 === 0) i = (i + 1) % count;
  return `user${String(i).padStart(6, '0')}@${DOMAIN}`;
};

/** Drops the kernel's page, dentry and inode caches; false when not permitted. */
function dropCaches(): boolean {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

/** Retries `attempt` every 2 ms until it resolves (the service is not listening yet) or the deadline passes. */
async function knock<T>(attempt: () => Promise<T>, deadline: number, stopped: () => boolean): Promise<T | null> {
  while (performance.now() < deadline && !stopped()) {
    try {
      return await attempt();
    } catch {
      await sleep(2);
    }
  }
  return null;
}

/** Starts pop3svc once and times its first answers, then sessions during and after its recovery; stops it once it has recovered every mailbox. */
async function startOnce(root: string, configPath: string, user: string, count: number): Promise<{ figures: StartFigures; sessions: SessionTimes; log: string }> {
  const pop3Port = await freePort();
  const smtpPort = await freePort();
  const figures: StartFigures = { ready: null, pop3Greeting: null, pop3Login: null, smtpGreeting: null, smtpAccepted: null, smtpUnknownRefused: null, recovered: null };
  const t0 = performance.now();
  const since = (): number => performance.now() - t0;
  const child = spawn(
    process.execPath,
    [POP3SVC, '--config', configPath, '--mailroot', root, '--listen', '127.0.0.1', '--pop3-port', String(pop3Port), '--smtp-port', String(smtpPort), '--pop3s-port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exit;
    clearTimeout(timer);
  };
  onCleanup(stop);
  let recoveredSeen!: () => void;
  const recovered = new Promise<void>((resolve) => (recoveredSeen = resolve));
  const onOutput = (d: Buffer): void => {
    log += d.toString('utf8');
    if (figures.ready === null && /pop3svc ready /.test(log)) figures.ready = since();
    if (figures.recovered === null && /Store recovery finished/.test(log)) {
      figures.recovered = since();
      recoveredSeen();
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const deadline = t0 + START_LIMIT_MS;

  const pop3 = (async () => {
    const connected = await knock(() => Pop3Client.connect(pop3Port), deadline, () => exited);
    if (!connected) return;
    figures.pop3Greeting = since();
    const { client } = connected;
    try {
      const u = await client.command(`USER ${user}`);
      const p = u.startsWith('+OK') ? await client.command(`PASS ${PASSWORD}`) : u;
      if (!p.startsWith('+OK')) throw new Error(`log-in as ${user}: ${p}`);
      const stat = await client.command('STAT');
      if (!stat.startsWith('+OK')) throw new Error(`STAT as ${user}: ${stat}`);
      figures.pop3Login = since();
      await client.quit();
    } finally {
      client.destroy();
    }
  })();
  const smtp = (async () => {
    const sender = await knock(() => SmtpSender.open(smtpPort), deadline, () => exited);
    if (!sender) return;
    figures.smtpGreeting = since();
    try {
      await sender.send('bench@startup.test', user, Buffer.from(`Subject: start-up ${Date.now()}\r\n\r\nHello.\r\n`));
      figures.smtpAccepted = since();
      await sender.expect('MAIL FROM:<bench@startup.test>', '250');
      await sender.expect(`RCPT TO:<nobody-here@${DOMAIN}>`, '550');
      figures.smtpUnknownRefused = since();
      await sender.expect('RSET', '250');
      await sender.quit();
    } finally {
      sender.destroy();
    }
  })();
  const sessions: SessionTimes = { during: [], after: [] };
  try {
    await Promise.all([pop3, smtp]);
    // pop3svc before this change has no background recovery and never prints the line: its start did it all.
    const background = /Store recovery (started|finished)/.test(log);
    for (let n = 0; background && figures.recovered === null && sessions.during.length < SESSIONS && !exited; n++) {
      sessions.during.push(await session(pop3Port, sessionUser(n, count)));
    }
    if (figures.ready !== null) await Promise.race([recovered, sleep(background ? START_LIMIT_MS : 0), exit]);
    for (let n = 0; n < SESSIONS && !exited; n++) sessions.after.push(await session(pop3Port, sessionUser(n + SESSIONS, count)));
  } finally {
    await stop();
  }
  if (figures.pop3Login === null || figures.smtpAccepted === null) throw new Error(`pop3svc did not serve within ${START_LIMIT_MS / 1000} s:\n${log.slice(-4000)}`);
  return { figures, sessions, log };
}

const ms = (v: number | null): string => (v === null || Number.isNaN(v) ? '' : v.toFixed(0));

async function main(): Promise<void> {
  const started = Date.now();
  const opt = options();
  const count = opt.num('count', 100_000);
  const rounds = opt.num('rounds', 3);
  const kept = opt.get('dir');
  const root = kept ? path.resolve(kept, `mailroot-${count}`) : path.join(await tempDir('startup'), 'mailroot');
  const configPath = path.join(await tempDir('startup-config'), 'config.json');
  // Logging at 2 (the default): the ready and recovery lines are info.
  await fsp.writeFile(configPath, JSON.stringify({ mailroot: root, logging: 2 }));

  const marker = path.join(root, '.bench-complete');
  if (!(await fsp.access(marker).then(() => true, () => false))) {
    await fsp.rm(root, { recursive: true, force: true });
    const t0 = performance.now();
    await makeBigDomain(root, DOMAIN, count);
    await fsp.writeFile(marker, '');
    console.log(`built ${count} mailboxes on disk in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } else {
    console.log(`reusing the ${count} mailboxes in ${root}`);
  }
  const user = `user${String(count - 1).padStart(6, '0')}@${DOMAIN}`;

  const kinds: ('cold' | 'warm')[] = [];
  let coldNote = 'Cold: `sync` and `echo 3 > /proc/sys/vm/drop_caches` before the spawn (page cache, dentries and inodes dropped: the store and Node itself are read from disk again).';
  if (!opt.has('no-cold')) {
    if (dropCaches()) kinds.push('cold');
    else coldNote = 'Cold rounds left out: dropping the page cache needs root (/proc/sys/vm/drop_caches could not be written).';
  } else {
    coldNote = 'Cold rounds left out (--no-cold).';
  }
  kinds.push('warm');
  const load = os.loadavg()[0] ?? 0;

  const all: Record<'cold' | 'warm', StartFigures[]> = { cold: [], warm: [] };
  const sessionTimes: Record<'cold' | 'warm', SessionTimes> = { cold: { during: [], after: [] }, warm: { during: [], after: [] } };
  for (let r = 0; r < rounds; r++) {
    for (const kind of kinds) {
      if (kind === 'cold') {
        dropCaches();
      } else {
        // Warm: the last start read everything a start reads; one more run of nothing keeps it so.
        await sleep(200);
      }
      const { figures, sessions } = await startOnce(root, configPath, user, count);
      all[kind].push(figures);
      sessionTimes[kind].during.push(...sessions.during);
      sessionTimes[kind].after.push(...sessions.after);
      console.log(
        `${kind} round ${r + 1}: ready ${ms(figures.ready)} ms, POP3 greeting ${ms(figures.pop3Greeting)} ms, log-in ${ms(figures.pop3Login)} ms, ` +
          `SMTP greeting and EHLO ${ms(figures.smtpGreeting)} ms, message accepted ${ms(figures.smtpAccepted)} ms, unknown recipient refused ${ms(figures.smtpUnknownRefused)} ms, every mailbox recovered ${figures.recovered === null ? '(no such line)' : `${ms(figures.recovered)} ms`}; ` +
          `sessions during the recovery ${sessions.during.length} (median ${ms(median(sessions.during))} ms), after ${sessions.after.length} (median ${ms(median(sessions.after))} ms)`,
      );
    }
  }

  const med = (kind: 'cold' | 'warm', key: keyof StartFigures): number | null => {
    const values = all[kind].map((f) => f[key]).filter((v): v is number => v !== null);
    return values.length === 0 ? null : median(values);
  };
  const worst = (key: keyof StartFigures): number => Math.max(...kinds.flatMap((k) => all[k].map((f) => f[key] ?? Number.POSITIVE_INFINITY)));
  const slowest = (kind: 'cold' | 'warm', key: keyof StartFigures): number | null => {
    const values = all[kind].map((f) => f[key]).filter((v): v is number => v !== null);
    return values.length === 0 ? null : Math.max(...values);
  };
  const row = (what: string, key: keyof StartFigures): string[] => [what, ...kinds.flatMap((k) => [ms(med(k, key)), ms(slowest(k, key))])];
  const sessionRow = (what: string, phase: keyof SessionTimes): string[] => [
    what,
    ...kinds.flatMap((k) => {
      const v = sessionTimes[k][phase];
      return v.length === 0 ? ['', ''] : [ms(median(v)), `${ms(percentile(v, 95))} (p95 of ${v.length})`];
    }),
  ];
  const servedWorst = Math.max(worst('pop3Greeting'), worst('smtpGreeting'));
  const loginWorst = worst('pop3Login');
  await saveResult(
    {
      name: 'startup',
      title: `pop3svc start-up on a store of ${count.toLocaleString('en')} mailboxes`,
      command: `node dist/bench/startup.js --count ${count} --rounds ${rounds}${kept ? ` --dir ${kept}` : ''}${opt.has('no-cold') ? ' --no-cold' : ''}`,
      table: [
        ['from the spawn of pop3svc to', ...kinds.flatMap((k) => [`${k}: median ms`, `${k}: slowest ms`])],
        row('the ready line', 'ready'),
        row('the first POP3 greeting', 'pop3Greeting'),
        row(`the first POP3 log-in answered +OK, then STAT (${user})`, 'pop3Login'),
        row('the first SMTP greeting and EHLO answered', 'smtpGreeting'),
        row('the first message accepted over SMTP (250 after DATA)', 'smtpAccepted'),
        row('then RCPT to an unknown mailbox of the domain refused (550 5.1.1)', 'smtpUnknownRefused'),
        row('every mailbox recovered (background; "Store recovery finished")', 'recovered'),
        [],
        ['one POP3 session (connect, log-in, STAT, QUIT), ms', ...kinds.flatMap((k) => [`${k}: median`, `${k}: p95`])],
        sessionRow('while the background recovery runs (mailboxes it has not reached yet are recovered by their log-in)', 'during'),
        sessionRow('after it', 'after'),
      ],
      targets: [
        { what: `start → first POP3 and SMTP greeting, ${count.toLocaleString('en')} mailboxes, cold and warm`, target: '≤ 1 s', value: `${(servedWorst / 1000).toFixed(2)} s (slowest)`, met: servedWorst <= 1000 },
        { what: `start → first POP3 log-in, ${count.toLocaleString('en')} mailboxes, cold and warm`, target: '≤ 1 s', value: `${(loginWorst / 1000).toFixed(2)} s (slowest)`, met: loginWorst <= 1000 },
      ],
      notes: [
        `${rounds} rounds of ${kinds.join(' then ')} starts. ${coldNote}`,
        'The clients knock every 2 ms from the spawn on (connection refused until the service listens); each figure is from the spawn to the reply, Node start-up included.',
        `The first log-in is a scrypt verification (no cache: a new process) of ${user}, the mailbox a background recovery in name order reaches last; the SMTP message goes to the same mailbox.`,
        `Sessions: up to ${SESSIONS} one after the other while the recovery runs, then ${SESSIONS} after it, each to another unlocked mailbox spread over the domain; every mailbox has the same password hash, so after the first log-in the password comes from the verified cache and a session costs the store's work (and, during the recovery, the mailbox's own recovery).`,
        'The store is built on disk by make-big-domain.ts: one domain, one mailbox in ten locked, 0–3 messages each.',
        `Load average (1 min) when the run began: ${load.toFixed(1)} on ${os.cpus().length} CPUs.`,
      ],
      raw: all,
    },
    started,
  );
}

runMain('startup', main, 30 * 60_000);
