/**
 * The store's core: what every job of the store shares, and nothing else.
 *
 * The mail root and the guard around every operation on it, this process's
 * per-key mutex and the lock files for other processes (taken in one order),
 * the in-memory listing index with its listing-snapshot hooks, change
 * events, and what recovery has done so far. State files are read by
 * state-reads.ts and one mailbox is brought into the index by
 * mailbox-sync.ts, both on top of this; each job in jobs/ builds on these
 * three and never on another job.
 */

import { promises as fsp } from 'node:fs';
import { AdminError } from '../../../shared/errors.js';
import { domainNameProblem, type Address } from '../../../shared/names.js';
import type { Logger } from '../log.js';
import { isCode, isDirectory, KeyedMutex } from './fs-util.js';
import { domainDir, mailboxDir, STATE_DIR } from './layout.js';
import { ListingSnapshots } from './listing-snapshot.js';
import { LockFiles, lockName } from './lock-files.js';
import { StoreIndex } from './mailbox-index.js';
import { mayMeanMissing, rootMissing, rootReplaced, storeFault, type RootIdentity, type StoreFaultError } from './store-errors.js';
import type { RecoveryReport } from './recovery.js';
import type { StoreChange } from './types.js';

export interface StoreOptions {
  readonly fsync: boolean;
  readonly log: Logger;
  /** The mail root folder as opened; a different folder under the same name later is reported, not used. */
  readonly rootId?: RootIdentity;
}

export const noMailbox = (a: Address): AdminError =>
  new AdminError('NOT_FOUND', `No mailbox ${a.address}. Check the name with \`winpop list ${a.domain}\`.`);
export const noDomain = (domain: string): AdminError =>
  new AdminError('NOT_FOUND', `No domain ${domain}. Check the name with \`winpop list\`.`);

/** True for a folder name that can be a domain. */
const isDomainName = (name: string): boolean => domainNameProblem(name) === null && name === name.toLowerCase();

export class StoreCore {
  readonly fsync: boolean;
  readonly log: Logger;
  readonly snapshots: ListingSnapshots;
  readonly index: StoreIndex;
  /**
   * What crash recovery has done. `lazy`: a one-shot command's store, whose
   * listings may come from snapshots. `all`: every mailbox has been
   * recovered (at open, or by the service's background sweep). Until then
   * each mailbox is recovered on first use: `done` lists those recovered so
   * far, `running` the recoveries under way (a second user waits for the
   * first one's), `report` counts what they found, and `stopping` tells
   * the background sweep to end.
   */
  readonly recovery = {
    lazy: false,
    all: false,
    done: new Set<string>(),
    running: new Map<string, Promise<void>>(),
    report: { trashRemoved: 0, stagingRemoved: 0, tmpRemoved: 0, expungesCompleted: 0 } satisfies RecoveryReport,
    stopping: false,
  };
  /** The problem of each domain whose state file was last found missing or damaged, so that a change of it is announced once. */
  readonly domainProblems = new Map<string, string>();
  /** Damaged mailbox state files found where no index of their domain is held (noteUnindexedMailboxState). */
  readonly mailboxProblems = new Map<string, string>();
  private readonly rootId: RootIdentity | undefined;
  private readonly mutex = new KeyedMutex();
  private readonly lockFiles: LockFiles;
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private heldChangeListener: ((domain: string) => void) | null = null;

  constructor(
    readonly root: string,
    options: StoreOptions,
  ) {
    this.fsync = options.fsync;
    this.log = options.log;
    this.rootId = options.rootId;
    this.snapshots = new ListingSnapshots(root, options.log);
    this.lockFiles = new LockFiles(root);
    this.index = new StoreIndex({
      before: (domain) => this.snapshots.beginChange(domain),
      after: (domain) => {
        this.snapshots.endChange(domain);
        this.heldDomainChanged(domain);
      },
    });
  }

  // --- events -----------------------------------------------------------------------------------

  onChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.log.error('A store change listener failed', { error: (err as Error).message });
      }
    }
  }

  /** Who is told that the index of a domain this store holds has changed (the listing, which writes its snapshot later). */
  onHeldDomainChange(listener: (domain: string) => void): void {
    this.heldChangeListener = listener;
  }

  /** Says that the index of `domain` changed: its snapshot is due again if this store holds it. */
  heldDomainChanged(domain: string): void {
    if (this.snapshots.mayHold(domain)) this.heldChangeListener?.(domain);
  }

  // --- guards -----------------------------------------------------------------------------------

  /**
   * Runs a store operation and turns a file-system fault into a STORE_ERROR
   * that names the file and the fix. A "not found" is first checked against
   * the mail root itself: when the root is gone, that is the real problem.
   */
  async guard<T>(where: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (mayMeanMissing(err)) {
        const problem = await this.rootProblem();
        if (problem) throw problem;
      }
      throw storeFault(err, this.root, where) ?? err;
    }
  }

  /**
   * Runs `fn` under this process's mutex of `key` (a mailbox's address, or
   * `domain:<name>`), as the lock changes do: a read made there never sees a
   * change of this process half done (written, its sessions not yet closed).
   */
  serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(key, fn);
  }

  /** guard() around work serialized per key. */
  guardedRun<T>(key: string, where: string, fn: () => Promise<T>): Promise<T> {
    return this.guard(where, () => this.mutex.run(key, fn));
  }

  /**
   * One step on a mailbox's state: under the in-process mutexes of `keys`
   * (a lock change takes its domain's and then its own, the order used
   * everywhere, so no two calls wait for each other: an unlock's look at the
   * domain lock and its write are one step, a domain's deletion waits for
   * it, and the calls on one mailbox run in the order they came), then the
   * lock files of those that apply, for other processes. A mailbox that is
   * not there is NOT_FOUND before any lock file is made.
   */
  exclusiveMailbox<T>(a: Address, keys: readonly string[], where: string, fn: () => Promise<T>): Promise<T> {
    const files = keys.map((key) => (key === a.address ? lockName(a) : lockName({ domain: a.domain })));
    return this.exclusive(keys, files, where, async () => {
      if (!(await isDirectory(mailboxDir(this.root, a)))) throw noMailbox(a);
    }, fn);
  }

  /** One step on a domain's state: its mutex, then its lock file; NOT_FOUND before any lock file when it is not there. */
  exclusiveDomain<T>(name: string, where: string, fn: () => Promise<T>): Promise<T> {
    return this.exclusive([`domain:${name}`], [lockName({ domain: name })], where, async () => {
      if (!(await isDirectory(domainDir(this.root, name)))) throw noDomain(name);
    }, fn);
  }

  /**
   * guard() around a change of state files that must be one step: under this
   * process's mutex of each key and then the lock file of each name (other
   * processes), each taken in the order given, once `present` has found the
   * target. Reaches the first mutex without waiting, so calls queue in the
   * order they were made.
   */
  private exclusive<T>(keys: readonly string[], files: readonly string[], where: string, present: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
    const from = async (i: number): Promise<T> => {
      if (i < keys.length) return this.mutex.run(keys[i] as string, () => from(i + 1));
      // A target that is not there makes no lock file: a bulk call naming many such targets stays cheap.
      await present();
      return this.lockFiles.hold(files, fn);
    };
    return this.guard(where, () => from(0));
  }

  /** Removes the lock files of stopped processes (a start does this once). */
  sweepLockFiles(): void {
    this.lockFiles.sweep();
  }

  // --- the mail root ----------------------------------------------------------------------------

  /** The mail root's problem, if it has one: missing, or not the folder that was opened. */
  private async rootProblem(): Promise<StoreFaultError | null> {
    let st;
    try {
      st = await fsp.stat(this.root);
    } catch (err) {
      return isCode(err, 'ENOENT', 'ENOTDIR') ? rootMissing(this.root) : null;
    }
    if (!st.isDirectory()) return rootMissing(this.root);
    if (this.rootId && (st.ino !== this.rootId.ino || st.dev !== this.rootId.dev)) return rootReplaced(this.root);
    return null;
  }

  async throwIfRootGone(): Promise<void> {
    const problem = await this.rootProblem();
    if (problem) throw problem;
  }

  /** Folders of the mail root that are domains, sorted. */
  async domainFolderNames(): Promise<string[]> {
    const names: string[] = [];
    for (const entry of await fsp.readdir(this.root, { withFileTypes: true })) {
      if (entry.name === STATE_DIR || entry.name.startsWith('.')) continue;
      if (entry.isDirectory() && isDomainName(entry.name)) names.push(entry.name);
      else this.log.debug('Skipping a folder that is not a domain', { name: entry.name });
    }
    return names.sort();
  }
}
