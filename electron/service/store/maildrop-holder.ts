/**
 * This process's holder file under a mail root: the one inode that the
 * maildrop locks it takes there are hard links to (maildrop-lock.ts).
 *
 * `<root>/.winpop/holders/<host tag>.<pid>.<nonce>` is made at the first
 * lock this process takes under the root, exclusively (O_EXCL), mode 0600,
 * and holds the very line a lock file holds, so that whoever reads a lock
 * (another taker, recovery, on any machine) finds what it always found. A
 * link takes a lock in one call that allocates no inode and writes no
 * data: on ext4, after the CPU was idle a few milliseconds (as between
 * POP3 sessions), creating, writing, stamping and closing a new file costs
 * about three times the CPU of a link (bench/maildrop-lock-take.ts).
 *
 * Its mtime is the lease of every lock linked to it: set before a link when
 * this process last set it more than FRESHEN_MS ago, so that a lock starts
 * with nearly a whole lease, and moved on by each lock's renewal.
 *
 * The file goes when the store closes (dropHolder) and, once its process is
 * gone, at the next recovery of the store by anyone (sweepHolders): on this
 * machine when that process no longer runs or the machine has restarted;
 * another machine's when it has not been touched for HOLDER_IDLE_MS (a live
 * one may only have had no sessions: losing it costs that process a new
 * one). A holder removed under a running process is made again at its next
 * lock; the locks already linked keep their line and their lease.
 */

import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isCode, randomHex, readdirOrEmpty } from './fs-util.js';
import { holdersDir } from './layout.js';
import { createExclusive, localHolderGone, parseMaildropHolderLine } from './lock-holder.js';
import { ownHostTag } from './message-names.js';

/** A holder whose mtime this process set more recently than this is linked as it is. */
export const FRESHEN_MS = 2_000;
/** After a holder could not be made, locks are files of their own for this long before it is tried again. */
const RETRY_MS = 60_000;
/** Another machine's holder untouched this long is removed by recovery. */
export const HOLDER_IDLE_MS = 24 * 3600 * 1000;
/** A holder without a readable line (being written, or damaged) is removed by recovery once this old. */
const UNREAD_MAX_MS = 3600 * 1000;

/** This process's holder under one mail root. */
export interface Holder {
  readonly file: string;
  /** Its line: the text of every lock linked to it. */
  readonly text: string;
  /** When this process last set its mtime, by this clock. */
  touchedAt: number;
  /** The same moment by the monotonic clock, for FRESHEN_MS: a clock set back must not stop the freshening. */
  touchedMono: number;
}

/** This process's holder per mail root, or until when (monotonic clock) making one is not tried again. */
const holders = new Map<string, Holder | number>();
/** The files of `holders`, for recovery's "held here" (lock-holder.ts). */
const ownFiles = new Set<string>();

/**
 * This process's holder under `root`, its mtime set when due, made (its
 * line from `line()`) when there is none or it was removed; null when it
 * cannot be made now: each lock is then a file of its own.
 */
export function ownHolder(root: string, line: () => string): Holder | null {
  const known = holders.get(root);
  if (typeof known === 'number') {
    if (performance.now() < known) return null;
  } else if (known !== undefined) {
    if (freshened(known)) return known;
    forget(root, known);
  }
  return make(root, line());
}

/** Forgets a holder that a link found gone, so that the next ownHolder makes another; false when it is still there. */
export function holderLost(root: string, holder: Holder): boolean {
  if (fs.existsSync(holder.file)) return false;
  forget(root, holder);
  return true;
}

/** Removes this process's holder under `root`: the store is closing. */
export function dropHolder(root: string): void {
  const known = holders.get(root);
  holders.delete(root);
  if (known !== undefined && typeof known !== 'number') forget(root, known);
}

/**
 * For recovery: removes the holder files under `root` whose process is gone
 * (see the top of this file); returns how many.
 */
export async function sweepHolders(root: string, now = Date.now()): Promise<number> {
  const dir = holdersDir(root);
  let removed = 0;
  for (const name of await readdirOrEmpty(dir)) {
    const file = path.join(dir, name);
    try {
      const [st, text] = await Promise.all([fsp.stat(file), fsp.readFile(file, 'utf8')]);
      if (!holderGone(file, st.mtimeMs, text, now)) continue;
      await fsp.unlink(file);
      removed += 1;
    } catch (err) {
      // Removed meanwhile (its process closing its store), or a folder nobody made: nothing to sweep.
      if (!isCode(err, 'ENOENT', 'EISDIR')) throw err;
    }
  }
  return removed;
}

function holderGone(file: string, mtimeMs: number, text: string, now: number): boolean {
  const line = parseMaildropHolderLine(text);
  if (line === null) return now - mtimeMs > UNREAD_MAX_MS;
  if (line.host !== ownHostTag()) return now - mtimeMs > HOLDER_IDLE_MS;
  return localHolderGone(file, line.pid, line.boot, ownFiles);
}

/** Sets the holder's mtime when due; false when it cannot be (removed by someone). */
function freshened(holder: Holder): boolean {
  const mono = performance.now();
  if (mono - holder.touchedMono < FRESHEN_MS) return true;
  const now = Date.now();
  try {
    const at = new Date(now);
    fs.utimesSync(holder.file, at, at);
  } catch {
    return false;
  }
  holder.touchedAt = now;
  holder.touchedMono = mono;
  return true;
}

function make(root: string, text: string): Holder | null {
  const dir = holdersDir(root);
  const file = path.join(dir, `${ownHostTag()}.${process.pid}.${randomHex(6)}`);
  const now = Date.now();
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // A name taken already (a random part drawn twice) is as good as any other failure here.
    if (!createExclusive(file, text, now)) return retryLater(root);
  } catch {
    // A read-only or full store, a folder this user may not write: locks are made as files (which report that).
    return retryLater(root);
  }
  const holder: Holder = { file, text, touchedAt: now, touchedMono: performance.now() };
  holders.set(root, holder);
  ownFiles.add(file);
  return holder;
}

/** No holder for `root` for a while: its locks are files of their own meanwhile. */
function retryLater(root: string): null {
  holders.set(root, performance.now() + RETRY_MS);
  return null;
}

/** Lets go of a holder: removed if it is still there, so that no file of this process is left behind. */
function forget(root: string, holder: Holder): void {
  if (holders.get(root) === holder) holders.delete(root);
  ownFiles.delete(holder.file);
  try {
    fs.rmSync(holder.file, { force: true });
  } catch {
    // Cannot be removed now: recovery removes it once this process has ended.
  }
}
