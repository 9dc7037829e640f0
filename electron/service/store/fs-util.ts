/** Small file-system helpers the store's modules share. */

import { createHash, randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import os from 'node:os';

/** Random lower-case hex, for names that must not collide. */
export function randomHex(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

/** True when `err` is a Node system error with one of the codes. */
export function isCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes(String((err as NodeJS.ErrnoException).code));
}

/** True when the path exists as a directory (symbolic links are not followed). */
export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fsp.lstat(p)).isDirectory();
  } catch (err) {
    if (isCode(err, 'ENOENT', 'ENOTDIR')) return false;
    throw err;
  }
}

/** isDirectory, synchronously. */
export function isDirectorySync(p: string): boolean {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch (err) {
    if (isCode(err, 'ENOTDIR')) return false;
    throw err;
  }
}

/** Entries of a directory, or none when it does not exist. */
export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if (isCode(err, 'ENOENT', 'ENOTDIR')) return [];
    throw err;
  }
}

/** Removes a file; a file already gone is fine. Returns true when this call removed it. */
export async function unlinkIfExists(file: string): Promise<boolean> {
  try {
    await fsp.unlink(file);
    return true;
  } catch (err) {
    if (isCode(err, 'ENOENT')) return false;
    throw err;
  }
}

/** Runs `fn` over items with at most `limit` calls in flight. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Serializes async work per key (a mailbox address, a domain) within this process. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/**
 * True when a process with this id runs (or exists but is not ours to signal).
 *
 * A zombie (exited, not yet reaped by its parent) still answers kill(pid, 0),
 * yet will never finish what it was writing: on Linux its state in
 * /proc/<pid>/stat is read, and `Z` (or `X`, dead) counts as gone.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return !isCode(err, 'ESRCH');
  }
  return !isZombie(pid);
}

/** Linux only: the process has exited and waits to be reaped. False where /proc cannot tell. */
export function isZombie(pid: number): boolean {
  if (process.platform !== 'linux') return false;
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  // "pid (comm) S ...": the name may hold spaces and parentheses, so the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

/** This machine in the names of temp files and staging folders: 8 hex digits of its host name. */
const HOST_MARK = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);

/**
 * The writer part of a temp file's or staging folder's name:
 * `<pid>-<random hex>.<host mark>`. The host mark lets recovery on a store
 * shared by several machines judge the pid only where it means something.
 */
export function writerTag(): string {
  return `${process.pid}-${randomHex(6)}.${HOST_MARK}`;
}

/**
 * The writer pid in a `<prefix><pid>-…` name (writerTag), or null: also
 * null when the name says another machine wrote it, whose pids cannot be
 * checked here (such a leftover is judged by its age alone). Names without
 * a host mark are taken as this machine's.
 */
export function pidInName(name: string, prefix: string): number | null {
  if (!name.startsWith(prefix)) return null;
  const m = /^(\d+)-(?:[0-9a-f]+\.([0-9a-f]{8})(?=-|$))?/.exec(name.slice(prefix.length));
  if (!m) return null;
  if (m[2] !== undefined && m[2] !== HOST_MARK) return null;
  return Number(m[1]);
}

const SMALL_FILE_BUFFER = 16 * 1024;

/**
 * Reads a small file as UTF-8 with one open, one read and one close. Much
 * faster than fs.promises.readFile when 100,000 state files are read at
 * start; larger files fall back to readFile.
 */
export function readSmallFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    fs.open(file, 'r', (openErr, fd) => {
      if (openErr) return reject(openErr);
      const buf = Buffer.allocUnsafe(SMALL_FILE_BUFFER);
      fs.read(fd, buf, 0, buf.length, 0, (readErr, n) => {
        fs.close(fd, () => undefined);
        if (readErr) return reject(readErr);
        if (n < buf.length) return resolve(buf.toString('utf8', 0, n));
        fsp.readFile(file, 'utf8').then(resolve, reject);
      });
    });
  });
}

/** readSmallFile, synchronously: one open, one read, one close. */
export function readSmallFileSync(file: string): string {
  // Non-blocking: a FIFO put where a state file belongs must not stop the event loop at its open.
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  let n: number;
  const buf = Buffer.allocUnsafe(SMALL_FILE_BUFFER);
  try {
    n = fs.readSync(fd, buf, 0, buf.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  return n < buf.length ? buf.toString('utf8', 0, n) : fs.readFileSync(file, 'utf8');
}

/** Entries of a directory, or none when it does not exist; synchronous. */
export function readdirOrEmptySync(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    if (isCode(err, 'ENOENT', 'ENOTDIR')) return [];
    throw err;
  }
}

/** Removes a file synchronously; a file already gone is fine. Returns true when this call removed it. */
export function unlinkIfExistsSync(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (err) {
    if (isCode(err, 'ENOENT')) return false;
    throw err;
  }
}

/** A JSON object read from one of our own files; null when the text is not JSON or not an object (a damaged file is treated as absent by the caller). */
export function parseJsonObject(text: string): Record<string, unknown> | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
}
