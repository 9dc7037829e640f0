/**
 * Throw-away OS users, for tests where who owns a file or runs a process is
 * the point: made with useradd as root, removed afterwards, and processes run
 * as them with spawn's uid/gid.
 */

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { run, type RunResult } from './processes.js';

export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** Removes the user and its group; files it owns stay for the test to remove. */
  remove(): Promise<void>;
}

/**
 * Why OS users cannot be made here, for a skip; false when they can, and
 * also under CI=true, where the tests must then fail (in createOsUser) rather
 * than skip.
 */
export function osUserSkip(): string | false {
  let reason: string | null = null;
  if (process.platform !== 'linux') reason = `making OS users with useradd needs Linux; this is ${process.platform}`;
  else if (process.getuid?.() !== 0) reason = 'making a second OS user needs root; run the tests as root to include the ownership tests';
  if (reason === null || process.env.CI === 'true') return false;
  return reason;
}

function sh(command: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout).trim(), stderr: String(stderr).trim() || (err ? err.message : '') });
    });
  });
}

/** useradd and userdel refuse while another one holds /etc/passwd's lock: try again, a bounded number of times. */
async function withPasswdLock(command: string, args: readonly string[]): Promise<{ code: number; stderr: string }> {
  for (let attempt = 0; ; attempt++) {
    const result = await sh(command, args);
    if (result.code === 0 || attempt >= 20 || !/lock/i.test(result.stderr)) return result;
    await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
  }
}

/** Makes a system user without a home or a log-in shell; its name says what it is for. */
export async function createOsUser(purpose: string): Promise<OsUser> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error(`cannot make an OS user for ${purpose}: ${osUserSkip() || 'this needs root on Linux (CI=true makes that a failure, not a skip)'}`);
  }
  // Random only so that parallel runs never collide; the name is printed, nothing depends on it.
  const name = `winpop-test-${randomBytes(4).toString('hex')}`;
  const added = await withPasswdLock('useradd', ['--system', '--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name]);
  if (added.code !== 0) throw new Error(`useradd ${name} failed: ${added.stderr}`);
  const uid = Number((await sh('id', ['-u', name])).stdout);
  const gid = Number((await sh('id', ['-g', name])).stdout);
  console.log(`made OS user ${name} (uid ${uid}) for ${purpose}`);
  return {
    name,
    uid,
    gid,
    async remove() {
      const removed = await withPasswdLock('userdel', [name]);
      if (removed.code !== 0) throw new Error(`userdel ${name} failed: ${removed.stderr}`);
    },
  };
}

/** An environment for a process of `user`: no variables of ours (XDG_RUNTIME_DIR, HOME) unless given. */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}), HOME: '/', ...extra };
}

/** Starts a process as `user`, in the root folder, with `env` as its whole environment. */
export function spawnAs(user: OsUser, command: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(command, args, { uid: user.uid, gid: user.gid, cwd: '/', env, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs a command as `user` to its end. */
export function runAs(user: OsUser, command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<RunResult> {
  return run(command, args, { env, timeoutMs, as: { uid: user.uid, gid: user.gid, cwd: '/' } });
}
