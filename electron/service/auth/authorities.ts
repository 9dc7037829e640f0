/**
 * Which authority decides log-in passwords: the one of the server's
 * authentication method (`Settings.auth`), made again when its settings
 * change. A method with no authority on this platform cannot be chosen.
 *
 * To add a method, give it a maker in MAKERS; nothing else changes.
 */

import { AUTH_METHODS, type AuthMethod, type DirectorySettings, type Settings } from '../../../shared/contract.js';
import type { Logger } from '../log.js';
import { createDirectoryAuthority } from './directory-authority.js';
import type { DirectorySecret } from './directory-secret.js';
import type { PasswordAuthority } from './password-authority.js';
import { createSystemAccountsAuthority, systemAccountsStartupNotes } from './system-accounts.js';

export interface AuthorityContext {
  readonly settings: Settings;
  /** The store's own password file (auth 3). */
  readonly passwordFile: PasswordAuthority;
  readonly directorySecret: DirectorySecret;
  readonly log: Logger;
}

type Maker = (ctx: AuthorityContext) => PasswordAuthority;

/** Each method's authority; null where the method is not built on this platform. */
const MAKERS: { readonly [M in AuthMethod]: Maker | null } = {
  1: (ctx) => {
    // What PAM will do here (no helper, no PAM file, no access to /etc/shadow), said when the method is taken up.
    for (const note of systemAccountsStartupNotes()) ctx.log.info(note);
    return createSystemAccountsAuthority();
  },
  2: (ctx) => createDirectoryAuthority({ settings: ctx.settings.directory, bindPassword: ctx.directorySecret.get() }),
  3: (ctx) => ctx.passwordFile,
};

/** Why `method` cannot be chosen here, or null when it can. */
export function authMethodProblem(method: AuthMethod): string | null {
  if (MAKERS[method] !== null) return null;
  return `The ${AUTH_METHODS[method]} method is not available on this platform; use 2 (${AUTH_METHODS[2]}) or 3 (${AUTH_METHODS[3]}).`;
}

/** An authority that answers unavailable to every log-in, saying why. */
function refusing(method: AuthMethod): PasswordAuthority {
  const detail = authMethodProblem(method) ?? '';
  return { method, verify: async () => ({ verdict: 'unavailable', detail }), close: async () => {} };
}

export interface Authorities {
  /** The authority for a log-in now: made again after a change of the method, of its settings, or of the directory's service password. */
  current(): PasswordAuthority;
  /** Ends the current authority's connections. */
  close(): Promise<void>;
}

export function createAuthorities(deps: { settings: () => Settings; passwordFile: PasswordAuthority; directorySecret: DirectorySecret; log: Logger }): Authorities {
  let built: { key: string; authority: PasswordAuthority } | null = null;
  const keyOf = (s: Settings): string => JSON.stringify([s.auth, s.auth === 2 ? s.directory : null, s.auth === 2 ? deps.directorySecret.version : null] satisfies [AuthMethod, DirectorySettings | null, string | null]);

  return {
    current() {
      const settings = deps.settings();
      const key = keyOf(settings);
      if (built?.key === key) return built.authority;
      const maker = MAKERS[settings.auth];
      // A config file naming a method not built here: no log-in succeeds, none falls back to another method.
      const authority = maker === null ? refusing(settings.auth) : maker({ settings, passwordFile: deps.passwordFile, directorySecret: deps.directorySecret, log: deps.log });
      const old = built?.authority;
      built = { key, authority };
      // The old one's log-ins in flight finish on connections it closes now; they answer unavailable at worst.
      if (old !== undefined && old !== authority && old !== deps.passwordFile) void old.close();
      deps.log.info('log-in passwords checked by', { method: settings.auth, name: AUTH_METHODS[settings.auth] });
      return authority;
    },
    async close() {
      const authority = built?.authority;
      built = null;
      if (authority !== undefined && authority !== deps.passwordFile) await authority.close();
    },
  };
}
