/**
 * Authentication method 1, "System accounts": the mailbox `user@domain` logs
 * in with the password of this computer's OS account `user`, checked by PAM
 * (service `winpop`, see pam/winpop.pam) through the `winpop-pam` helper.
 *
 * Only people's accounts may log in: the user id must be in the log-in range
 * (login-uid-range.ts), so root and daemon accounts are refused before PAM
 * sees their password, and PAM's account check (`pam_acct_mgmt`) refuses
 * locked and expired accounts. Checks are bounded: at most `maxConcurrent`
 * helpers at once, at most `maxWaiting` more queued, and each check settles
 * within `timeoutMs` from the call, queueing included.
 */

import { accessSync, constants, existsSync } from 'node:fs';
import type { Address } from '../../../shared/names.js';
import { loginUidRange, type UidRange } from './login-uid-range.js';
import { osUserNameProblem } from './os-user-name.js';
import { defaultHelperPath, helperProblem, runHelper } from './pam-helper.js';
import type { AuthorityVerdict, PasswordAuthority } from './password-authority.js';

/** The PAM service name; without `/etc/pam.d/winpop`, Linux-PAM uses its `other` service. */
export const PAM_SERVICE = 'winpop';
/** Longer passwords are refused without asking PAM (POP3's PASS line is shorter anyway). */
export const PASSWORD_MAX_BYTES = 1024;

export interface SystemAccountsOptions {
  /** The PAM service name (default `winpop`). */
  readonly service?: string;
  readonly helperPath?: string;
  /** Most time a check takes from the call, queueing included (default 10 s). */
  readonly timeoutMs?: number;
  /** Helpers running at once (default 4). */
  readonly maxConcurrent?: number;
  /** Checks waiting for a helper; more are answered `unavailable` at once (default 64). */
  readonly maxWaiting?: number;
  /** The user ids allowed to log in (default: this computer's log-in range). */
  readonly uidRange?: UidRange;
  readonly platform?: NodeJS.Platform;
}

export interface SystemAccountsAuthority extends PasswordAuthority {
  /** Helpers running now. */
  running(): number;
}

/**
 * Why this process cannot check other users' passwords with pam_unix, or
 * null when it can (or when that cannot be told from here).
 *
 * pam_unix reads `/etc/shadow` itself only when it can; otherwise it asks
 * `unix_chkpwd`, which checks nothing but the caller's own password, so every
 * other account is answered "wrong password". Give the service's user read
 * access to `/etc/shadow` (Debian: the `shadow` group) or run it as root.
 */
export function shadowAccessProblem(platform: NodeJS.Platform = process.platform): string | null {
  if (platform !== 'linux' || process.geteuid?.() === 0 || !existsSync('/etc/shadow')) return null;
  try {
    accessSync('/etc/shadow', constants.R_OK);
    return null;
  } catch {
    return `this service runs as uid ${process.geteuid?.()} and cannot read /etc/shadow, so pam_unix can check no password but its own user's: add the service's user to the "shadow" group (or run the service as root)`;
  }
}

/**
 * What the service logs when it starts with the System accounts method: who
 * may log in, and each thing that will keep log-ins from working as the
 * administrator expects (no helper, no PAM file, no access to /etc/shadow).
 */
export function systemAccountsStartupNotes(options: SystemAccountsOptions = {}): string[] {
  const platform = options.platform ?? process.platform;
  const service = options.service ?? PAM_SERVICE;
  if (platform !== 'linux' && platform !== 'darwin') return [`System accounts are not available on ${platform}: every log-in is answered [SYS/TEMP].`];
  const notes: string[] = [];
  const helper = helperProblem(options.helperPath ?? defaultHelperPath());
  if (helper) notes.push(helper);
  if (!existsSync(`/etc/pam.d/${service}`)) {
    notes.push(`There is no /etc/pam.d/${service}: PAM checks System accounts passwords with its "other" service. Install the shipped winpop.pam there to choose the stack.`);
  }
  const shadow = shadowAccessProblem(platform);
  if (shadow) notes.push(`System accounts: ${shadow}.`);
  const range = options.uidRange ?? loginUidRange(platform);
  notes.push(`System accounts: accounts with uid ${range.min}-${range.max} may log in; PAM service "${service}".`);
  return notes;
}

