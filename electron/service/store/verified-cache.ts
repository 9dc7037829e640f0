/**
 * A cache of recently verified passwords, so a user who logs in every minute
 * does not pay a full scrypt each time (Dovecot's auth cache plays this role).
 *
 * Entries are keyed by the stored hash itself: changing a password writes a
 * new hash with a new salt, so the old entry can never match again, at once.
 * Only successes are kept, as an HMAC under a key that lives in this process
 * alone, never the password. Locks are not cached: they are read from disk at
 * every log-in whatever this cache says.
 *
 * A service on worker processes shares one cache of the password file's
 * (`shared`): the primary gives every worker the same key, and an entry one
 * worker verified with scrypt reaches the others through it. Otherwise a user
 * would pay a full scrypt once on each worker the cluster happens to hand
 * their connections to (about 90 ms of CPU each), as Dovecot's one auth
 * process does not make them pay.
 */

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface VerifiedCache {
  /** True when this password was verified against this stored hash recently; false means "verify it". */
  has(storedHash: string, password: string): boolean;
  remember(storedHash: string, password: string): void;
}

/** An entry as it travels between the processes of one service: the stored hash, the HMAC (base64), the expiry (ms since the epoch). */
export interface VerifiedEntry {
  readonly hash: string;
  readonly mac: string;
  readonly expires: number;
}

/** This process's part in a shared cache: the service's key once given, where its own entries go, and the shared cache here. */
const sharing: { key: Buffer | null; publish: ((entry: VerifiedEntry) => void) | null; adopt: ((entry: VerifiedEntry) => void) | null } = {
  key: null,
  publish: null,
  adopt: null,
};

/** Makes this process's shared cache use the service's key, and pass on what it verifies. */
export function joinVerifiedSharing(key: Buffer, publish: (entry: VerifiedEntry) => void): void {
  sharing.key = key;
  sharing.publish = publish;
}

/** An entry another process of the service verified: taken into this process's shared cache. */
export function adoptVerified(entry: VerifiedEntry): void {
  sharing.adopt?.(entry);
}

export function createVerifiedCache(options: { maxEntries?: number; ttlMs?: number; now?: () => number; shared?: boolean } = {}): VerifiedCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const ttlMs = options.ttlMs ?? 60 * 60 * 1000;
  const now = options.now ?? Date.now;
  const ownKey = randomBytes(32);
  const shared = options.shared === true;
  // An entry made before the service's key arrived no longer matches after: a miss, verified again.
  const key = (): Buffer => (shared ? (sharing.key ?? ownKey) : ownKey);
  // A Map iterates in insertion order, so the first key is the oldest entry.
  const entries = new Map<string, { mac: Buffer; expires: number }>();
  const mac = (password: string): Buffer => createHmac('sha256', key()).update(password.normalize('NFC')).digest();
  const put = (storedHash: string, value: { mac: Buffer; expires: number }): void => {
    entries.delete(storedHash);
    entries.set(storedHash, value);
    if (entries.size > maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
  };
  if (shared) {
    sharing.adopt = (entry) => {
      const value = { mac: Buffer.from(entry.mac, 'base64'), expires: Math.min(entry.expires, now() + ttlMs) };
      if (value.mac.length === 32 && value.expires > now()) put(entry.hash, value);
    };
  }

  return {
    has(storedHash, password) {
      const entry = entries.get(storedHash);
      if (!entry) return false;
      if (entry.expires <= now()) {
        entries.delete(storedHash);
        return false;
      }
      return timingSafeEqual(entry.mac, mac(password));
    },
    remember(storedHash, password) {
      const value = { mac: mac(password), expires: now() + ttlMs };
      put(storedHash, value);
      if (shared) sharing.publish?.({ hash: storedHash, mac: value.mac.toString('base64'), expires: value.expires });
    },
  };
}
