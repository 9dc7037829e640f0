/**
 * Workload 8: a flood of wrong passwords must not starve the service.
 *
 *   node dist/bench/login-flood.js [--addresses 800] [--warm 30] [--samples 20] [--first 8]
 *
 * The measurement: 800 loopback source addresses (127.4.x.y), one
 * connection each, send `USER <random name>` / `PASS wrong` in a loop; the
 * penalty holds each to about one attempt per 15 s once it has failed a few
 * times, some 50–60 attempts/s in all, each a full scrypt (an unknown name
 * spends a dummy one). From 127.0.0.1, measured quiet and then under the
 * flood (after `--warm` seconds, when every flooding address is at the
 * penalty's cap):
 *   - a cached user's session: log-in (its password verified before, so a
 *     hit in the cache of verified passwords), STAT, UIDL, RETR of 20
 *     messages (4–64 KiB), QUIT;
 *   - a first log-in: a user whose password was never verified (USER, PASS,
 *     QUIT), one per sample, each a different mailbox.
 * Targets: the cached session within 2× its quiet time (medians), every
 * first log-in within 5 s.
 */

import { performance } from 'node:perf_hooks';
import { makeMessage, spreadSizes } from './lib/fixture.js';
import { setupPair } from './lib/pair.js';
import { fullSession, loggedIn, Pop3Client } from './lib/pop3-client.js';
import { saveResult } from './lib/results.js';
import { machineBusySeconds, median, options, rssBytes, runMain, selfCpuSeconds, sleep } from './lib/util.js';

/** What the flood's attempts were answered. */
interface FloodCounts {
  /** -ERR [AUTH]: checked and wrong, or refused unchecked with the same answer. */
  auth: number;
  /** -ERR [SYS/TEMP]: over the password workers' budget. */
  busy: number;
  other: number;
  /** Connections refused at the greeting (per-address cap, socket limit). */
  refusedConnections: number;
  connections: number;
}

class Flood {
  readonly counts: FloodCounts = { auth: 0, busy: 0, other: 0, refusedConnections: 0, connections: 0 };
  private stopped = false;
  private readonly open = new Set<Pop3Client>();
  private readonly loops: Promise<void>[] = [];
  private serial = 0;

  constructor(
    private readonly port: number,
    addresses: number,
  ) {
    for (let i = 0; i < addresses; i++) this.loops.push(this.loop(`127.4.${Math.floor(i / 250)}.${(i % 250) + 1}`));
  }

  get answered(): number {
    return this.counts.auth + this.counts.busy + this.counts.other;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.open) c.destroy();
    await Promise.all(this.loops);
  }

  private async loop(from: string): Promise<void> {
    // Spread the first connections over a second, as clients arriving do.
    await sleep(Math.random() * 1000);
    while (!this.stopped) {
      let client: Pop3Client;
      try {
        ({ client } = await Pop3Client.connect(this.port, '127.0.0.1', from));
      } catch {
        this.counts.refusedConnections++;
        await sleep(500);
        continue;
      }
      this.counts.connections++;
      this.open.add(client);
      try {
        while (!this.stopped) {
          await client.command(`USER ${(this.serial++).toString(36)}x${Math.random().toString(36).slice(2, 10)}@nobody.bench.test`);
          const answer = await client.command('PASS wrong');
          if (answer.startsWith('-ERR [AUTH]')) this.counts.auth++;
          else if (answer.startsWith('-ERR [SYS/TEMP]')) this.counts.busy++;
          else this.counts.other++;
        }
      } catch {
        // Closed by the server (ten failures in a row, the log-in timeout) or by stop(): connect again.
      } finally {
        this.open.delete(client);
        client.destroy();
      }
    }
  }
}

const ms = (values: readonly number[]): string => median(values).toFixed(0);
const maxOf = (values: readonly number[]): number => values.reduce((a, b) => Math.max(a, b), 0);

