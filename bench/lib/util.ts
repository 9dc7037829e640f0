/**
 * Small helpers every benchmark shares: options, statistics, temp folders,
 * process figures from /proc, free ports, and a main wrapper that always
 * cleans up (children stopped, temp folders removed) and never runs forever.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this module with a package.json (from dist/bench/lib or, under Playwright, bench/lib). */
export const REPO_ROOT = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && dir !== path.dirname(dir)) dir = path.dirname(dir);
  return dir;
})();

/** Reads `--name value` options; numbers via `num`. */
export function options(argv = process.argv.slice(2)) {
  const get = (name: string): string | undefined => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  return {
    get,
    has: (name: string): boolean => argv.includes(`--${name}`),
    num(name: string, fallback: number): number {
      const v = get(name);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`--${name} must be a number; got "${v}".`);
      return n;
    },
  };
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0–100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A port free right now on 127.0.0.1 (for servers, like Dovecot, that cannot take port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** VmRSS of a process in bytes, or null when it has gone. */
export function rssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds a process has used so far (0 when it has gone); with `reaped`, plus its ended children's. */
export function cpuSeconds(pid: number, reaped = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const children = reaped ? Number(fields[13]) + Number(fields[14]) : 0;
    return (utime + stime + children) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU seconds all processes on the machine have used since boot (busy time summed over the CPUs). */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** This process and all its children's CPU so far (the load client's own share). */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Children of a process, recursively (from /proc). */
export function descendants(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = byParent.get(ppid) ?? [];
      list.push(Number(entry));
      byParent.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const child of byParent.get(p) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

/** The command name of a process (`comm`), or '' when it has gone. */
export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Niceness of the benchmark and everything it starts. */
export const BENCH_NICE = -10;

let raisedAutogroup = false;

/**
 * Gives a process that started its own session (a daemon, like Dovecot's
 * master, calls setsid) the same scheduling group priority as the benchmark,
 * so that both servers compete on equal terms with other work on the machine.
 */
export function matchAutogroup(pid: number): void {
  if (!raisedAutogroup) return;
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(BENCH_NICE));
  } catch {
    console.error(`could not set the scheduling group of process ${pid}; the comparison may favour our service on a busy machine`);
  }
}

/**
 * With the kernel's autogroup scheduling, CPU is shared between sessions
 * before niceness counts, so the session's group is raised too (and put back
 * at exit).
 */
function raiseAutogroup(): void {
  const file = '/proc/self/autogroup';
  raisedAutogroup = true;
  let before: string | undefined;
  try {
    before = /nice (-?\d+)/.exec(readFileSync(file, 'utf8'))?.[1];
    writeFileSync(file, String(BENCH_NICE));
  } catch {
    return;
  }
  if (before !== undefined) {
    const restore = before;
    onCleanup(() => {
      try {
        writeFileSync(file, restore);
      } catch {
        // The group may be gone; nothing to put back.
      }
    });
  }
}

const cleanups: (() => Promise<void> | void)[] = [];

/** Registers work to undo at exit (last registered runs first). */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop() as () => Promise<void> | void;
    try {
      await fn();
    } catch (err) {
      console.error(`cleanup failed: ${(err as Error).message}`);
    }
  }
}

/** A temp folder removed at exit. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `winpop-bench-${prefix}-`));
  onCleanup(() => fsp.rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Runs a benchmark's main: cleans up on success, failure, Ctrl+C and when
 * the time limit passes, and sets the exit code.
 */
export function runMain(name: string, main: () => Promise<void>, timeLimitMs: number): void {
  // The machine may be shared (other test runs): a higher priority, inherited by
  // both servers and the client alike, keeps the comparison about the servers.
  try {
    os.setPriority(BENCH_NICE);
    raiseAutogroup();
  } catch {
    console.error(`${name}: could not raise the priority (not root?); figures will vary more on a busy machine`);
  }
  let finished = false;
  const finish = async (code: number): Promise<void> => {
    if (finished) return;
    finished = true;
    await runCleanups();
    process.exit(code);
  };
  const timer = setTimeout(() => {
    console.error(`${name}: stopped after the time limit of ${timeLimitMs / 1000} s`);
    void finish(3);
  }, timeLimitMs);
  timer.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${name}: ${signal}, cleaning up`);
      void finish(130);
    });
  }
  main().then(
    () => finish(0),
    (err: unknown) => {
      console.error(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      void finish(1);
    },
  );
}

/** Prints a fixed-width table. */
export function printTable(rows: readonly (readonly (string | number)[])[]): void {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, String(cell).length)));
  for (const row of rows) console.log(row.map((cell, i) => String(cell).padEnd(widths[i] ?? 0)).join('  '));
}
