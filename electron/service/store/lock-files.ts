/**
 * Lock files: one change of a target's state file at a time across
 * processes, as the store's per-key mutex does within one.
 *
 * Two `winpop` commands on a store with no service running each read a
 * state file, decide and write it; without this, both could read "unlocked"
 * and both report a change, or a password change could write back the lock
 * it read before another process's lock. Each such step holds
 * `<root>/.winpop/locks/<domain>/<mailbox>.lock` (a domain's own:
 * `<domain>/.domain.lock`), created exclusively (O_EXCL) and removed at the
 * end. The folder sits outside the domain folders, so taking
 * a lock changes no domain folder's mtime (which listings watch).
 *
 * The file names its holder: `<pid> <boot id> <host> <nonce>`. A lock file
 * is stale, and is removed by the next process that wants it, when its
 * holder is on this machine and either the machine has restarted since (a
 * different boot id) or that process no longer runs (or, for this very
 * process, does not hold it: a removal that failed); when its holder is on
 * another machine (a mail root on a shared disk) or its content cannot be
 * read, once it is older than a minute, since a holder keeps it for
 * milliseconds. Removing a stale lock is itself serialized by a second
 * exclusive file, `<name>.lock.break`, and removes the lock only if it is
 * still the very file found stale (same inode and content), so two
 * processes that find the same stale lock do not remove the fresh one that
 * the first of them then makes.
 *
 * A live holder is waited for (a process that is stopped or hung keeps its
 * lock); after WAIT_MS the change fails with a STORE_ERROR naming the file
 * and its holder.
 *
 * The creation, the holder's line and the removal are synchronous calls
 * (tens of microseconds): no other step of this process runs between them,
 * and the thread pool is not involved.
 */

import fs from 'node:fs';
import path from 'node:path';
import { AdminError } from '../../../shared/errors.js';
import { isCode, randomHex, readdirOrEmptySync } from './fs-util.js';
import { bootId } from './listing-snapshot.js';
import { locksDir } from './layout.js';
import { localHolderGone, readLockFile, type LockFileSeen } from './lock-holder.js';
import { ownHostTag } from './message-names.js';

const LOCK_SUFFIX = '.lock';
const BREAK_SUFFIX = '.break';
/** How long a change waits for a live holder before it gives up. */
const WAIT_MS = 10_000;
/** The longest pause between two looks at a held lock. */
const MAX_POLL_MS = 10;
/** A lock whose holder cannot be asked (another machine, unreadable content) is stale after this. */
const STALE_UNKNOWN_MS = 60_000;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A domain's own lock file in its folder of lock files; no mailbox name begins with a dot. */
const DOMAIN_LOCK = '.domain';

/**
 * Where a domain's or a mailbox's lock file lives under `locks/`: one folder
 * per domain, so that no file name grows past the file system's limit (a
 * domain name alone may have 253 characters).
 */
export function lockName(target: { readonly domain: string } | { readonly domain: string; readonly mailbox: string }): string {
  return path.join(target.domain, 'mailbox' in target ? target.mailbox : DOMAIN_LOCK);
}

/** A lock file as found: its content, and whether its holder is gone. */
interface Found {
  readonly ino: number;
  readonly text: string;
  readonly stale: boolean;
  readonly holder: string;
}

/** A lock file this process made and holds. */
interface Held {
  readonly file: string;
  readonly text: string;
}

/**
 * The lock files this process holds now. One that names this process but is
 * not here was left by a removal that failed: it is stale like a dead
 * process's, rather than blocking this process's own later changes.
 */
const heldHere = new Set<string>();

/**
 * Turns a failure to make a lock file into the failure of the change it
 * was for: on a read-only or full disk the state file could not be written
 * either, so the error names the state file (the store's guard fills it in).
 */
function asChangeError(err: unknown): unknown {
  if (typeof err !== 'object' || err === null || !('code' in err) || err instanceof AdminError) return err;
  const e: NodeJS.ErrnoException = new Error(String((err as { message?: unknown }).message));
  e.code = (err as NodeJS.ErrnoException).code as string;
  return e;
}

/** The lock files of one mail root. */
export class LockFiles {
  private readonly dir: string;
  private readonly host = ownHostTag();

  constructor(root: string) {
    this.dir = locksDir(root);
  }

  /** Runs `fn` while holding the lock files of `names`, taken in the order given and let go in reverse. */
  async hold<T>(names: readonly string[], fn: () => Promise<T>): Promise<T> {
    const held: Held[] = [];
    try {
      for (const name of names) held.push(await this.acquire(path.join(this.dir, `${name}${LOCK_SUFFIX}`)));
      return await fn();
    } finally {
      for (const lock of held.reverse()) release(lock);
    }
  }