async function main(): Promise<void> {
  const started = Date.now();
  const opt = options();
  const addresses = opt.num('addresses', 800);
  const warmSeconds = opt.num('warm', 30);
  const samples = opt.num('samples', 20);
  const firsts = opt.num('first', 8);
  const messages = spreadSizes(20, 4 * 1024, 64 * 1024).map((size, i) => makeMessage(i, size));
  const pair = await setupPair({
    groups: [
      { domain: 'flood.bench.test', prefix: 'cached', count: 1, messages },
      { domain: 'flood.bench.test', prefix: 'first', count: 2 * firsts },
    ],
    dovecot: false,
  });
  const port = pair.ours.pop3Port;
  const cached = (pair.groups.get('cached') ?? [])[0];
  const firstUsers = pair.groups.get('first') ?? [];
  if (!cached || firstUsers.length < 2 * firsts) throw new Error('set-up made too few mailboxes');

  const cachedSession = async (): Promise<number> => {
    const t = performance.now();
    await fullSession(port, cached.address, cached.password);
    return performance.now() - t;
  };
  const firstLogIn = async (user: { address: string; password: string }): Promise<number> => {
    const t = performance.now();
    const c = await loggedIn(port, user.address, user.password);
    await c.quit();
    c.destroy();
    return performance.now() - t;
  };

  // The first session verifies the password (scrypt) and caches it: from here the user is a cached one.
  // A few more warm the service up (JIT, file cache), as a service that has run a while is.
  for (let i = 0; i < 10; i++) await cachedSession();
  const quietCached: number[] = [];
  for (let i = 0; i < samples; i++) {
    quietCached.push(await cachedSession());
    await sleep(200);
  }
  const quietFirst: number[] = [];
  for (const user of firstUsers.slice(0, firsts)) {
    quietFirst.push(await firstLogIn(user));
    await sleep(200);
  }
  console.log(`quiet: cached session median ${ms(quietCached)} ms, first log-in median ${ms(quietFirst)} ms`);

  const flood = new Flood(port, addresses);
  const floodStart = performance.now();
  for (let s = 0; s < warmSeconds; s += 5) {
    await sleep(5000);
    console.log(`flood warming: ${flood.answered} attempts answered after ${((performance.now() - floodStart) / 1000).toFixed(0)} s, ${flood.counts.connections} connections`);
  }
  const window = { answered: flood.answered, at: performance.now(), server: pair.oursCpu(), self: selfCpuSeconds(), busy: machineBusySeconds() };
  const floodedCached: number[] = [];
  const floodedFirst: number[] = [];
  const errors: string[] = [];
  const firstQueue = firstUsers.slice(firsts);
  for (let i = 0; i < Math.max(samples, firsts); i++) {
    const jobs: Promise<void>[] = [];
    if (i < samples) jobs.push(cachedSession().then((t) => void floodedCached.push(t), (err: Error) => void errors.push(`cached: ${err.message}`)));
    const user = firstQueue[i];
    if (user) jobs.push(firstLogIn(user).then((t) => void floodedFirst.push(t), (err: Error) => void errors.push(`first ${user.address}: ${err.message}`)));
    await Promise.all(jobs);
    console.log(`flooded sample ${i + 1}: cached ${floodedCached.at(-1)?.toFixed(0) ?? '-'} ms, first ${floodedFirst.at(-1)?.toFixed(0) ?? '-'} ms`);
    await sleep(1000);
  }
  const seconds = (performance.now() - window.at) / 1000;
  const rate = (flood.answered - window.answered) / seconds;
  const serverCpu = (pair.oursCpu() - window.server) / seconds;
  const clientCpu = (selfCpuSeconds() - window.self) / seconds;
  const otherCpu = Math.max(0, (machineBusySeconds() - window.busy) / seconds - serverCpu - clientCpu);
  const rssFlooded = rssBytes(pair.ours.pid) ?? 0;
  const counts = { ...flood.counts };
  await flood.stop();
  if (errors.length > 0) throw new Error(`${errors.length} measured sessions failed under the flood, first: ${errors[0]}`);
  // Quiet again: a session of some 20 ms varies with what else the machine does, so quiet is measured on both sides of the flood.
  await sleep(2000);
  const quietAfter: number[] = [];
  for (let i = 0; i < samples; i++) {
    quietAfter.push(await cachedSession());
    await sleep(200);
  }
  const quietBoth = [...quietCached, ...quietAfter];
  console.log(`quiet again: cached session median ${ms(quietAfter)} ms`);

  const ratio = median(floodedCached) / median(quietBoth);
  const worstFirst = maxOf(floodedFirst);
  await saveResult(
    {
      name: 'login-flood',
      title: `A flood of wrong passwords from ${addresses} addresses: a cached session and first log-ins`,
      command: `node dist/bench/login-flood.js --addresses ${addresses} --warm ${warmSeconds} --samples ${samples} --first ${firsts}`,
      table: [
        ['figure', 'quiet', `flooded (${rate.toFixed(1)} attempts/s)`, 'flooded ÷ quiet'],
        [`cached user's session (log-in, STAT, UIDL, RETR ×20, QUIT), median, ms (quiet: ${samples} before and ${samples} after the flood)`, ms(quietBoth), ms(floodedCached), ratio.toFixed(2)],
        ['  quiet before / after the flood, medians, ms', `${ms(quietCached)} / ${ms(quietAfter)}`, '', ''],
        ['  its slowest, ms', maxOf(quietBoth).toFixed(0), maxOf(floodedCached).toFixed(0), ''],
        [`first log-in (USER, PASS, QUIT; scrypt), median of ${firsts}, ms`, ms(quietFirst), ms(floodedFirst), (median(floodedFirst) / median(quietFirst)).toFixed(2)],
        ['  its slowest, ms', maxOf(quietFirst).toFixed(0), worstFirst.toFixed(0), ''],
        [],
        ['flood', 'figure'],
        ['attempts answered per second during the measurements', rate.toFixed(1)],
        ['answers over the whole flood: -ERR [AUTH] / -ERR [SYS/TEMP] (password workers busy) / other', `${counts.auth} / ${counts.busy} / ${counts.other}`],
        ['connections made / refused at the greeting', `${counts.connections} / ${counts.refusedConnections}`],
        ['pop3svc CPU during the measurements, CPUs busy', serverCpu.toFixed(2)],
        ['load client (this process) CPU, CPUs busy / other work on the machine', `${clientCpu.toFixed(2)} / ${otherCpu.toFixed(2)}`],
        ['pop3svc RSS under the flood, MiB', (rssFlooded / 2 ** 20).toFixed(1)],
      ],
      targets: [
        { what: "cached user's session under the flood ÷ quiet (medians)", target: '≤ 2', value: ratio.toFixed(2), met: ratio <= 2 },
        { what: 'first log-in under the flood, slowest', target: '≤ 5 s', value: `${(worstFirst / 1000).toFixed(2)} s`, met: worstFirst <= 5000 },
      ],
      notes: [
        `${addresses} source addresses on loopback (127.4.x.y), one connection each, each sending USER with a new random name and PASS wrong in a loop, reconnecting when closed; ${warmSeconds} s of flood before the first measurement, so every address is at the penalty's 15 s cap. Measured sessions come from 127.0.0.1, one cached session and one first log-in at a time (side by side), a second apart.`,
        'The cached user logged in once before the quiet measurements, so its password is in the cache of verified passwords; each first log-in uses a mailbox nobody logged in to before (a full scrypt, ln=15, r=8: 32 MiB).',
        'pop3svc as shipped: default settings (10 connections per address, 60 s log-in timeout, penalty 2 s doubling to 15 s, password workers: every CPU but one, at least one, here one).',
        'The load client shares the 2 CPUs with pop3svc; pop3svc and this process run at nice -10, the password worker thread 10 lower than the service.',
      ],
      raw: { quietCached, quietAfter, quietFirst, floodedCached, floodedFirst, counts, rate, serverCpu, clientCpu, otherCpu },
    },
    started,
  );
}

runMain('login-flood', main, 8 * 60_000);
