/**
 * Runs `winpop-pam` (pam/winpop-pam.c) for one password check: one process
 * per check, killed at the deadline. A process a PAM module starts in a
 * session of its own (pam_exec does) is that module's to end: only the helper
 * is killed.
 *
 * The C helper, not an in-process binding, because a PAM stack may sleep
 * (pam_unix's fail delay, pam_faildelay) or hang (a network module): a
 * process can be killed, a libuv worker thread cannot, and those threads are
 * the ones the store's file I/O needs. The password travels on the helper's
 * standard input, never on its command line.
 */

import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuthorityVerdict } from './password-authority.js';
import type { UidRange } from './login-uid-range.js';

/** Where `npm run build` puts the compiled helper: beside this module, in `pam/` (in a packaged app, unpacked beside app.asar). */
export function defaultHelperPath(moduleUrl: string = import.meta.url): string {
  const beside = path.join(path.dirname(fileURLToPath(moduleUrl)), 'pam', 'winpop-pam');
  return beside.replace(`${path.sep}app.asar${path.sep}`, `${path.sep}app.asar.unpacked${path.sep}`);
}

/** Why the helper cannot run here, or null when it can. */
export function helperProblem(helperPath: string): string | null {
  if (!existsSync(helperPath)) {
    return `The PAM helper ${helperPath} is not built: run "npm run build:pam" (it needs a C compiler and the PAM headers, Debian's gcc and libpam0g-dev).`;
  }
  try {
    accessSync(helperPath, constants.X_OK);
  } catch {
    return `The PAM helper ${helperPath} is not executable by this service's user.`;
  }
  return null;
}

export interface HelperRequest {
  readonly helperPath: string;
  readonly service: string;
  readonly uidRange: UidRange;
  readonly user: string;
  readonly password: string;
  /** Milliseconds the check may still take. */
  readonly timeoutMs: number;
}

/** The verdict of one helper run, settled by the deadline at the latest; never throws. `kill` ends it at once as `unavailable`. */
export function runHelper(request: HelperRequest): Promise<AuthorityVerdict> & { kill(): void } {
  let kill = (): void => undefined;
  const verdict = new Promise<AuthorityVerdict>((resolve) => {
    let settled = false;
    const settle = (v: AuthorityVerdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(v);
    };
    const seconds = Math.max(1, Math.ceil(request.timeoutMs / 1000));
    const child = spawn(
      request.helperPath,
      [request.service, String(request.uidRange.min), String(request.uidRange.max), String(seconds)],
      // C locale, so that PAM's messages read the same in every log.
      { stdio: ['pipe', 'pipe', 'ignore'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } },
    );
    const killHelper = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    kill = (): void => {
      killHelper();
      settle({ verdict: 'unavailable', detail: 'the check was cancelled: the authority closed' });
    };
    const timer = setTimeout(() => {
      killHelper();
      settle({ verdict: 'unavailable', detail: `PAM did not answer within ${request.timeoutMs} ms` });
    }, request.timeoutMs);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (out.length < 2048) out += chunk;
    });
    child.on('error', (err) => settle({ verdict: 'unavailable', detail: `cannot run the PAM helper: ${err.message}` }));
    child.on('close', (code, signal) => {
      const line = out.split('\n')[0]?.trim() ?? '';
      const detail = line.replace(/^\S+\s*/, '');
      if (code === 0 && line === 'ok') settle({ verdict: 'ok' });
      else if (code === 1) settle({ verdict: 'bad', detail });
      else if (signal) settle({ verdict: 'unavailable', detail: `the PAM helper ended by ${signal}` });
      else settle({ verdict: 'unavailable', detail: detail || `the PAM helper exited with ${code}` });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(Buffer.from(`${request.user}\0${request.password}\0`, 'utf8'));
  });
  return Object.assign(verdict, { kill: () => kill() });
}