/** The "System accounts" authority. */
export function createSystemAccountsAuthority(options: SystemAccountsOptions = {}): SystemAccountsAuthority {
  const platform = options.platform ?? process.platform;
  const service = options.service ?? PAM_SERVICE;
  const helperPath = options.helperPath ?? defaultHelperPath();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxConcurrent = Math.max(1, options.maxConcurrent ?? 4);
  const maxWaiting = Math.max(0, options.maxWaiting ?? 64);
  const uidRange = options.uidRange ?? loginUidRange(platform);
  const shadowProblem = shadowAccessProblem(platform);

  const running = new Set<ReturnType<typeof runHelper>>();
  const waiting: Array<() => void> = [];
  let closed = false;

  const unsupported =
    platform === 'win32'
      ? 'System accounts are not available on Windows yet (planned: LogonUser with LOGON32_LOGON_NETWORK; see the README).'
      : platform !== 'linux' && platform !== 'darwin'
        ? `System accounts use PAM, supported here on Linux and macOS; this is ${platform}.`
        : null;

  // Slots are counted when granted, not when the helper starts, so that a slot handed to a waiter cannot be taken twice.
  let granted = 0;

  /** Waits for a free helper slot until `deadline`; false if none came, or the authority closed. */
  const slot = (deadline: number): Promise<boolean> => {
    if (granted < maxConcurrent && waiting.length === 0) {
      granted++;
      return Promise.resolve(true);
    }
    if (waiting.length >= maxWaiting) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        if (!closed) granted++;
        resolve(!closed);
      };
      const timer = setTimeout(() => {
        const at = waiting.indexOf(wake);
        if (at >= 0) waiting.splice(at, 1);
        resolve(false);
      }, Math.max(0, deadline - Date.now()));
      waiting.push(wake);
    });
  };

  const release = (): void => {
    granted--;
    if (granted < maxConcurrent) waiting.shift()?.();
  };

  const verify = async (address: Address, password: string): Promise<AuthorityVerdict> => {
    if (closed) return { verdict: 'unavailable', detail: 'the System accounts authority is closed' };
    if (unsupported) return { verdict: 'unavailable', detail: unsupported };
    const user = address.mailbox;
    const nameProblem = osUserNameProblem(user);
    if (nameProblem) return { verdict: 'bad', detail: nameProblem };
    if (password.length === 0 || password.includes('\0') || Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
      return { verdict: 'bad', detail: 'the password is empty, too long or has a NUL character' };
    }
    const missing = helperProblem(helperPath);
    if (missing) return { verdict: 'unavailable', detail: missing };

    const deadline = Date.now() + timeoutMs;
    if (!(await slot(deadline))) {
      if (closed) return { verdict: 'unavailable', detail: 'the System accounts authority is closed' };
      return { verdict: 'unavailable', detail: `${granted} PAM checks running and ${waiting.length} waiting: no slot within ${timeoutMs} ms` };
    }
    if (closed) {
      release();
      return { verdict: 'unavailable', detail: 'the System accounts authority is closed' };
    }
    const check = runHelper({ helperPath, service, uidRange, user, password, timeoutMs: Math.max(1, deadline - Date.now()) });
    running.add(check);
    try {
      const verdict = await check;
      if (verdict.verdict === 'bad' && shadowProblem) return { verdict: 'bad', detail: `${verdict.detail ?? ''} (${shadowProblem})` };
      return verdict;
    } finally {
      running.delete(check);
      release();
    }
  };

  return {
    method: 1,
    verify,
    running: () => running.size,
    close() {
      closed = true;
      for (const wake of waiting.splice(0)) wake();
      for (const check of running) check.kill();
      return Promise.resolve();
    },
  };
}
