/**
 * Password hashing with scrypt, stored as a PHC-style string:
 * `$scrypt$ln=15,r=8,p=1$<salt base64>$<hash base64>`.
 *
 * The hash is one-way and salted; verification runs in constant time over
 * the derived keys. Parameters are read back from the string, so they can be
 * raised later without breaking stored passwords.
 *
 * Every key is derived in the password workers (password-pool.ts), never on
 * the threads that do the service's file I/O. Log-in checks are bounded
 * there and may be refused (LoginBusyError) or abandoned
 * (PasswordCheckAbandoned) before any hashing; a new password is always
 * hashed.
 */

import { availableParallelism } from 'node:os';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { defaultPoolOptions, PasswordPool, type PoolStats } from './password-pool.js';

export { LoginBusyError, PasswordCheckAbandoned } from './password-pool.js';

const LOG_N = 15;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds for parameters read from disk, so a tampered file cannot make a log-in eat the machine. */
const MAX_LOG_N = 20;
const MAX_R = 32;
const MAX_P = 16;

/** How a log-in's password check waits for the workers. */
export interface CheckOptions {
  /** Its place in the queue: lower goes first (see pop3/login-gate.ts). */
  readonly priority?: number;
  /** Aborting (the client left) takes a check that has not started out of the queue. */
  readonly signal?: AbortSignal | undefined;
}

const pool = new PasswordPool(defaultPoolOptions(availableParallelism()));

/** The workers' figures (for the log and the tests). */
export function passwordPoolStats(): PoolStats {
  return pool.stats();
}

/** Ends the idle password workers (at service stop); a later hash starts them again. */
export function stopPasswordWorkers(): Promise<void> {
  return pool.stop();
}

function derive(password: string, salt: Buffer, keyLength: number, logN: number, r: number, p: number, lane: 'login' | 'admin', options: CheckOptions = {}): Promise<Buffer> {
  const N = 2 ** logN;
  return pool.derive(
    { password: password.normalize('NFC'), salt, keyLength, N, r, p, maxmem: 256 * N * r * p + 16 * 1024 * 1024 },
    { lane, priority: options.priority, signal: options.signal },
  );
}

const b64 = (buf: Buffer): string => buf.toString('base64').replace(/=+$/, '');

/** Hashes a password with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, LOG_N, BLOCK_SIZE, PARALLELISM, 'admin');
  return `$scrypt$ln=${LOG_N},r=${BLOCK_SIZE},p=${PARALLELISM}$${b64(salt)}$${b64(key)}`;
}

interface ParsedHash {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{22,88})$/;

/** Parses a stored hash; null when it is not one this module wrote. */
export function parsePasswordHash(stored: string): ParsedHash | null {
  const m = PHC.exec(stored);
  if (!m) return null;
  const logN = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  if (logN < 1 || logN > MAX_LOG_N || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return null;
  const salt = Buffer.from(m[4] ?? '', 'base64');
  const key = Buffer.from(m[5] ?? '', 'base64');
  if (key.length < 16) return null;
  return { logN, r, p, salt, key };
}

/** True when the password matches the stored hash; false for a wrong password or an unreadable hash. */
export async function verifyPassword(password: string, stored: string, options?: CheckOptions): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (!parsed) {
    // Spend the usual cost anyway, so a broken record does not stand out by timing.
    await derive(password, DUMMY_SALT, KEY_BYTES, LOG_N, BLOCK_SIZE, PARALLELISM, 'login', options);
    return false;
  }
  const key = await derive(password, parsed.salt, parsed.key.length, parsed.logN, parsed.r, parsed.p, 'login', options);
  return timingSafeEqual(key, parsed.key);
}

const DUMMY_SALT = randomBytes(SALT_BYTES);
/** A hash no password matches in practice, used to spend the same cost for unknown mailboxes. */
export const DUMMY_PASSWORD_HASH = `$scrypt$ln=${LOG_N},r=${BLOCK_SIZE},p=${PARALLELISM}$${b64(DUMMY_SALT)}$${b64(randomBytes(KEY_BYTES))}`;

/** Verifies against the dummy hash: same work as a real check, always false. */
export async function spendLoginCost(password: string, options?: CheckOptions): Promise<false> {
  await verifyPassword(password, DUMMY_PASSWORD_HASH, options);
  return false;
}
