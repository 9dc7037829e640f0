/**
 * The POP3 maildrop lock across processes and machines: a lock file in the
 * Maildir, `<mailbox>/.winpop-pop3.lock`, held from log-in to the end of the
 * session (RFC 1939's exclusive-access lock).
 *
 * Inside one process the session registry (pop3/registry.ts) is the fast
 * path; this file is what keeps two processes apart: the workers of one
 * service, or several services on one mail root, on one machine or on
 * several sharing it over a network file system.
 *
 * The file names its holder: `<pid> <boot id> <host> <nonce> <lease ms>`.
 * It is made as a hard link to this process's holder file under the mail
 * root, which holds that line (maildrop-holder.ts): link() fails with
 * EEXIST while the name exists, as an exclusive create does, and costs a
 * fraction of making, writing and stamping a new file. Where links cannot
 * be made (a domain folder on another file system, a file system without
 * hard links, no holder file), the lock is created exclusively (O_EXCL)
 * with its own line, as a file of its own; a domain folder where a link
 * failed so is not tried again while the process runs.
 *
 * Its mtime is the lease's start, set by the holder's own clock (at
 * creation, before a link when the holder's was not set in the last
 * seconds, and at each renewal every lease/3), so a holder that dies stops
 * moving it. The locks of one process linked to one holder share that
 * mtime: a renewal of one renews them all, which says no more than that
 * the process lives. A lock file is stale:
 * - holder on this machine: at once when the machine has restarted since (a
 *   different boot id) or that process no longer runs (this very process:
 *   when it does not hold it, a release that failed);
 * - holder on another machine, or a file without a readable holder: when
 *   its lease has run out by more than CLOCK_SKEW_MS by this machine's
 *   clock. The machines' clocks must agree within that margin (NTP).
 * A stale file is removed by the next taker, one at a time (an exclusive
 * `<name>.break` file) and only if it is still the very file found stale
 * (same content, nonce included), so two takers that find the same stale
 * lock never remove the fresh one the first of them makes. Whether a lock
 * is still ours is told by its content, never by its inode number (sshfs
 * makes up its own, and two names of one remote file may differ); another
 * taker that broke it wrote its own line.
 *
 * Taking (the link, or the creation and its line) and the check are
 * synchronous calls (tens of microseconds on a local disk): no other step
 * of this process runs between them. Renewal is asynchronous, so that a slow network file system
 * does not stop the event loop.
 */

import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { isCode, randomHex } from './fs-util.js';
import { maildropLockFile } from './layout.js';
import { bootId } from './listing-snapshot.js';
import { holderLost, ownHolder } from './maildrop-holder.js';
import { createExclusive, localHolderGone, parseMaildropHolderLine, readLockFile } from './lock-holder.js';
import { ownHostTag } from './message-names.js';
import { MaildropInUseError } from './types.js';

/** How long a lock stays good without renewal. */
export const LEASE_MS = 30_000;
/** How far apart the clocks of two machines sharing a store may be. */
export const CLOCK_SKEW_MS = 30_000;
/** The holder renews well before the lease runs out, so a slow renewal or two do not lose it. */
const RENEW_MS = LEASE_MS / 3;
const BREAK_SUFFIX = '.break';

/** The lock files this process holds, so that its own stale one (a failed release) is told from a live one. */
const heldHere = new Set<string>();
/** Domain folders where a lock cannot be a link (another file system, or one without hard links). */
const noLinks = new Set<string>();
/** Why a link cannot be made there, whatever is tried again: the lock is created as a file instead. */
const LINK_REFUSED = ['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'];

interface Found {
  readonly text: string;
  readonly stale: boolean;
  readonly holder: string;
}

/** A maildrop lock this process holds. */
export class MaildropLock {
  private released = false;
  private renewing: Promise<'kept' | 'lost'> | null = null;

  private constructor(
    readonly file: string,
    private readonly text: string,
    /** When its mtime was last set, by this clock. */
    private renewedAt: number,
  ) {}

  /**
   * Takes the lock of the Maildir `folder` of the mail root `root`,
   * removing a stale one; throws MaildropInUseError while a live holder has
   * it. Null when the store cannot be written (read-only, full): nobody can
   * change the maildrop then, and reading it stays possible, as before
   * there was a lock file.
   */
  static take(folder: string, root: string): MaildropLock | null {
    const file = maildropLockFile(folder);
    for (let attempt = 0; ; attempt++) {
      let lock: MaildropLock | null;
      try {
        const linked = link(file, root);
        lock = linked === 'refused' ? create(file) : linked;
      } catch (err) {
        if (isCode(err, 'EROFS', 'ENOSPC', 'EDQUOT')) return null;
        throw err;
      }
      if (lock !== null) return lock;
      const found = look(file);
      if (found === null) continue; // let go meanwhile
      if (found.stale && attempt < 3 && breakStale(file, found)) continue;
      throw new MaildropInUseError(file, found.holder);
    }
  }

  /** True when the lease is due for renewal. */
  get renewDue(): boolean {
    return !this.released && Date.now() - this.renewedAt >= RENEW_MS;
  }

