/**
 * Who decides whether a POP3 password is right, by the server's
 * authentication method (`Settings.auth`): the store's own password file (3),
 * a directory over LDAP (2), or the operating system's accounts (1).
 *
 * The mailbox itself (its Maildir, lock and audit) always lives in the store;
 * an authority only answers for the password. Locks are checked by the
 * caller after a right password, as with the password file.
 */

import type { AuthMethod } from '../../../shared/contract.js';
import type { Address } from '../../../shared/names.js';

/** How a log-in waits: its place in a queue of checks (lower first), and a signal that the client has gone. */
export interface VerifyOptions {
  readonly priority?: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * `ok`: the password is right. `bad`: wrong password or unknown user (the
 * two are never told apart, to the client or in timing). `unavailable`: the
 * authority cannot answer now (directory down or slow, PAM broken); the
 * client gets `-ERR [SYS/TEMP]`, never another method's answer. `detail` is
 * for the service's log, never for the client.
 */
export type AuthorityVerdict =
  | { readonly verdict: 'ok' }
  | { readonly verdict: 'bad'; readonly detail?: string }
  | { readonly verdict: 'unavailable'; readonly detail: string };

export interface PasswordAuthority {
  readonly method: AuthMethod;
  /** Checks `password` for the mailbox `address`; settles within the authority's own timeout and never throws. */
  verify(address: Address, password: string, options?: VerifyOptions): Promise<AuthorityVerdict>;
  /** Ends its connections and timers, so that the process can exit. */
  close(): Promise<void>;
}

/**
 * Thrown by the log-in check when the configured authority answered
 * `unavailable`: the POP3 session answers `-ERR [SYS/TEMP]` and counts no
 * failure against the client.
 */
export class AuthorityUnavailableError extends Error {
  constructor(
    readonly method: AuthMethod,
    readonly detail: string,
  ) {
    super(`The passwords cannot be checked right now (authentication method ${method}): ${detail}`);
    this.name = 'AuthorityUnavailableError';
  }
}
