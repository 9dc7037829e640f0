/**
 * The mail both servers serve: one store made through our store's own API
 * (so our files are exactly what our service writes), then handed to the
 * `nobody` user so that Dovecot, pointed at the same folders, serves the
 * very same Maildir files.
 *
 * Also the password side: our store hashes with scrypt; Dovecot 2.3 has no
 * scrypt, so its users get Argon2id (also memory-hard) with the same memory
 * (32 MiB) and a time cost calibrated on this machine to take as long to
 * verify as our scrypt does.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { openMailStore, type MailStore } from '../../electron/service/store/index.js';
import { hashPassword, verifyPassword } from '../../electron/service/store/passwords.js';
import { median, REPO_ROOT } from './util.js';

export const NOBODY_UID = 65534;
export const NOBODY_GID = 65534;

export interface BenchUser {
  readonly address: string;
  readonly password: string;
}

/** A message of exactly `wireSize` octets with CRLF line ends; every 40th line starts with a dot (dot-stuffing is exercised). */
export function makeMessage(n: number, wireSize: number): Buffer {
  const head =
    `From: Sender ${n} <sender${n}@bench.test>\r\n` +
    `To: reader@bench.test\r\n` +
    `Subject: benchmark message ${n}\r\n` +
    `Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n` +
    `Message-ID: <${n}.${wireSize}@bench.test>\r\n` +
    `\r\n`;
  const parts: string[] = [head];
  let size = head.length;
  let line = 0;
  const text = 'The quick brown fox jumps over the lazy dog while the mail server counts octets. ';
  while (size < wireSize) {
    const left = wireSize - size;
    let body = (line % 40 === 39 ? '.' : '') + `${line} ${text}`.slice(0, 70);
    if (left <= body.length + 2) body = 'x'.repeat(Math.max(0, left - 2));
    parts.push(`${body}\r\n`);
    size += body.length + 2;
    line++;
  }
  return Buffer.from(parts.join(''), 'latin1');
}

/** Sizes spread evenly from `min` to `max` octets. */
export function spreadSizes(count: number, min: number, max: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.round(min + ((max - min) * i) / Math.max(1, count - 1)));
}

/** Runs `fn` over 0..count-1 with at most `limit` at once. */
export async function forEachLimit(count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/** Opens (creates) a store at `root` for setting up, without fsync (setup speed is not measured). */
export function openSetupStore(root: string): Promise<MailStore> {
  return openMailStore(root, { fsync: false });
}

/** Adds `count` mailboxes `<prefix><i>@<domain>` through the store, each with the given messages. */
export async function addUsers(
  store: MailStore,
  domain: string,
  prefix: string,
  count: number,
  messages: readonly Buffer[] = [],
): Promise<BenchUser[]> {
  try {
    await store.addDomain(domain);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ALREADY_EXISTS') throw err;
  }
  const users: BenchUser[] = Array.from({ length: count }, (_, i) => ({
    address: `${prefix}${i}@${domain}`,
    password: `pw-${prefix}${i}-bench`,
  }));
  // scrypt runs in libuv's pool: a few at once use both cores.
  await forEachLimit(count, 4, async (i) => {
    const user = users[i] as BenchUser;
    await store.addMailbox(user.address, user.password);
    for (const message of messages) await store.deliver(user.address, Readable.from([message]));
  });
  return users;
}

/**
 * Lets Dovecot's `nobody` reach and change the store: the folders above it
 * become traversable, the store itself owned by nobody. Our service runs as
 * root here, so it reads and writes the same files regardless.
 */
export async function handToNobody(root: string): Promise<void> {
  let dir = path.dirname(root);
  while (dir !== path.dirname(dir)) {
    const mode = (await fsp.stat(dir)).mode & 0o777;
    if ((mode & 0o001) === 0) await fsp.chmod(dir, mode | 0o001);
    dir = path.dirname(dir);
  }
  execFileSync('chown', ['-R', `${NOBODY_UID}:${NOBODY_GID}`, root]);
  // The service's own state (control socket, audit log) stays with the user that runs the service.
  execFileSync('chown', ['-R', '0:0', path.join(root, '.winpop')]);
}

export interface SchemeCalibration {
  /** Our stored hash's parameters, e.g. `scrypt ln=15,r=8,p=1`. */
  readonly ours: string;
  readonly oursVerifyMs: number;
  readonly dovecot: string;
  readonly dovecotVerifyMs: number;
  readonly argonMemKiB: number;
  readonly argonT: number;
}

/** scrypt N=2^15, r=8 takes 128·N·r bytes = 32 MiB; Argon2id gets the same memory. */
const ARGON_MEM_KIB = 32 * 1024;
const ARGON_HELPER = path.join(REPO_ROOT, 'bench', 'lib', 'argon2id.py');

/**
 * Measures the CPU time of one verification of our scrypt hash (the store's
 * own verifyPassword, one at a time) and of Argon2id at t = 1…8 (libsodium,
 * as Dovecot calls it), and picks the t closest in CPU time.
 */
export async function calibrateSchemes(): Promise<SchemeCalibration> {
  const stored = await hashPassword('calibrate');
  const params = /^\$scrypt\$([^$]+)\$/.exec(stored)?.[1] ?? 'unknown';
  // CPU time, not wall time: other work on a shared machine must not decide the cost.
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const start = process.cpuUsage();
    if (!(await verifyPassword('calibrate', stored))) throw new Error('scrypt calibration: verify failed');
    const used = process.cpuUsage(start);
    times.push((used.user + used.system) / 1000);
  }
  const oursMs = median(times);
  const run = spawnSync('python3', [ARGON_HELPER, 'calibrate', String(ARGON_MEM_KIB), '8', '5'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`Argon2id calibration failed: ${run.stderr || run.error?.message}`);
  const argon = JSON.parse(run.stdout) as Record<string, number>;
  let best = 1;
  for (const [t, ms] of Object.entries(argon)) {
    if (Math.abs(ms - oursMs) < Math.abs((argon[best] ?? Infinity) - oursMs)) best = Number(t);
  }
  return {
    ours: `scrypt ${params} (32 MiB)`,
    oursVerifyMs: oursMs,
    dovecot: `ARGON2ID m=${ARGON_MEM_KIB},t=${best},p=1 (32 MiB)`,
    dovecotVerifyMs: argon[best] ?? Number.NaN,
    argonMemKiB: ARGON_MEM_KIB,
    argonT: best,
  };
}

/** Argon2id hashes (libsodium's `$argon2id$…` strings) for the passwords, in order. */
export function argon2idHashes(passwords: readonly string[], memKiB: number, t: number): string[] {
  const run = spawnSync('python3', [ARGON_HELPER, 'hash', String(memKiB), String(t)], {
    input: passwords.map((p) => `${p}\n`).join(''),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`Argon2id hashing failed: ${run.stderr || run.error?.message}`);
  const hashes = run.stdout.trim().split('\n');
  if (hashes.length !== passwords.length) throw new Error('Argon2id hashing: wrong number of hashes');
  return hashes;
}
