/**
 * The admin endpoint's password check, guarded as POP3's is (see
 * pop3/login-gate.ts and pop3/login-penalty.ts, used here unchanged): one
 * check at a time per client address and per admin name, bounded lines,
 * the doubling penalty after each failure (2 s to 15 s) for that address and
 * that name, and the password workers' bounded queue. An unknown name costs
 * the same as a wrong password and gets the same answer.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../log.js';
import { LoginGate } from '../../pop3/login-gate.js';
import { LoginPenalty } from '../../pop3/login-penalty.js';
import { LoginBusyError, PasswordCheckAbandoned } from '../../store/passwords.js';
import type { AdminAccounts } from './admin-accounts.js';

export type LoginOutcome =
  | { readonly kind: 'ok'; readonly name: string }
  /** Wrong password or unknown name: the same for both. */
  | { readonly kind: 'wrong' }
  /** A line was full or the password workers' queue: refused unchecked; try again after `retryAfterSeconds`. */
  | { readonly kind: 'busy'; readonly retryAfterSeconds: number; readonly why: string }
  /** The accounts cannot be read (a damaged file): nobody can sign in until it is repaired. */
  | { readonly kind: 'unavailable'; readonly message: string }
  /** The client left before its turn. */
  | { readonly kind: 'gone' };

export class LoginGuard {
  private readonly gate: LoginGate;
  /** Per admin name, bumped when its sessions are ended: a check that began before must not open a session after. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly accounts: AdminAccounts,
    private readonly log: Logger,
    penalty: LoginPenalty = new LoginPenalty(),
  ) {
    this.gate = new LoginGate(penalty);
  }

  /** A change to `name` (deleted, new password): a check already under way for it fails. */
  invalidate(name: string): void {
    this.generations.set(name, (this.generations.get(name) ?? 0) + 1);
  }

  /** Checks one log-in attempt from `remote` (the client's address) for `name`, in its turn. */
  async attempt(remote: string, rawName: string, password: string, signal: AbortSignal): Promise<LoginOutcome> {
    const name = rawName.toLowerCase();
    const admission = await this.gate.admit(remote, name, signal);
    if (admission.kind === 'gone') return { kind: 'gone' };
    if (admission.kind === 'busy') {
      const delay = this.gate.refused(remote);
      this.log.warn('admin endpoint: log-in refused unchecked, too many attempts waiting', { remote, line: admission.line });
      return { kind: 'busy', retryAfterSeconds: Math.max(1, Math.ceil(delay / 1000)), why: `too many sign-in attempts are waiting for this ${admission.line === 'client' ? 'address' : 'name'}` };
    }
    try {
      if (admission.delayMs > 0) {
        this.log.info('admin endpoint: sign-in answer delayed', { remote, admin: name.slice(0, 64), delayMs: admission.delayMs });
        await sleep(admission.delayMs, undefined, { signal });
      }
      const generation = this.generations.get(name) ?? 0;
      let ok: boolean;
      try {
        ok = await this.accounts.verify(name, password, { priority: admission.priority, signal });
      } catch (err) {
        if (err instanceof LoginBusyError) {
          const delay = this.gate.refused(remote);
          return { kind: 'busy', retryAfterSeconds: Math.max(1, Math.ceil(delay / 1000)), why: 'the service is busy checking passwords' };
        }
        if (err instanceof PasswordCheckAbandoned) return { kind: 'gone' };
        this.log.error('admin endpoint: cannot check admin passwords', { error: (err as Error).message });
        return { kind: 'unavailable', message: (err as Error).message };
      }
      if (ok && (this.generations.get(name) ?? 0) === generation) {
        this.gate.succeeded(remote, name);
        this.log.info('admin endpoint: signed in', { remote, admin: name });
        return { kind: 'ok', name };
      }
      const counts = this.gate.failed(remote, name);
      this.log.warn('admin endpoint: sign-in failed', { remote, admin: name.slice(0, 64), failures: counts.address, nextDelayMs: counts.nextDelayMs });
      return { kind: 'wrong' };
    } catch (err) {
      if ((err as Error).name === 'AbortError') return { kind: 'gone' };
      throw err;
    } finally {
      admission.release();
    }
  }
}
