/**
 * The Directory method (auth 2): a log-in's password is checked by an LDAP
 * directory (OpenLDAP, Active Directory). The entry is searched with the
 * filter (as the service account, or anonymously), then bound as with the
 * given password; exactly one entry must match.
 *
 * Every answer comes within `timeoutSeconds`: a directory that is down or
 * slow is `unavailable` ([SYS/TEMP] to the client), never another method's
 * answer. Verified passwords are remembered for `cacheTtlSeconds`, so a
 * password changed or an account removed in the directory takes effect no
 * later than that.
 */

import { readFileSync } from 'node:fs';
import { InvalidCredentialsError } from 'ldapts';
import { DIRECTORY_AUTH, type DirectorySettings } from '../../../shared/contract.js';
import type { Address } from '../../../shared/names.js';
import { createVerifiedCache } from '../store/verified-cache.js';
import { loginFilter } from './ldap-filter.js';
import { DirectoryUnreachableError, LdapPool, type PooledConnection } from './ldap-pool.js';
import type { AuthorityVerdict, PasswordAuthority } from './password-authority.js';

/** Connections one service keeps to its directory at most. */
export const DIRECTORY_POOL_SIZE = 4;

export interface DirectoryAuthorityOptions {
  readonly settings: DirectorySettings;
  /** The service account's password (`settings.bindDn`); null when none is saved. */
  readonly bindPassword: string | null;
}

/** The CA file's PEM; throws a sentence that names the file. */
export function readCaFile(file: string | null): string | undefined {
  if (file === null) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`The directory's CA file ${file} cannot be read (${(err as Error).message}); fix directory.caFile.`);
  }
}

/** Why the settings cannot work at all (nothing to connect to), or null. */
export function directorySettingsProblem(settings: DirectorySettings, bindPassword: string | null): string | null {
  if (settings.urls.length === 0) return 'no directory URL is set (winpop set ldapurls ldaps://HOST).';
  if (settings.baseDn === '') return 'no base DN is set (winpop set ldapbase dc=example,dc=com).';
  if (settings.bindDn !== null && bindPassword === null) return `the service account ${settings.bindDn} has no password saved (winpop set ldapbindpassword).`;
  return null;
}

class Unavailable extends Error {}

export function createDirectoryAuthority(options: DirectoryAuthorityOptions): PasswordAuthority {
  const { settings, bindPassword } = options;
  const timeoutMs = settings.timeoutSeconds * 1000;
  const cache = settings.cacheTtlSeconds > 0 ? createVerifiedCache({ ttlMs: settings.cacheTtlSeconds * 1000 }) : null;
  let setupProblem = directorySettingsProblem(settings, bindPassword);
  let ca: string | undefined;
  try {
    ca = readCaFile(settings.caFile);
  } catch (err) {
    setupProblem ??= (err as Error).message;
  }
  const pool = new LdapPool(settings.urls, { ca, timeoutMs, size: DIRECTORY_POOL_SIZE });

  /** Binds the connection as the service account, or back to anonymous after a log-in's bind when there is none. */
  async function asService(conn: PooledConnection): Promise<void> {
    const wanted = settings.bindDn === null ? 'anonymous' : 'service';
    if (conn.identity === wanted) return;
    try {
      await conn.client.bind(settings.bindDn ?? '', settings.bindDn === null ? '' : (bindPassword ?? ''));
    } catch (err) {
      if (err instanceof InvalidCredentialsError) throw new Unavailable(`the service account ${settings.bindDn ?? '(anonymous)'} was refused by ${conn.url}: check directory.bindDn and its password.`);
      throw err;
    }
    conn.identity = wanted;
  }

  /** One log-in on one connection: search, then bind as the entry. */
  async function check(conn: PooledConnection, a: Address, password: string): Promise<AuthorityVerdict> {
    await asService(conn);
    const { searchEntries } = await conn.client.search(settings.baseDn, { scope: 'sub', filter: loginFilter(settings.filter, a), attributes: ['1.1'], sizeLimit: 2 });
    const found = searchEntries.length === 1 ? (searchEntries[0] as { dn: string }).dn : null;
    // An unknown user costs a refused bind too, so that its answer takes as long as a wrong password's.
    const dn = found ?? `cn=winpop-no-such-entry,${settings.baseDn}`;
    conn.identity = 'user';
    try {
      await conn.client.bind(dn, password);
    } catch (err) {
      if (!(err instanceof InvalidCredentialsError)) throw err;
      if (found !== null) return { verdict: 'bad', detail: `the directory refused the password of ${dn}` };
    }
    if (searchEntries.length === 0) return { verdict: 'bad', detail: 'no directory entry matches' };
    if (found === null) return { verdict: 'bad', detail: 'several directory entries match; the filter must find exactly one' };
    return { verdict: 'ok' };
  }

  /** The log-in on a pooled connection; once more on a fresh one when a reused connection had been closed by the server. */
  async function attempt(a: Address, password: string, held: Set<PooledConnection>): Promise<AuthorityVerdict> {
    for (let round = 0; ; round += 1) {
      const conn = await pool.acquire();
      if (conn === null) throw new Unavailable('the service is stopping.');
      held.add(conn);
      try {
        const verdict = await check(conn, a, password);
        held.delete(conn);
        pool.release(conn, true);
        return verdict;
      } catch (err) {
        held.delete(conn);
        pool.release(conn, false);
        if (err instanceof Unavailable || round > 0) throw err;
      }
    }
  }

  return {
    method: DIRECTORY_AUTH,
    async verify(a, password) {
      if (setupProblem !== null) return { verdict: 'unavailable', detail: setupProblem };
      // An empty password would be an unauthenticated bind, which a directory grants to anyone (RFC 4513 5.1.2).
      if (password === '') return { verdict: 'bad', detail: 'empty password' };
      if (cache?.has(a.address, password)) return { verdict: 'ok' };
      const held = new Set<PooledConnection>();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<AuthorityVerdict>((resolve) => {
        timer = setTimeout(() => {
          // A directory that stopped answering: its connections are ended, not left waiting.
          for (const conn of held) conn.kill();
          resolve({ verdict: 'unavailable', detail: `the directory did not answer within ${settings.timeoutSeconds} s.` });
        }, timeoutMs);
      });
      const answer = attempt(a, password, held).catch((err: unknown): AuthorityVerdict => {
        if (err instanceof DirectoryUnreachableError || err instanceof Unavailable) return { verdict: 'unavailable', detail: err.message };
        return { verdict: 'unavailable', detail: `the directory failed: ${(err as Error).message}` };
      });
      try {
        const verdict = await Promise.race([answer, late]);
        if (verdict.verdict === 'ok') cache?.remember(a.address, password);
        return verdict;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      pool.close();
    },
  };
}
