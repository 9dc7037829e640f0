/**
 * Runs the project's own commands (`winpop`, `pop3svc`) as real processes,
 * from the built `bin/` entry points, as an administrator would.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this compiled file (dist/e2e/helpers). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const WINPOP = path.join(REPO_ROOT, 'bin', 'winpop.js');
export const POP3SVC = path.join(REPO_ROOT, 'bin', 'pop3svc.js');

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** The folder to run in; the test's own by default. */
  readonly cwd?: string;
  /** Another OS user to run as (root only), in `cwd`. */
  readonly as?: { readonly uid: number; readonly gid: number; readonly cwd: string };
}

/** Runs a command to its end, feeding `input` on stdin; rejects only if it cannot start or outlives `timeoutMs`. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd, ...options.as });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(command)} ${args.join(' ')} did not finish in ${options.timeoutMs ?? 30_000} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A program that ends without reading its input (id, ps) closes the pipe first: EPIPE then is no failure of the run.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** Runs `winpop` with the given arguments. */
export function winpop(args: readonly string[], options: { input?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [WINPOP, ...args], options);
}

export interface RunningService {
  readonly process: ChildProcess;
  readonly pop3Port: number;
  readonly smtpPort: number;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL of every process of the service (pop3svc and its workers): a crash, with no chance to clean up. */
  kill(): Promise<void>;
  /**
   * Waits for the log line that says the background recovery has been
   * through every mailbox (the config's logging must be 2 or more); rejects
   * with the output if it does not come within `ms` or the service exits.
   */
  recovered(ms?: number): Promise<void>;
}

/** The line pop3svc logs once its background recovery has been through every mailbox. */
export const RECOVERY_FINISHED = /INFO  Store recovery finished /;

/** True while the pid names a process, a zombie included (what a writer-alive check sees). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The worker processes pop3svc has reported in its output: those of its ready line and every replacement. */
export function workerPids(output: string): number[] {
  const listed = /pop3svc ready .* pids=([0-9,]+)/.exec(output)?.[1]?.split(',') ?? [];
  const replacements = [...output.matchAll(/worker process ready pid=(\d+)/g)].map((m) => m[1] as string);
  return [...new Set([...listed, ...replacements].map(Number))];
}

/** Starts `pop3svc` on free loopback ports and waits until it says it is ready. */
export function startPop3svc(mailroot: string, config: string, extra: readonly string[] = []): Promise<RunningService> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [POP3SVC, '--mailroot', mailroot, '--config', config, '--pop3-port', '0', '--smtp-port', '0', '--listen', '127.0.0.1', ...extra],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pop3svc did not become ready:\n${out}`));
    }, 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString('utf8');
      const ready = /pop3svc ready .*pop3=[^ ]*:(\d+) .*smtp=[^ ]*:(\d+)/.exec(out);
      if (!ready) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stdout.on('data', (more: Buffer) => (out += more.toString('utf8')));
      resolve({
        process: child,
        pop3Port: Number(ready[1]),
        smtpPort: Number(ready[2]),
        output: () => out,
        async stop() {
          child.kill('SIGTERM');
          return exited;
        },
        async kill() {
          // The whole service at once, as a power cut or systemd's kill of its control group: the primary first (so it
          // starts no replacement), then in the same instant every worker process it ever reported (setting `workers`).
          child.kill('SIGKILL');
          const workers = workerPids(out);
          for (const pid of workers) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // Gone already.
            }
          }
          await exited;
          // The workers were pop3svc's children: the system's init reaps them, and until then their pids still answer,
          // so the next start's recovery would take what they left in tmp/ for a live writer's.
          const until = Date.now() + 30_000;
          while (workers.some(exists)) {
            if (Date.now() > until) throw new Error(`pop3svc's workers ${workers.filter(exists).join(',')} still exist 30 s after SIGKILL`);
            await new Promise((r) => setTimeout(r, 20));
          }
        },
        async recovered(ms = 60_000) {
          const until = Date.now() + ms;
          while (!RECOVERY_FINISHED.test(out)) {
            if (child.exitCode !== null || child.signalCode !== null) throw new Error(`pop3svc ended before its recovery finished:\n${out}`);
            if (Date.now() > until) throw new Error(`pop3svc did not finish its recovery within ${ms} ms:\n${out}`);
            await new Promise((r) => setTimeout(r, 10));
          }
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pop3svc exited with ${code} before it was ready:\n${out}`));
    });
  });
}
