/**
 * What the service-wide limits cost a connection: with worker processes the
 * per-address and session slots are asked of the primary (two IPC round
 * trips before the greeting) and a log-in's turn and outcome go through the
 * primary's gate (one round trip, one note).
 *
 *   node dist/bench/limits-latency.js [--workers 2] [--connections 2000] [--logins 500] [--pop3svc PATH]
 *
 * Sequential, one client: connect → greeting → QUIT → closed, timed from the
 * connect call to the greeting; then log-ins (a right password, the verified
 * cache warm), timed from PASS to its +OK. `--pop3svc` runs another build's
 * bin/pop3svc.js (e.g. one without shared limits) for the comparison; run
 * each by hand, alternating, and compare medians.
 */

import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openMailStore } from '../electron/service/store/index.js';
import { POP3SVC } from './lib/ours.js';
import { Pop3Client } from './lib/pop3-client.js';
import { median, onCleanup, options, percentile, round, runMain, tempDir } from './lib/util.js';

const USER = 'bench@limits.bench.test';
const PASSWORD = 'pw-limits-bench';

async function main(): Promise<void> {
  const opt = options();
  const workers = opt.num('workers', 2);
  const connections = opt.num('connections', 2000);
  const logins = opt.num('logins', 500);
  const pop3svc = opt.get('pop3svc') ?? POP3SVC;
  const dir = await tempDir('limits');
  const mailroot = path.join(dir, 'mailroot');
  const config = path.join(dir, 'config.json');
  const store = await openMailStore(mailroot, { fsync: false });
  await store.addDomain('limits.bench.test');
  await store.addMailbox(USER, PASSWORD);
  await store.close();
  await fsp.writeFile(config, JSON.stringify({ mailroot, listen: ['127.0.0.1'], workers, logging: 1, connectionsPerAddress: 1000 }));
  const child = spawn(process.execPath, [pop3svc, '--config', config, '--mailroot', mailroot, '--pop3-port', '0', '--smtp-port', '0', '--pop3s-port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  onCleanup(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /pop3svc ready .*pop3=[^ ]*:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`pop3svc ended before it was ready:\n${out}`)));
  });

  const greet: number[] = [];
  for (let i = 0; i < connections; i++) {
    const t0 = performance.now();
    // Rejects on a refusal (an -ERR greeting), naming it.
    const { client } = await Pop3Client.connect(port);
    greet.push(performance.now() - t0);
    await client.quit();
    await client.whenEnded();
  }
  const login: number[] = [];
  for (let i = 0; i < logins; i++) {
    const { client } = await Pop3Client.connect(port);
    await client.command(`USER ${USER}`);
    const t0 = performance.now();
    const reply = await client.command(`PASS ${PASSWORD}`);
    login.push(performance.now() - t0);
    if (!reply.startsWith('+OK')) throw new Error(`log-in ${i} failed: ${reply}`);
    await client.quit();
    await client.whenEnded();
  }
  // The first tenth warms up (JIT, the verified-credential cache).
  const warm = (xs: number[]): number[] => xs.slice(Math.floor(xs.length / 10));
  const figures = (xs: number[]): { p50: number; p99: number } => ({ p50: round(median(warm(xs)), 3), p99: round(percentile(warm(xs), 99), 3) });
  process.stdout.write(`${JSON.stringify({ pop3svc, workers, connections, logins, greetingMs: figures(greet), loginMs: figures(login) })}\n`);
}

runMain('limits-latency', main, 10 * 60 * 1000);
