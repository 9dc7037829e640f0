/**
 * What the store's two kinds of lock file (a maildrop's, and an admin
 * change's under `.winpop/locks`) have in common: reading one, and judging
 * whether the process on this machine that it names is gone. A maildrop
 * lock's line is also the text of the holder file it links to
 * (maildrop-holder.ts).
 */

import fs from 'node:fs';
import { isCode, isProcessAlive } from './fs-util.js';
import { bootId } from './listing-snapshot.js';

/** A lock file as found: its status (for its age) and its text. */
export interface LockFileSeen {
  readonly st: fs.Stats;
  readonly text: string;
}

/**
 * Creates `file` exclusively (O_EXCL) holding `text`, its time set to
 * `atMs` (a lease starts there); false when it exists already. A step that
 * fails leaves no file behind.
 */
export function createExclusive(file: string, text: string, atMs: number): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    throw err;
  }
  try {
    fs.writeSync(fd, text);
    const at = new Date(atMs);
    fs.futimesSync(fd, at, at);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  return true;
}

/** The lock file there now, or null when there is none; other errors are thrown as they are. */
export function readLockFile(file: string): LockFileSeen | null {
  try {
    const st = fs.statSync(file);
    return { st, text: fs.readFileSync(file, 'utf8') };
  } catch (err) {
    if (isCode(err, 'ENOENT')) return null;
    throw err;
  }
}

/**
 * True when the holder a lock file names on this machine is gone: the
 * machine has booted since, or the process is dead. A file naming this
 * process counts as held only while it is in `heldHere` (one that is not was
 * left by a release that failed).
 */
export function localHolderGone(file: string, pid: number, boot: string, heldHere: ReadonlySet<string>): boolean {
  return boot !== bootId() || (pid === process.pid ? !heldHere.has(file) : !isProcessAlive(pid));
}

/** What a maildrop lock's line names: `<pid> <boot id> <host> <nonce> <lease ms>`. */
export interface MaildropHolderLine {
  readonly pid: number;
  readonly boot: string;
  readonly host: string;
  readonly leaseMs: number;
}

/** A maildrop lock's (or a holder file's) line read back; null when it is not one (not written yet, or damaged). */
export function parseMaildropHolderLine(text: string): MaildropHolderLine | null {
  const m = /^(\d+) (\S+) (\S+) [0-9a-f]+ (\d+)\n$/.exec(text);
  return m ? { pid: Number(m[1]), boot: m[2] as string, host: m[3] as string, leaseMs: Number(m[4]) } : null;
}
