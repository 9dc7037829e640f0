/**
 * Our service as users run it: `pop3svc` in its own process with its own
 * config file, on ephemeral ports, its log going to a file (as a service
 * manager would keep it), stopped with SIGTERM.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { SettingsPatch } from '../../shared/contract.js';
import { onCleanup, REPO_ROOT, sleep, tempDir } from './util.js';

export interface OurService {
  readonly pid: number;
  readonly pop3Port: number;
  readonly smtpPort: number;
  /** The POP3S port (TLS from the first byte); null when this build or its TLS set-up has none. */
  readonly pop3sPort: number | null;
  readonly mailroot: string;
  readonly configPath: string;
  readonly logPath: string;
  stop(): Promise<void>;
}

export interface OurOptions {
  readonly mailroot: string;
  /** Settings written to the config file (socket limits, logging). */
  readonly settings?: SettingsPatch;
  /** Extra node flags, e.g. `--cpu-prof --cpu-prof-dir=DIR`. */
  readonly nodeArgs?: readonly string[];
}

/**
 * The `workers` setting from BENCH_WORKERS (a number of POP3/SMTP worker
 * processes), for builds that have it; absent when unset. A value that is not
 * a whole number ≥ 1 is an error, not a silent default.
 */
export function benchWorkers(): number | undefined {
  const text = process.env.BENCH_WORKERS;
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_WORKERS must be a whole number of 1 or more (worker processes); got "${text}".`);
  return n;
}

export const POP3SVC = path.join(REPO_ROOT, 'bin', 'pop3svc.js');
export const WINPOP = path.join(REPO_ROOT, 'bin', 'winpop.js');

/** Starts pop3svc and waits for its `pop3svc ready` line. */
export async function startOurs(options: OurOptions): Promise<OurService> {
  const dir = await tempDir('ours');
  const configPath = path.join(dir, 'config.json');
  // Loopback only, as the Dovecot instance it is compared with: a benchmark is nothing to offer the network.
  const workers = benchWorkers();
  await fsp.writeFile(
    configPath,
    JSON.stringify({ mailroot: options.mailroot, listen: ['127.0.0.1'], ...options.settings, ...(workers === undefined ? {} : { workers }) }, null, 2),
  );
  const logPath = path.join(dir, 'pop3svc.log');
  const fd = openSync(logPath, 'w');
  // Every listener on a free port, so nothing else on the machine is in the way.
  const portFlags = ['--pop3-port', '0', '--smtp-port', '0', ...(pop3svcHelp().includes('--pop3s-port') ? ['--pop3s-port', '0'] : [])];
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), POP3SVC, '--config', configPath, '--mailroot', options.mailroot, ...portFlags],
    { stdio: ['ignore', fd, fd], env: { ...process.env, WINPOP_CONFIG: configPath } },
  );
  closeSync(fd);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exit;
    clearTimeout(timer);
  };
  onCleanup(stop);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const log = await fsp.readFile(logPath, 'utf8');
    const ready = /pop3svc ready .*$/m.exec(log)?.[0];
    if (ready) {
      const port = (name: string): number => Number(new RegExp(` ${name}=[^ ]*:(\\d+)`).exec(ready)?.[1] ?? Number.NaN);
      const pop3s = port('pop3s');
      return { pid: child.pid as number, pop3Port: port('pop3'), smtpPort: port('smtp'), pop3sPort: Number.isNaN(pop3s) ? null : pop3s, mailroot: options.mailroot, configPath, logPath, stop };
    }
    if (exited) throw new Error(`pop3svc exited before it was ready:\n${log}`);
    await sleep(50);
  }
  throw new Error(`pop3svc was not ready within 120 s; see ${logPath}`);
}

let helpText: string | undefined;
/** pop3svc's usage text (to pass only the options this build knows). */
function pop3svcHelp(): string {
  helpText ??= spawnSync(process.execPath, [POP3SVC, '--help'], { encoding: 'utf8' }).stdout ?? '';
  return helpText;
}

/** True when the built service exists (run `npx tsc -p .` first). */
export function builtServiceExists(): boolean {
  return existsSync(path.join(REPO_ROOT, 'dist', 'electron', 'cli', 'pop3svc.js'));
}
