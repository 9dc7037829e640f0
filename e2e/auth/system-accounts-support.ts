/**
 * Real OS accounts and PAM service files for the System accounts tests:
 * people's accounts (uid in the log-in range) made with useradd and given a
 * password with chpasswd, a PAM service file under /etc/pam.d, all removed
 * afterwards, even when a test fails.
 */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/processes.js';

/** The PAM service file the project ships. */
export const SHIPPED_PAM_FILE = path.join(REPO_ROOT, 'electron', 'service', 'auth', 'pam', 'winpop.pam');

/** Why these tests cannot run here, or false; under CI=true never a skip (the test must then fail). */
export function systemAccountsSkip(): string | false {
  let reason: string | null = null;
  if (process.platform !== 'linux') reason = `the System accounts tests make OS users with useradd and need Linux; this is ${process.platform}`;
  else if (process.getuid?.() !== 0) reason = 'the System accounts tests make OS users and PAM service files: run them as root';
  if (reason === null || process.env.CI === 'true') return false;
  return reason;
}

export function sh(command: string, args: readonly string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout).trim(), stderr: String(stderr).trim() || (err ? err.message : '') });
    });
    // A command that reads no input may exit before it is written.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

/** useradd, userdel and chpasswd refuse while another holds /etc/passwd's lock: try again, a bounded number of times. */
async function retryingLock(command: string, args: readonly string[], input?: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const result = await sh(command, args, input);
    if (result.code === 0) return;
    if (attempt >= 20 || !/lock/i.test(result.stderr)) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
  }
}

/** A unique name per run (random only so that runs never collide; printed, nothing depends on it). */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

/** Made OS accounts and PAM files, removed by `cleanUp` whatever happened. */
export class Accounts {
  private readonly users: string[] = [];
  private readonly pamFiles: string[] = [];

  /** An account with a password; `system` gives it a uid below the log-in range, like a daemon's. */
  async add(purpose: string, password: string, system = false): Promise<string> {
    const name = uniqueName('wpsa');
    this.users.push(name);
    await retryingLock('useradd', [...(system ? ['--system'] : []), '--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name]);
    await retryingLock('chpasswd', [], `${name}:${password}\n`);
    const uid = (await sh('id', ['-u', name])).stdout;
    console.log(`made OS user ${name} (uid ${uid}) for ${purpose}`);
    return name;
  }

  /** Installs `content` as /etc/pam.d/NAME under a unique name; the service name. */
  async pamService(content: string): Promise<string> {
    const name = uniqueName('winpop-test-');
    const file = path.join('/etc/pam.d', name);
    this.pamFiles.push(file);
    await writeFile(file, content, { mode: 0o644 });
    return name;
  }

  /** Installs the shipped winpop PAM file under a unique service name. */
  async shippedPamService(): Promise<string> {
    return this.pamService(await readFile(SHIPPED_PAM_FILE, 'utf8'));
  }

  async cleanUp(): Promise<void> {
    const problems: string[] = [];
    for (const name of this.users.splice(0)) {
      await retryingLock('userdel', [name]).catch((err: Error) => problems.push(err.message));
    }
    for (const file of this.pamFiles.splice(0)) await rm(file, { force: true });
    if (problems.length > 0) throw new Error(problems.join('\n'));
  }
}
