/**
 * Where a benchmark's figures go: printed, and saved as JSON under
 * bench/results/ so that bench/RESULTS.md can be rebuilt from the last run
 * of each benchmark (`node dist/bench/write-results.js`).
 */

import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './util.js';

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly dovecot: string | null;
}

/** One target of the issue and whether this run met it. */
export interface TargetCheck {
  readonly what: string;
  readonly target: string;
  readonly value: string;
  readonly met: boolean;
  /** One of issue 13's targets against Dovecot tuned: RESULTS.md's first table. */
  readonly anchor?: boolean;
  /** Our figure and Dovecot's, for that table. */
  readonly ours?: string;
  readonly dovecot?: string;
}

export interface BenchResult {
  readonly name: string;
  readonly title: string;
  readonly command: string;
  readonly date: string;
  readonly seconds: number;
  readonly machine: Machine;
  /** Markdown table rows: the first row is the header. */
  readonly table: readonly (readonly string[])[];
  readonly targets: readonly TargetCheck[];
  /** Method and setup, one sentence each. */
  readonly notes: readonly string[];
  /** Anything else worth keeping (raw per-round figures). */
  readonly raw?: unknown;
}

export function dovecotVersion(): string | null {
  try {
    return execFileSync('dovecot', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

export function machine(): Machine {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpuModel = m[1].trim();
  } catch {
    // Not Linux: os.cpus() is what there is.
  }
  return {
    cpus: os.cpus().length,
    cpuModel,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    dovecot: dovecotVersion(),
  };
}

export const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

/** Prints the result and saves it as bench/results/<name>.json. */
export async function saveResult(result: Omit<BenchResult, 'date' | 'machine' | 'seconds'>, startedAt: number): Promise<void> {
  const full: BenchResult = {
    ...result,
    date: new Date().toISOString(),
    seconds: Math.round((Date.now() - startedAt) / 1000),
    machine: machine(),
  };
  console.log(`\n== ${full.title} ==`);
  const widths: number[] = [];
  for (const row of full.table) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  for (const row of full.table) console.log(row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
  for (const t of full.targets) console.log(`target ${t.what}: ${t.value} (target ${t.target}) ${t.met ? 'MET' : 'NOT MET'}`);
  await fsp.mkdir(RESULTS_DIR, { recursive: true });
  await fsp.writeFile(path.join(RESULTS_DIR, `${full.name}.json`), `${JSON.stringify(full, null, 2)}\n`);
  console.log(`saved bench/results/${full.name}.json (${full.seconds} s)`);
}
