/**
 * A cache of recently verified passwords, so a user who logs in every minute
 * does not pay a full scrypt each time (Dovecot's auth cache plays this role).
 *
 * Entries are keyed by the stored hash itself: changing a password writes a
 * new hash with a new salt, so the old entry can never match again, at once.
 * Only successes are kept, as an HMAC under a key that lives in this process
 * alone, never the password. Locks are not cached: they are read from disk at
 * every log-in whatever this cache says.
 */

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface VerifiedCache {
  /** True when this password was verified against this stored hash recently; false means "verify it". */
  has(storedHash: string, password: string): boolean;
  remember(storedHash: string, password: string): void;
}

export function createVerifiedCache(options: { maxEntries?: number; ttlMs?: number; now?: () => number } = {}): VerifiedCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const ttlMs = options.ttlMs ?? 60 * 60 * 1000;
  const now = options.now ?? Date.now;
  const key = randomBytes(32);
  // A Map iterates in insertion order, so the first key is the oldest entry.
  const entries = new Map<string, { mac: Buffer; expires: number }>();
  const mac = (password: string): Buffer => createHmac('sha256', key).update(password.normalize('NFC')).digest();

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
      entries.delete(storedHash);
      entries.set(storedHash, { mac: mac(password), expires: now() + ttlMs });
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
    },
  };
}
