/**
 * The cost of taking and giving back a POP3 maildrop lock (maildrop-lock.ts)
 * on a real disk, as a session pays it: after the CPU was idle a while.
 *
 *   node dist/bench/maildrop-lock-take.js [--rounds 400] [--mailboxes 8] [--idle-ms 5] [--dir PARENT]
 *
 * Each round takes the lock of one of `mailboxes` Maildirs in turn, gives it
 * back, then sleeps `idle-ms`. Prints the wall time and the CPU time (user +
 * system, process.cpuUsage) of the take and of the release: mean and median,
 * in microseconds. `--dir`: the folder to make the mail root in (default:
 * the system's temporary folder), to measure another file system.
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MaildropLock } from '../electron/service/store/maildrop-lock.js';
import { median, options, round, sleep } from './lib/util.js';

interface Cost {
  wall: number[];
  cpu: number[];
}

/** Runs `fn`, adding its wall and CPU time (µs) to `cost`. */
function timed<T>(cost: Cost, fn: () => T): T {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = fn();
  cost.wall.push((performance.now() - start) * 1000);
  const used = process.cpuUsage(cpu);
  cost.cpu.push(used.user + used.system);
  return result;
}

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
const line = (name: string, c: Cost): string =>
  `${name}: wall mean ${round(mean(c.wall), 0)} µs, median ${round(median(c.wall), 0)} µs; CPU mean ${round(mean(c.cpu), 0)} µs, median ${round(median(c.cpu), 0)} µs`;

async function main(): Promise<void> {
  const opt = options();
  const rounds = opt.num('rounds', 400);
  const boxes = opt.num('mailboxes', 8);
  const idleMs = opt.num('idle-ms', 5);
  const root = mkdtempSync(path.join(opt.get('dir') ?? os.tmpdir(), 'winpop-lock-bench-'));
  try {
    const folders = Array.from({ length: boxes }, (_, i) => path.join(root, 'bench.test', `box${i}`));
    for (const f of folders) mkdirSync(f, { recursive: true });
    const take: Cost = { wall: [], cpu: [] };
    const release: Cost = { wall: [], cpu: [] };
    // A few rounds first, outside the figures: the first take makes the holder file.
    for (let i = -10; i < rounds; i++) {
      const folder = folders[(i + boxes * 10) % boxes] as string;
      const t = i < 0 ? { wall: [], cpu: [] } : take;
      const r = i < 0 ? { wall: [], cpu: [] } : release;
      const lock = timed(t, () => MaildropLock.take(folder, root));
      if (lock === null) throw new Error(`the lock of ${folder} could not be written`);
      timed(r, () => lock.release());
      await sleep(idleMs);
    }
    console.log(`${rounds} rounds over ${boxes} mailboxes, ${idleMs} ms idle between, in ${root}`);
    console.log(line('take', take));
    console.log(line('release', release));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