  /**
   * Moves the lease on, if the file is still ours. 'lost' when it is not
   * (removed as stale while this process was stopped, or the mailbox
   * deleted), or when no renewal has succeeded for a whole lease (another
   * machine may take it from then on).
   */
  renew(): Promise<'kept' | 'lost'> {
    this.renewing ??= this.renewOnce().finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  private async renewOnce(): Promise<'kept' | 'lost'> {
    if (this.released) return 'lost';
    try {
      if ((await fsp.readFile(this.file, 'utf8')) !== this.text) return 'lost';
      const now = new Date();
      await fsp.utimes(this.file, now, now);
      this.renewedAt = now.getTime();
      return 'kept';
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return 'lost';
      // A network hiccup: try again at the next turn, while the lease lasts.
      return Date.now() - this.renewedAt >= LEASE_MS ? 'lost' : 'kept';
    }
  }

  /** Removes the lock file if it is still ours; a failure leaves it for the next taker, which finds it stale. */
  release(): void {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.file);
    try {
      if (fs.readFileSync(this.file, 'utf8') === this.text) fs.unlinkSync(this.file);
    } catch {
      // Gone already (the mailbox deleted), or cannot be removed now: either way no longer ours.
    }
  }

  /** For link() and create(): a lock just made, its mtime set at `at`. */
  static made(file: string, text: string, at: number): MaildropLock {
    heldHere.add(file);
    return new MaildropLock(file, text, at);
  }
}

/**
 * For recovery: removes the Maildir's maildrop lock (and a breaker's file)
 * when its holder is gone; true while a live holder (this process
 * included) has it, whose expunge may be under way.
 */
export function sweepMaildropLock(folder: string): boolean {
  const file = maildropLockFile(folder);
  const breaker = look(`${file}${BREAK_SUFFIX}`);
  if (breaker?.stale) removeIfSame(`${file}${BREAK_SUFFIX}`, breaker);
  const found = look(file);
  if (found === null) return false;
  return !(found.stale && breakStale(file, found));
}

/** A maildrop lock's line naming this process, with a new nonce. */
const holderLine = (): string => `${process.pid} ${bootId()} ${ownHostTag()} ${randomHex(8)} ${LEASE_MS}\n`;

/**
 * Makes the lock file a hard link to this process's holder file; null when
 * it exists, 'refused' when no link can be made there (create() then).
 */
function link(file: string, root: string): MaildropLock | null | 'refused' {
  // The lock is <root>/<domain>/<mailbox>/<name>: its domain folder is where another file system may be mounted.
  const domain = path.dirname(path.dirname(file));
  if (noLinks.has(domain)) return 'refused';
  for (let retry = 0; ; retry++) {
    const holder = ownHolder(root, holderLine);
    if (holder === null) return 'refused';
    try {
      fs.linkSync(holder.file, file);
    } catch (err) {
      if (isCode(err, 'EEXIST')) return null;
      // The holder removed by someone (another machine's recovery, an administrator): made again, once.
      if (isCode(err, 'ENOENT') && retry === 0 && holderLost(root, holder)) continue;
      if (isCode(err, ...LINK_REFUSED)) {
        noLinks.add(domain);
        return 'refused';
      }
      // Too many links to the holder: this one lock is a file of its own.
      if (isCode(err, 'EMLINK')) return 'refused';
      throw err;
    }
    return MaildropLock.made(file, holder.text, holder.touchedAt);
  }
}

/** Creates the lock file naming this process, its lease starting now by this clock; null when it exists. */
function create(file: string): MaildropLock | null {
  const text = holderLine();
  const now = Date.now();
  return createExclusive(file, text, now) ? MaildropLock.made(file, text, now) : null;
}

/** The lock file there now, or null when there is none. */
function look(file: string): Found | null {
  const seen = readLockFile(file);
  if (seen === null) return null;
  const { st, text } = seen;
  const line = parseMaildropHolderLine(text);
  const leaseMs = line?.leaseMs ?? LEASE_MS;
  const expired = Date.now() - st.mtimeMs > leaseMs + CLOCK_SKEW_MS;
  if (line === null) return { text, stale: expired, holder: 'a process that has not written its name (yet)' };
  const { pid, boot, host } = line;
  if (host !== ownHostTag()) {
    const left = Math.max(0, Math.ceil((st.mtimeMs + leaseMs + CLOCK_SKEW_MS - Date.now()) / 1000));
    return { text, stale: expired, holder: `process ${pid} on ${host} (its lease ends within ${left} s unless renewed)` };
  }
  return { text, stale: localHolderGone(file, pid, boot, heldHere), holder: `process ${pid} on this machine` };
}

/** Removes a stale lock file if it is still the one found, one breaker at a time; true when this call removed it. */
function breakStale(file: string, found: Found): boolean {
  const breakFile = `${file}${BREAK_SUFFIX}`;
  const breaker = create(breakFile);
  if (breaker === null) {
    // Another process is removing it; a breaker that died doing so is stale itself.
    const other = look(breakFile);
    if (other?.stale) removeIfSame(breakFile, other);
    return false;
  }
  try {
    return removeIfSame(file, found);
  } finally {
    breaker.release();
  }
}

/** Removes a stale file if it is still the one found, not one made since. */
function removeIfSame(file: string, found: Found): boolean {
  const now = look(file);
  if (!now?.stale || now.text !== found.text) return false;
  fs.rmSync(file, { force: true });
  return true;
}