  /** Removes the stale lock files a crash left behind, and folders of lock files left empty; for a store's start. */
  sweep(): void {
    for (const domain of readdirOrEmptySync(this.dir)) {
      const folder = path.join(this.dir, domain);
      for (const name of readdirOrEmptySync(folder)) {
        if (!name.endsWith(LOCK_SUFFIX)) continue;
        const file = path.join(folder, name);
        const found = this.look(file);
        if (found?.stale) this.breakStale(file, found);
      }
      try {
        fs.rmdirSync(folder);
      } catch {
        // In use (not empty), or not a folder: left as it is.
      }
    }
  }

  private async acquire(file: string): Promise<Held> {
    const deadline = Date.now() + WAIT_MS;
    let wait = 1;
    for (;;) {
      const held = this.create(file);
      if (held !== null) return held;
      const found = this.look(file);
      if (found === null) continue; // let go meanwhile
      // Removed: take it now. Not removed (another process is removing it, or it was taken since): wait like for a holder.
      if (found.stale && this.breakStale(file, found)) continue;
      if (Date.now() > deadline) {
        throw new AdminError(
          'STORE_ERROR',
          `Another process is changing the same state and has not finished within ${WAIT_MS / 1000} s: ${file} is held by ${found.holder}. Try again; if that process is not a running winpop or pop3svc, remove the file.`,
        );
      }
      // Holders keep a lock for a write or two: look again soon, at a jittered pace so waiters do not move in step.
      await pause(wait * (0.5 + Math.random()));
      wait = Math.min(wait * 2, MAX_POLL_MS);
    }
  }

  /** Creates the lock file with this process as its holder; null when it exists. */
  private create(file: string, tries = 3): Held | null {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx', 0o600);
    } catch (err) {
      if (isCode(err, 'EEXIST')) return null;
      // A missing folder is made (a start's sweep may remove an empty one at any moment).
      if (!isCode(err, 'ENOENT') || tries <= 1) throw asChangeError(err);
      this.makeDirs(path.dirname(file));
      return this.create(file, tries - 1);
    }
    const text = `${process.pid} ${bootId()} ${this.host} ${randomHex(8)}\n`;
    try {
      fs.writeSync(fd, text);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      throw asChangeError(err);
    }
    fs.closeSync(fd);
    heldHere.add(file);
    return { file, text };
  }

  /** Makes `.winpop`, `locks` and a domain's folder in it, one level at a time: a missing mail root is never made again here. */
  private makeDirs(folder: string): void {
    for (const dir of [path.dirname(this.dir), this.dir, folder]) {
      try {
        fs.mkdirSync(dir, { mode: 0o700 });
      } catch (err) {
        if (!isCode(err, 'EEXIST')) throw asChangeError(err);
      }
    }
  }

  /** The lock file there now, or null when there is none. */
  private look(file: string): Found | null {
    let seen: LockFileSeen | null;
    try {
      seen = readLockFile(file);
    } catch (err) {
      throw asChangeError(err);
    }
    if (seen === null) return null;
    const { st, text } = seen;
    const m = /^(\d+) (\S+) (\S+) [0-9a-f]+\n$/.exec(text);
    const old = Date.now() - st.mtimeMs > STALE_UNKNOWN_MS;
    if (!m) return { ino: st.ino, text, stale: old, holder: 'a process that has not written its name (yet)' };
    const pid = Number(m[1]);
    const [boot, host] = [m[2] as string, m[3] as string];
    if (host !== this.host) return { ino: st.ino, text, stale: old, holder: `process ${pid} on ${host}` };
    return { ino: st.ino, text, stale: localHolderGone(file, pid, boot, heldHere), holder: `process ${pid} on this machine` };
  }

  /** Removes a stale lock file if it is still the one found, one breaker at a time; true when this call removed it. */
  private breakStale(file: string, found: Found): boolean {
    const breaker = this.create(`${file}${BREAK_SUFFIX}`);
    if (breaker === null) {
      // Another process is removing it; a breaker that died doing so is stale itself.
      const other = this.look(`${file}${BREAK_SUFFIX}`);
      if (other?.stale) this.removeIfSame(`${file}${BREAK_SUFFIX}`, other);
      return false;
    }
    try {
      return this.removeIfSame(file, found);
    } finally {
      release(breaker);
    }
  }

  /** Removes a stale file if it is still the one found (same inode and content), not one made since. */
  private removeIfSame(file: string, found: Found): boolean {
    const now = this.look(file);
    if (!now?.stale || now.ino !== found.ino || now.text !== found.text) return false;
    fs.rmSync(file, { force: true });
    return true;
  }
}

/**
 * Removes a lock file this process made, if it is still that file: a lock
 * taken from it as stale may belong to another process by now. A failure is
 * left for the next taker, which finds the file stale.
 */
function release(lock: Held): void {
  heldHere.delete(lock.file);
  try {
    if (fs.readFileSync(lock.file, 'utf8') === lock.text) fs.unlinkSync(lock.file);
  } catch {
    // Gone already, or cannot be removed now: either way no longer ours.
  }
}
