/**
 * The file-system mail store: domains and mailboxes as folders, each mailbox
 * a Maildir, state in small JSON files, all changes made visible by renames.
 *
 * Every public method checks its names with shared/names.ts before it builds
 * a path. Lock state is always read from disk where a decision depends on it
 * (log-in), so a lock written by any process takes effect at once.
 */

import { createVerifiedCache } from './verified-cache.js';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { DomainSummary, LockInfo, MailboxSummary } from '../../../shared/contract.js';
import { AdminError } from '../../../shared/errors.js';
import { assertMailboxUnlockable, copyLock, decideLock, isLocked, loginLockedBy, nextLockSerial } from '../../../shared/lock-rule.js';
import { domainNameProblem, normalizeDomain, parseAddress, type Address } from '../../../shared/names.js';
import type { Logger } from '../log.js';
import { receiveToTmp, type ReceivedMessage } from './receive-to-tmp.js';
import { fsyncDir } from './atomic-file.js';
import { forEachLimit, isCode, isDirectory, KeyedMutex, randomHex, unlinkIfExists } from './fs-util.js';
import { scanDomainSync, isMailboxName } from './listing-scan.js';
import { LockFiles, lockName } from './lock-files.js';
import { encodeSnapshot, encodeSnapshotInSlices, ListingSnapshots, SNAPSHOT_MIN_MAILBOXES, stampTooFresh } from './listing-snapshot.js';
import {
  domainDir,
  domainMetaFile,
  EXPUNGE_RECORD,
  MAILBOX_META,
  mailboxDir,
  mailboxMetaFile,
  MAILDIR_SUBDIRS,
  STAGING_PREFIX,
  STATE_DIR,
  trashDir,
  DOMAIN_META,
} from './layout.js';
import { completePendingExpunges, countMessages, expungeFiles, listMessageFiles, wireSizeOf, type MessageFile } from './maildir.js';
import { StoreIndex, type DomainIndex, type MailboxEntry } from './mailbox-index.js';
import { hashUidl, uidlFor } from './message-names.js';
import {
  domainProblem,
  mailboxProblem,
  META_VERSION,
  MetaFileError,
  missingDomainMeta,
  missingMailboxMeta,
  readDomainMeta,
  readMailboxMeta,
  writeDomainMeta,
  writeMailboxMeta,
  type DomainMeta,
  type MailboxMeta,
} from './meta.js';
import { hashPassword, spendLoginCost, verifyPassword, type CheckOptions } from './passwords.js';
import { cleanLeftover, recoverMailbox, recoverStore, type RecoveryReport } from './recovery.js';
import { mayMeanMissing, rootMissing, rootReplaced, storeFault, type RootIdentity, type StoreFaultError } from './store-errors.js';
import {
  DeliveryIncompleteError,
  ExpungePendingError,
  type DeliveryCopy,
  type DeliveryResult,
  type LockTarget,
  type LockUpdate,
  type LoginCheck,
  type Maildrop,
  type MailStore,
  type StoredMessage,
  type StoreChange,
} from './types.js';

/** How many mailboxes are scanned at once when a domain's index is built. */
const SCAN_PARALLEL = 64;
/** A held domain's snapshot is written this long after its last change (and at close). */
const HELD_WRITE_DELAY_MS = 5_000;
/** …and never more than this fraction of the time goes into writing it. */
const HELD_WRITE_SHARE = 0.02;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface StoreOptions {
  readonly fsync: boolean;
  readonly log: Logger;
  /** The mail root folder as opened; a different folder under the same name later is reported, not used. */
  readonly rootId?: RootIdentity;
}

const noMailbox = (a: Address): AdminError =>
  new AdminError('NOT_FOUND', `No mailbox ${a.address}. Check the name with \`winpop list ${a.domain}\`.`);
const noDomain = (domain: string): AdminError =>
  new AdminError('NOT_FOUND', `No domain ${domain}. Check the name with \`winpop list\`.`);

/** True for a folder name that can be a domain. */
const isDomainName = (name: string): boolean => domainNameProblem(name) === null && name === name.toLowerCase();

export class FileMailStore implements MailStore {
  private readonly snapshots: ListingSnapshots;
  private readonly index: StoreIndex;
  /** Recovery mode given at open: a lazy store loads a domain from its snapshot or scans it once, synchronously. */
  private lazy = false;
  /** Pending writes of held domains' snapshots. */
  private readonly heldTimers = new Map<string, NodeJS.Timeout>();
  private lastHeldWriteMs = 0;
  private closed = false;
  private readonly verified = createVerifiedCache();
  private readonly mutex = new KeyedMutex();
  private readonly lockFiles: LockFiles;
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private readonly fsync: boolean;
  private readonly log: Logger;
  /** True once every mailbox was recovered at open; otherwise `recovered` lists those done since. */
  private allRecovered = false;
  private readonly recovered = new Set<string>();
  private readonly rootId: RootIdentity | undefined;
  /** The problem of each domain whose state file was last found missing or damaged, so that a change of it is announced once. */
  private readonly domainProblems = new Map<string, string>();

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
        if (this.snapshots.mayHold(domain)) this.scheduleHeldWrite(domain);
      },
    });
  }

  /**
   * Crash recovery, once, before the store is used. The same walk builds the
   * index of every domain, so even the first listing is answered from memory.
   * `lazy` recovers only store-wide state now and each mailbox when first
   * used: for one-shot commands on a big store.
   */
  async recover(mode: 'full' | 'lazy' = 'full'): Promise<RecoveryReport> {
    if (mode === 'lazy') {
      this.lazy = true;
      return recoverStore(this.root, this.fsync, this.log, undefined, { mailboxes: false });
    }
    this.allRecovered = true;
    this.snapshots.keepMarks = true;
    try {
      this.lockFiles.sweep();
    } catch (err) {
      // Each stale lock file is also removed by the next change that needs it.
      this.log.warn('Could not remove the stale lock files of stopped processes', { error: (err as Error).message });
    }
    // Held before the walk, so that the walk's result plus this store's own changes stay exact (listing-snapshot.ts).
    await forEachLimit(await this.domainFolderNames(), 16, async (domain) => {
      await this.snapshots.hold(domain);
    });
    const report = await recoverStore(this.root, this.fsync, this.log, {
      domain: (domain, stamp, readAt, mailboxes) => {
        const d = this.index.domain(domain);
        d.names = new Set(mailboxes);
        d.stamp = stamp;
        d.stampReadAt = readAt;
      },
      mailbox: async (domain, mailbox) => {
        const entry = await this.scanMailbox({ domain, mailbox, address: `${mailbox}@${domain}` }, { known: true });
        if (entry) this.index.domain(domain).entries.set(mailbox, entry);
      },
      change: (domain, mailbox, work) => this.index.change(domain, mailbox, work, (d) => d.entries.delete(mailbox)),
    });
    // A start rewrites every big domain's snapshot: mail other programs put in a Maildir shows up after a restart.
    // Small domains are let go: they are scanned in no time, and holding costs a look at `held` per change.
    for (const domain of this.snapshots.heldDomains()) {
      if ((this.index.domains.get(domain)?.names.size ?? 0) < SNAPSHOT_MIN_MAILBOXES) await this.snapshots.release(domain);
      else await this.writeHeldSnapshot(domain);
    }
    return report;
  }

  /**
   * Writes what this store knows of the domains it holds, and lets go of
   * them. Call it when the service stops; the store should not be used after.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pending = [...this.heldTimers.keys()];
    for (const timer of this.heldTimers.values()) clearTimeout(timer);
    this.heldTimers.clear();
    for (const domain of pending) await this.writeHeldSnapshot(domain);
    for (const domain of this.snapshots.heldDomains()) await this.snapshots.release(domain);
    this.snapshots.removeIdleMarks();
  }

  // --- POP3 -------------------------------------------------------------------

  async checkLogin(address: string, password: string, options?: CheckOptions): Promise<LoginCheck> {
    let a: Address;
    try {
      a = parseAddress(address);
    } catch {
      await spendLoginCost(password, options);
      return { ok: false, reason: 'bad-credentials' };
    }
    const meta = await this.guard(mailboxDir(this.root, a), () => this.readMailboxMetaStrict(a, { missingIsNull: true }));
    if (meta === null) {
      // Without its mail root every user would look unknown: say what is really wrong.
      await this.throwIfRootGone();
      await spendLoginCost(password, options);
      return { ok: false, reason: 'bad-credentials' };
    }
    if (!(await this.verify(password, meta.password, options))) return { ok: false, reason: 'bad-credentials' };
    // Read the lock state again: hashing takes a while, and a lock written meanwhile must win.
    const now = await this.guard(mailboxDir(this.root, a), () => this.readMailboxMetaStrict(a, { missingIsNull: true }));
    if (now === null) {
      await this.throwIfRootGone();
      return { ok: false, reason: 'bad-credentials' };
    }
    const domain = await this.guard(domainDir(this.root, a.domain), () => this.readDomainMetaStrict(a.domain));
    this.noteLock(a, now.lock);
    const by = loginLockedBy(domain.lock, now.lock);
    if (by !== null) return { ok: false, reason: 'locked', by };
    return { ok: true, address: a.address };
  }

  /** scrypt, unless this very password was verified against this very hash recently. */
  private async verify(password: string, storedHash: string, options?: CheckOptions): Promise<boolean> {
    if (this.verified.has(storedHash, password)) return true;
    const ok = await verifyPassword(password, storedHash, options);
    if (ok) this.verified.remember(storedHash, password);
    return ok;
  }

  async isLocked(address: string): Promise<boolean> {
    const a = parseAddress(address);
    return this.guard(mailboxDir(this.root, a), async () => {
      const meta = await this.readMailboxMetaStrict(a, { missingIsNull: false });
      const domain = await this.readDomainMetaStrict(a.domain);
      this.noteLock(a, meta?.lock ?? null);
      return isLocked(domain.lock, meta?.lock ?? null);
    });
  }

  async openMaildrop(address: string): Promise<Maildrop> {
    const a = parseAddress(address);
    // Under the mailbox's mutex: a snapshot taken while an expunge runs would show half of it.
    return this.guardedRun(a.address, mailboxDir(this.root, a), () => this.openMaildropOf(a));
  }

  private async openMaildropOf(a: Address): Promise<Maildrop> {
    const dir = mailboxDir(this.root, a);
    if (!(await isDirectory(dir))) throw noMailbox(a);
    await this.recoverOnce(a);
    await this.finishExpunges(a);
    const files = await listMessageFiles(dir);
    const messages: StoredMessage[] = [];
    const byFile = new Map<string, MessageFile>();
    const seen = new Set<string>();
    for (const f of files) {
      let uidl = uidlFor(f.unique);
      // Two files with one unique part (a copy made by hand): keep UIDLs distinct and stable.
      if (seen.has(uidl)) uidl = hashUidl(f.file);
      seen.add(uidl);
      let size = f.wireSize;
      if (size === null) {
        try {
          size = await wireSizeOf(path.join(dir, f.file));
        } catch (err) {
          if (isCode(err, 'ENOENT')) continue;
          throw err;
        }
      }
      messages.push(Object.freeze({ file: f.file, uidl, size }));
      byFile.set(f.file, f);
    }
    return new FileMaildrop(this, a, dir, Object.freeze(messages), byFile);
  }

  // --- SMTP -------------------------------------------------------------------

  async hasMailbox(address: string): Promise<boolean> {
    let a: Address;
    try {
      a = parseAddress(address);
    } catch {
      return false;
    }
    const dir = mailboxDir(this.root, a);
    if (await this.guard(dir, () => isDirectory(dir))) return true;
    // "No such mailbox" would make SMTP bounce mail for good; a missing store is only temporary.
    await this.throwIfRootGone();
    return false;
  }

  async deliver(address: string, content: Readable, options: { maxBytes?: number } = {}): Promise<DeliveryResult> {
    const a = parseAddress(address);
    return this.guard(mailboxDir(this.root, a), () => this.deliverTo(a, content, options));
  }

  private async deliverTo(a: Address, content: Readable, options: { maxBytes?: number }): Promise<DeliveryResult> {
    const p = await this.prepareCopy(a, { address: a.address, content: () => content, ...options });
    try {
      await this.index.change(a.domain, a.mailbox, () => fsp.rename(p.received.tmpPath, p.target), (d) => countCopy(d, p, +1));
    } catch (err) {
      await unlinkIfExists(p.received.tmpPath).catch(() => undefined);
      if (isCode(err, 'ENOENT')) throw noMailbox(a);
      throw err;
    }
    if (this.fsync) await fsyncDir(path.dirname(p.target));
    const counts = await this.countsOf(a);
    this.emit({ type: 'mailArrived', address: a.address, messages: counts.messages, bytes: counts.bytes });
    return { address: a.address, size: p.received.diskSize };
  }

  async deliverAll(copies: readonly DeliveryCopy[]): Promise<DeliveryResult[]> {
    const targets = copies.map((copy) => ({ copy, a: parseAddress(copy.address) }));
    // Phase 1: every copy written and fsynced in its tmp/, none visible yet.
    const written: PreparedCopy[] = [];
    try {
      for (const { copy, a } of targets) {
        written.push(await this.guard(mailboxDir(this.root, a), () => this.prepareCopy(a, copy)));
      }
    } catch (err) {
      await this.discardTmp(written);
      throw err;
    }
    // Phase 2: all of them made visible, or (as far as the disk lets us) none.
    await this.commitCopies(written);
    const results: DeliveryResult[] = [];
    for (const p of written) {
      const counts = await this.countsOf(p.a);
      this.emit({ type: 'mailArrived', address: p.a.address, messages: counts.messages, bytes: counts.bytes });
      results.push({ address: p.a.address, size: p.received.diskSize });
    }
    return results;
  }

  /** A copy written and fsynced into its mailbox's tmp/, not yet visible: `deliver`, and phase 1 of deliverAll. */
  private async prepareCopy(a: Address, copy: DeliveryCopy): Promise<PreparedCopy> {
    const dir = mailboxDir(this.root, a);
    if (!(await isDirectory(path.join(dir, 'new')))) throw noMailbox(a);
    try {
      const received = await receiveToTmp(dir, copy.content(), { fsync: this.fsync, ...(copy.maxBytes === undefined ? {} : { maxBytes: copy.maxBytes }) });
      return { a, dir, received, target: path.join(dir, 'new', received.fileName) };
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw noMailbox(a);
      throw err;
    }
  }

  /** Removes phase-1 files that will not be delivered; what cannot be removed, recovery removes later. */
  private async discardTmp(copies: readonly PreparedCopy[]): Promise<void> {
    for (const p of copies) {
      await unlinkIfExists(p.received.tmpPath).catch((err: unknown) => {
        this.log.warn('Could not remove the temporary file of an undelivered message; recovery removes it later', {
          path: p.received.tmpPath,
          error: (err as Error).message,
        });
      });
    }
  }

  /**
   * Phase 2 of deliverAll: each rename runs inside a change of its mailbox
   * (index and listing snapshot, as in `deliver`), then each new/ is fsynced.
   * On a failure the copies already renamed are taken back out, so the
   * sender's retry does not duplicate them.
   */
  private async commitCopies(copies: readonly PreparedCopy[]): Promise<void> {
    const visible: PreparedCopy[] = [];
    try {
      for (const p of copies) {
        await this.guard(p.dir, async () => {
          try {
            await this.index.change(p.a.domain, p.a.mailbox, () => fsp.rename(p.received.tmpPath, p.target), (d) => countCopy(d, p, +1));
          } catch (err) {
            if (isCode(err, 'ENOENT')) throw noMailbox(p.a);
            throw err;
          }
        });
        visible.push(p);
      }
      if (this.fsync) {
        for (const dir of new Set(copies.map((p) => path.dirname(p.target)))) await this.guard(dir, () => fsyncDir(dir));
      }
    } catch (err) {
      await this.discardTmp(copies.filter((p) => !visible.includes(p)));
      const kept = await this.takeBack(visible, err);
      if (kept > 0) throw new DeliveryIncompleteError(kept, err);
      throw err;
    }
  }

  /** Unlinks copies a failed phase 2 had already made visible; logs loudly what stays and returns how many. */
  private async takeBack(copies: readonly PreparedCopy[], cause: unknown): Promise<number> {
    const stuck: string[] = [];
    for (const p of copies) {
      try {
        await this.index.change(p.a.domain, p.a.mailbox, () => unlinkIfExists(p.target), (d, removed) => {
          if (removed) countCopy(d, p, -1);
        });
      } catch {
        stuck.push(p.target);
      }
    }
    if (this.fsync) {
      for (const dir of new Set(copies.map((p) => path.dirname(p.target)))) {
        await fsyncDir(dir).catch(() => undefined); // best effort: the unlinks themselves are done
      }
    }
    if (stuck.length > 0) {
      this.log.error('A delivery to several mailboxes failed and some copies could not be taken back: the sender will retry and those mailboxes will get the message twice', {
        files: stuck.join(', '),
        error: cause instanceof Error ? cause.message : String(cause),
      });
    }
    return stuck.length;
  }

  // --- admin: reading ---------------------------------------------------------

  async listDomains(): Promise<DomainSummary[]> {
    // An empty folder made where the store was would list as "no domains": check it is still the store.
    await this.throwIfRootGone();
    return this.guard(this.root, () => this.listDomainsNow());
  }

  /** Folders of the mail root that are domains, sorted. */
  private async domainFolderNames(): Promise<string[]> {
    const names: string[] = [];
    for (const entry of await fsp.readdir(this.root, { withFileTypes: true })) {
      if (entry.name === STATE_DIR || entry.name.startsWith('.')) continue;
      if (entry.isDirectory() && isDomainName(entry.name)) names.push(entry.name);
      else this.log.debug('Skipping a folder that is not a domain', { name: entry.name });
    }
    return names.sort();
  }

  private async listDomainsNow(): Promise<DomainSummary[]> {
    const out: DomainSummary[] = [];
    for (const name of await this.domainFolderNames()) {
      try {
        out.push(await this.domainSummary(name));
      } catch (err) {
        if (err instanceof AdminError && err.code === 'NOT_FOUND') continue; // removed while we listed
        throw err;
      }
    }
    return out;
  }

  async getDomain(domain: string): Promise<DomainSummary> {
    const name = normalizeDomain(domain);
    return this.guard(domainDir(this.root, name), () => this.domainSummary(name));
  }

  async listMailboxes(domain: string): Promise<MailboxSummary[]> {
    const name = normalizeDomain(domain);
    return this.guard(domainDir(this.root, name), () => this.listMailboxesOf(name));
  }

  private async listMailboxesOf(name: string): Promise<MailboxSummary[]> {
    const d = await this.domainIndex(name);
    const state = await this.domainStateForListing(name);
    const out: MailboxSummary[] = [];
    for (const mailbox of [...d.names].sort()) {
      const e = d.entries.get(mailbox);
      if (e) out.push(summary(mailbox, name, e, state));
    }
    return out;
  }

  async getMailbox(address: string): Promise<MailboxSummary> {
    const a = parseAddress(address);
    return this.guard(mailboxDir(this.root, a), () => this.mailboxSummaryOf(a));
  }

  private async mailboxSummaryOf(a: Address): Promise<MailboxSummary> {
    if (!(await isDirectory(mailboxDir(this.root, a)))) throw noMailbox(a);
    // A fresh scan: cheap for one mailbox, and it corrects the index if another program changed the Maildir.
    const entry = await this.index.load(a.domain, a.mailbox, () => this.scanMailbox(a));
    if (!entry) throw noMailbox(a);
    if (entry.broken) await this.readMailboxMetaStrict(a, { missingIsNull: false });
    return summary(a.mailbox, a.domain, entry, await this.domainStateForListing(a.domain));
  }

  // --- admin: changing --------------------------------------------------------

  async addDomain(domain: string): Promise<DomainSummary> {
    const name = normalizeDomain(domain);
    await this.throwIfRootGone();
    return this.guardedRun(`domain:${name}`, domainDir(this.root, name), async () => {
      const target = domainDir(this.root, name);
      if (await pathExists(target)) throw new AdminError('ALREADY_EXISTS', `The domain ${name} already exists.`);
      const staging = path.join(this.root, `${STAGING_PREFIX}${process.pid}-${randomHex(6)}`);
      try {
        await fsp.mkdir(staging, { mode: 0o700 });
        const meta: DomainMeta = { version: META_VERSION, lock: null, lockSerial: 0, created: new Date().toISOString() };
        await writeDomainMeta(path.join(staging, DOMAIN_META), meta, this.fsync);
        // A change of the domain as a whole: it must not find a snapshot of an earlier domain of that name.
        await this.index.change(
          name,
          '',
          () => this.renameIntoPlace(staging, target, () => new AdminError('ALREADY_EXISTS', `The domain ${name} already exists.`)),
          () => undefined,
        );
      } finally {
        await fsp.rm(staging, { recursive: true, force: true }).catch(() => undefined);
      }
      this.index.domains.delete(name);
      return { name, mailboxes: 0, messages: 0, bytes: 0, lock: null };
    });
  }

  async deleteDomain(domain: string): Promise<void> {
    const name = normalizeDomain(domain);
    await this.exclusiveDomain(name, domainDir(this.root, name), async () => {
      const dir = domainDir(this.root, name);
      if (!(await isDirectory(dir))) throw noDomain(name);
      await this.index.change(name, '', () => this.moveToTrash(dir, this.root), () => undefined);
      this.index.domains.delete(name);
    });
  }

  async addMailbox(address: string, password: string): Promise<MailboxSummary> {
    const a = parseAddress(address);
    checkPassword(password);
    return this.guardedRun(a.address, mailboxDir(this.root, a), async () => {
      const parent = domainDir(this.root, a.domain);
      if (!(await isDirectory(parent))) {
        throw new AdminError('NOT_FOUND', `No domain ${a.domain}. Create it first with \`winpop add ${a.domain}\`.`);
      }
      const target = mailboxDir(this.root, a);
      const exists = (): AdminError => new AdminError('ALREADY_EXISTS', `The mailbox ${a.address} already exists.`);
      if (await pathExists(target)) throw exists();
      const hash = await hashPassword(password);
      const staging = path.join(parent, `${STAGING_PREFIX}${process.pid}-${randomHex(6)}`);
      const entry: MailboxEntry = { messages: 0, bytes: 0, lock: null, broken: false };
      try {
        await fsp.mkdir(staging, { mode: 0o700 });
        for (const sub of MAILDIR_SUBDIRS) await fsp.mkdir(path.join(staging, sub), { mode: 0o700 });
        const meta: MailboxMeta = { version: META_VERSION, password: hash, lock: null, lockSerial: 0, created: new Date().toISOString() };
        await writeMailboxMeta(path.join(staging, MAILBOX_META), meta, this.fsync);
        if (this.fsync) await fsyncDir(staging);
        await this.index.change(
          a.domain,
          a.mailbox,
          () => this.renameIntoPlace(staging, target, exists),
          (d) => {
            d.names.add(a.mailbox);
            d.entries.set(a.mailbox, entry);
          },
        );
      } catch (err) {
        if (isCode(err, 'ENOENT')) throw new AdminError('NOT_FOUND', `No domain ${a.domain}; it was deleted while the mailbox was being created.`);
        throw err;
      } finally {
        await fsp.rm(staging, { recursive: true, force: true }).catch(() => undefined);
      }
      return summary(a.mailbox, a.domain, entry, await this.domainStateForListing(a.domain));
    });
  }

  async deleteMailbox(address: string): Promise<void> {
    const a = parseAddress(address);
    await this.exclusiveMailbox(a, [a.address], mailboxDir(this.root, a), async () => {
      const dir = mailboxDir(this.root, a);
      if (!(await isDirectory(dir))) throw noMailbox(a);
      await this.index.change(
        a.domain,
        a.mailbox,
        () => this.moveToTrash(dir, domainDir(this.root, a.domain)),
        (d) => {
          d.names.delete(a.mailbox);
          d.entries.delete(a.mailbox);
        },
      );
    });
  }

  async setPassword(address: string, password: string): Promise<void> {
    const a = parseAddress(address);
    checkPassword(password);
    // The lock file too: another process's lock must not be lost under the lock this one read and writes back.
    await this.exclusiveMailbox(a, [a.address], mailboxDir(this.root, a), async () => {
      if (!(await isDirectory(mailboxDir(this.root, a)))) throw noMailbox(a);
      let old: MailboxMeta | null = null;
      try {
        old = await readMailboxMeta(mailboxMetaFile(this.root, a), a.address);
      } catch (err) {
        if (!(err instanceof MetaFileError)) throw err;
        // Setting a password is the documented repair for a damaged mailbox file.
        this.log.warn('Rewriting a damaged mailbox file with the new password', { file: err.file });
      }
      const hash = await hashPassword(password);
      const meta: MailboxMeta = {
        version: META_VERSION,
        password: hash,
        lock: old?.lock ?? null,
        lockSerial: old?.lockSerial ?? 0,
        created: old?.created || new Date().toISOString(),
      };
      // A missing or damaged file is whole again now: listings stop showing the mailbox as Error.
      let repaired = old === null;
      await this.index.change(
        a.domain,
        a.mailbox,
        () => writeMailboxMeta(mailboxMetaFile(this.root, a), meta, this.fsync),
        (d) => {
          const e = d.entries.get(a.mailbox);
          if (e) {
            repaired ||= e.broken;
            e.broken = false;
            delete e.problem;
            e.lock = meta.lock;
          }
        },
      );
      if (repaired) this.emit({ type: 'stateProblem', target: a.address, kind: 'mailbox', problem: null });
    });
  }

  async changeLock(target: LockTarget, lock: LockInfo | null, effect?: (update: LockUpdate) => void): Promise<LockUpdate> {
    if ('domain' in target) {
      const name = normalizeDomain(target.domain);
      return this.exclusiveDomain(name, domainMetaFile(this.root, name), async () => {
        const { meta, damaged } = await this.readDomainMetaForChange(name);
        const { after, changed } = decideLock(meta.lock, lock);
        // A damaged or missing file is rewritten even when the state does not change: that is its documented repair.
        if (changed || damaged) await this.writeDomainLock(name, meta, after);
        // Whole again: say so also when the lock stays as it was, which announces nothing else.
        if (damaged) this.noteDomainProblem(name, null);
        return decided(meta.lock, after, changed, nextLockSerial(meta.lockSerial, meta.lock, after), effect);
      });
    }
    const a = parseAddress(target.address);
    return this.exclusiveMailbox(a, [`domain:${a.domain}`, a.address], mailboxMetaFile(this.root, a), async () => {
      const old = (await this.readMailboxMetaStrict(a, { missingIsNull: false })) as MailboxMeta;
      if (lock === null) assertMailboxUnlockable(a, (await this.readDomainMetaStrict(a.domain)).lock);
      const { after, changed } = decideLock(old.lock, lock);
      if (!changed) {
        this.noteLock(a, old.lock);
        return decided(old.lock, old.lock, false, old.lockSerial, effect);
      }
      const meta = await this.writeMailboxLock(a, old, after);
      return decided(old.lock, meta.lock, true, meta.lockSerial, effect);
    });
  }

  async setMailboxLock(address: string, lock: LockInfo | null): Promise<LockInfo | null> {
    const a = parseAddress(address);
    return this.exclusiveMailbox(a, [`domain:${a.domain}`, a.address], mailboxMetaFile(this.root, a), async () => {
      const old = (await this.readMailboxMetaStrict(a, { missingIsNull: false })) as MailboxMeta;
      await this.writeMailboxLock(a, old, lock);
      return old.lock;
    });
  }

  async setDomainLock(domain: string, lock: LockInfo | null): Promise<LockInfo | null> {
    const name = normalizeDomain(domain);
    return this.exclusiveDomain(name, domainMetaFile(this.root, name), async () => {
      const { meta } = await this.readDomainMetaForChange(name);
      await this.writeDomainLock(name, meta, lock);
      return meta.lock;
    });
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
  private exclusiveMailbox<T>(a: Address, keys: readonly string[], where: string, fn: () => Promise<T>): Promise<T> {
    const files = keys.map((key) => (key === a.address ? lockName(a) : lockName({ domain: a.domain })));
    return this.exclusive(keys, files, where, async () => {
      if (!(await isDirectory(mailboxDir(this.root, a)))) throw noMailbox(a);
    }, fn);
  }

  /** One step on a domain's state: its mutex, then its lock file; NOT_FOUND before any lock file when it is not there. */
  private exclusiveDomain<T>(name: string, where: string, fn: () => Promise<T>): Promise<T> {
    return this.exclusive([`domain:${name}`], [lockName({ domain: name })], where, async () => {
      if (!(await isDirectory(domainDir(this.root, name)))) throw noDomain(name);
    }, fn);
  }

  /** Writes a mailbox's lock, one more on its serial when the lock differs; the meta written. */
  private async writeMailboxLock(a: Address, old: MailboxMeta, lock: LockInfo | null): Promise<MailboxMeta> {
    const meta: MailboxMeta = { ...old, lock: lock === null ? null : copyLock(lock), lockSerial: nextLockSerial(old.lockSerial, old.lock, lock) };
    await this.index.change(
      a.domain,
      a.mailbox,
      () => writeMailboxMeta(mailboxMetaFile(this.root, a), meta, this.fsync),
      (d) => {
        const e = d.entries.get(a.mailbox);
        if (e) e.lock = meta.lock;
      },
    );
    return meta;
  }

  /**
   * A domain's state for a change of its lock. A damaged or missing file
   * reads as unlocked with serial 0 (it is rewritten by the change); a
   * missing domain is NOT_FOUND.
   */
  private async readDomainMetaForChange(name: string): Promise<{ meta: DomainMeta; damaged: boolean }> {
    if (!(await isDirectory(domainDir(this.root, name)))) throw noDomain(name);
    try {
      const meta = await readDomainMeta(domainMetaFile(this.root, name), name);
      if (meta) return { meta, damaged: false };
    } catch (err) {
      if (!(err instanceof MetaFileError)) throw err;
    }
    // Locking or unlocking is the documented repair for a damaged domain file.
    this.log.warn('Rewriting a damaged or missing domain file', { file: domainMetaFile(this.root, name) });
    return { meta: { version: META_VERSION, lock: null, lockSerial: 0, created: '' }, damaged: true };
  }

  private async writeDomainLock(name: string, old: DomainMeta, lock: LockInfo | null): Promise<void> {
    const meta: DomainMeta = {
      version: META_VERSION,
      lock: lock === null ? null : copyLock(lock),
      lockSerial: nextLockSerial(old.lockSerial, old.lock, lock),
      created: old.created || new Date().toISOString(),
    };
    await writeDomainMeta(domainMetaFile(this.root, name), meta, this.fsync);
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  // --- used by FileMaildrop ---------------------------------------------------------------------

  /** Expunges files of a mailbox, keeps the index right, and tells listeners. */
  async expunge(a: Address, dir: string, files: readonly MessageFile[]): Promise<void> {
    if (files.length === 0) return;
    const sizes = new Map(files.map((f) => [f.file, f.diskSize]));
    // A pending expunge is returned, not thrown, so that the index still hears of the change.
    const run = async (): Promise<{ removed: Set<string>; pending: ExpungePendingError | null }> => {
      try {
        return { removed: await expungeFiles(dir, [...sizes.keys()], this.fsync), pending: null };
      } catch (err) {
        if (err instanceof ExpungePendingError) return { removed: new Set(), pending: err };
        throw err;
      }
    };
    const apply = (): Promise<{ removed: Set<string>; pending: ExpungePendingError | null }> =>
      this.index.change(a.domain, a.mailbox, run, (d, { removed, pending }) => {
        const e = d.entries.get(a.mailbox);
        if (!e) return;
        if (pending) {
          d.entries.delete(a.mailbox); // some files went, some not: rescan on next use
          return;
        }
        for (const f of removed) {
          e.messages -= 1;
          e.bytes -= sizes.get(f) ?? 0;
        }
        if (e.messages < 0 || e.bytes < 0) d.entries.delete(a.mailbox); // out of step: rescan on next use
      });
    // The session that asked may already be gone (a hang-up during QUIT); the next one to open
    // this maildrop waits on the same mutex, so it sees all of these deletions or none.
    const { pending } = await this.guardedRun(a.address, dir, apply);
    if (pending) {
      // The next openMaildrop finishes the record (finishExpunges) before it lists the mailbox.
      this.log.error('An expunge could not remove every file; it is recorded and is finished when the mailbox is next opened', {
        mailbox: a.address,
        record: pending.record,
        error: pending.message,
      });
      throw pending;
    }
    const counts = await this.countsOf(a);
    this.emit({ type: 'mailboxChanged', address: a.address, messages: counts.messages, bytes: counts.bytes });
  }

  // --- internals --------------------------------------------------------------------------------

  /**
   * Runs a store operation and turns a file-system fault into a STORE_ERROR
   * that names the file and the fix. A "not found" is first checked against
   * the mail root itself: when the root is gone, that is the real problem.
   */
  private async guard<T>(where: string, fn: () => Promise<T>): Promise<T> {
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

  /** guard() around work serialized per key. */
  private guardedRun<T>(key: string, where: string, fn: () => Promise<T>): Promise<T> {
    return this.guard(where, () => this.mutex.run(key, fn));
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

  private async throwIfRootGone(): Promise<void> {
    const problem = await this.rootProblem();
    if (problem) throw problem;
  }

  private emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.log.error('A store change listener failed', { error: (err as Error).message });
      }
    }
  }

  /** Recovers a mailbox the open did not (lazy recovery): pending expunges, tmp/ leftovers. */
  private async recoverOnce(a: Address): Promise<void> {
    if (this.allRecovered || this.recovered.has(a.address)) return;
    const report = { trashRemoved: 0, stagingRemoved: 0, tmpRemoved: 0, expungesCompleted: 0 };
    await recoverMailbox(mailboxDir(this.root, a), this.fsync, this.log, report, Date.now(), (work) =>
      this.index.change(a.domain, a.mailbox, work, (d) => d.entries.delete(a.mailbox)),
    );
    this.recovered.add(a.address);
  }

  /** Completes expunge records a crash left in this mailbox, if any. */
  private async finishExpunges(a: Address): Promise<void> {
    const dir = mailboxDir(this.root, a);
    const entries = await fsp.readdir(dir);
    if (!entries.some((n) => EXPUNGE_RECORD.test(n))) return;
    await this.index.change(
      a.domain,
      a.mailbox,
      () => completePendingExpunges(dir, this.fsync, this.log, entries),
      (d) => d.entries.delete(a.mailbox),
    );
  }

  /** Current counts of a mailbox, from the index or by scanning it once. */
  private async countsOf(a: Address): Promise<{ messages: number; bytes: number }> {
    const known = this.index.domains.get(a.domain)?.entries.get(a.mailbox);
    if (known) return { messages: known.messages, bytes: known.bytes };
    const entry = await this.index.load(a.domain, a.mailbox, () => this.scanMailbox(a));
    return entry ? { messages: entry.messages, bytes: entry.bytes } : { messages: 0, bytes: 0 };
  }

  /** One mailbox's index entry from disk; null when the mailbox does not exist. */
  private async scanMailbox(a: Address, opts: { known?: boolean } = {}): Promise<MailboxEntry | null> {
    const dir = mailboxDir(this.root, a);
    if (!opts.known && !(await isDirectory(dir))) return null;
    await this.recoverOnce(a);
    const metaRead = readMailboxMeta(mailboxMetaFile(this.root, a), a.address);
    metaRead.catch(() => undefined); // handled below, after the counts
    const counts = await countMessages(dir);
    let lock: LockInfo | null = null;
    let problem: string | null = null;
    try {
      const meta = await metaRead;
      // Listed a moment ago but gone now: deleted meanwhile, not broken.
      if (meta === null && opts.known && counts.messages === 0 && !(await isDirectory(dir))) return null;
      if (meta === null) problem = mailboxProblem(missingMailboxMeta(mailboxMetaFile(this.root, a), a.address));
      else lock = meta.lock;
    } catch (err) {
      if (!(err instanceof MetaFileError)) throw err;
      problem = mailboxProblem(err);
    }
    const known = this.index.domains.get(a.domain)?.entries.get(a.mailbox);
    // Found damaged, or whole again, since the index last looked (a fresh scan for getMailbox): say so to whoever shows it.
    if (known && (known.broken ? (known.problem ?? '') : null) !== problem) this.emit({ type: 'stateProblem', target: a.address, kind: 'mailbox', problem });
    if (problem === null) return { messages: counts.messages, bytes: counts.bytes, lock, broken: false };
    this.log.warn(problem);
    return { messages: counts.messages, bytes: counts.bytes, lock: null, broken: true, problem };
  }

  /**
   * The domain's index with every mailbox loaded. The folder is read again
   * only when its modification time changed (a mailbox added or removed by
   * anyone); message counts come from the index.
   */
  private async domainIndex(domain: string): Promise<DomainIndex> {
    const dir = domainDir(this.root, domain);
    let stamp: bigint;
    try {
      const st = await fsp.lstat(dir, { bigint: true });
      if (!st.isDirectory()) throw noDomain(domain);
      stamp = st.mtimeNs;
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) {
        this.index.domains.delete(domain);
        throw noDomain(domain);
      }
      throw err;
    }
    const d = this.index.domain(domain);
    if (this.lazy && d.stamp === null) {
      d.reading ??= this.loadDomain(domain, d).finally(() => {
        d.reading = null;
      });
      await d.reading;
    }
    // Twice at most: a read already running may have started before the change we saw.
    for (let tries = 0; d.stamp !== stamp && tries < 2; tries++) {
      if (!d.reading) {
        d.reading = this.readDomainFolder(domain, d, stamp).finally(() => {
          d.reading = null;
        });
      }
      await d.reading;
    }
    const missing = [...d.names].filter((name) => !d.entries.has(name));
    await forEachLimit(missing, SCAN_PARALLEL, async (mailbox) => {
      const a: Address = { domain, mailbox, address: `${mailbox}@${domain}` };
      await this.index.load(domain, mailbox, () => this.scanMailbox(a, { known: true }));
    });
    return d;
  }

  /**
   * A lazy store's first look at a domain: its listing snapshot when that can
   * be trusted, else one scan of every mailbox, after which a snapshot is
   * written for the next command (listing-snapshot.ts has the protocol).
   * A snapshot needs no per-mailbox recovery: a change that a crash
   * interrupted removed the snapshot before it began, so what it lists is
   * what recovery would leave; log-in and delivery still recover each
   * mailbox on first use.
   */
  private async loadDomain(domain: string, d: DomainIndex): Promise<void> {
    const dir = domainDir(this.root, domain);
    for (;;) {
      while (this.index.inFlightIn(domain) > 0) await pause(2);
      const started = this.index.startedIn(domain);
      const folder = await fsp.lstat(dir, { bigint: true });
      const snapshot = await this.snapshots.read(domain, folder);
      if (snapshot) {
        // A change of this process meanwhile may be in the snapshot or not: read again.
        if (this.index.startedIn(domain) !== started || this.index.inFlightIn(domain) > 0) continue;
        d.names = new Set(snapshot.names);
        d.entries = snapshot.entries;
        d.stamp = folder.mtimeNs;
        for (const e of snapshot.entries.values()) if (e.problem) this.log.warn(e.problem);
        return;
      }
      const ticket = await this.snapshots.startScan(domain);
      const before = await fsp.lstat(dir, { bigint: true });
      const readAt = Date.now();
      // The scan below runs without yielding: no change of ours may be half-applied while it reads.
      if (this.index.inFlightIn(domain) > 0) continue;
      const scan = scanDomainSync(this.root, domain, this.log);
      d.names = new Set(scan.names);
      d.entries = scan.entries;
      d.stamp = before.mtimeNs;
      d.stampReadAt = readAt;
      const needRecovery = new Set(scan.needRecovery);
      for (const mailbox of scan.names) if (!needRecovery.has(mailbox)) this.recovered.add(`${mailbox}@${domain}`);
      const report = { trashRemoved: 0, stagingRemoved: 0, tmpRemoved: 0, expungesCompleted: 0 };
      for (const name of scan.leftovers) await cleanLeftover(dir, name, this.log, report);
      await forEachLimit(scan.needRecovery, SCAN_PARALLEL, async (mailbox) => {
        const a: Address = { domain, mailbox, address: `${mailbox}@${domain}` };
        await this.index.load(domain, mailbox, () => this.scanMailbox(a, { known: true }));
      });
      if (ticket && d.names.size >= SNAPSHOT_MIN_MAILBOXES && !stampTooFresh(before.mtimeNs, readAt)) {
        const names = [...d.names].sort();
        if (names.every((n) => d.entries.has(n))) {
          await this.snapshots.finishScan(ticket, encodeSnapshot(domain, before, names, d.entries)).catch((err: unknown) => {
            this.log.warn('Could not finish writing a listing snapshot', { domain, error: (err as Error).message });
          });
        }
      }
      return;
    }
  }

  private scheduleHeldWrite(domain: string): void {
    if (this.closed) return;
    const old = this.heldTimers.get(domain);
    if (old) clearTimeout(old);
    const delay = Math.max(HELD_WRITE_DELAY_MS, this.lastHeldWriteMs / HELD_WRITE_SHARE);
    const timer = setTimeout(() => {
      this.heldTimers.delete(domain);
      void this.writeHeldSnapshot(domain);
    }, delay);
    timer.unref();
    this.heldTimers.set(domain, timer);
  }

  /**
   * Writes a held domain's snapshot from memory (listing-snapshot.ts): only
   * while `held` is this store's, the index is whole, and no change of this
   * process is in flight there. Never throws: a snapshot is only a cache.
   */
  private async writeHeldSnapshot(domain: string): Promise<void> {
    const t0 = performance.now();
    try {
      if (this.index.inFlightIn(domain) > 0) return this.scheduleHeldWrite(domain);
      const d = await this.domainIndex(domain);
      if (d.names.size < SNAPSHOT_MIN_MAILBOXES || !(await this.snapshots.holds(domain))) return;
      const started = this.index.startedIn(domain);
      const folder = await fsp.lstat(domainDir(this.root, domain), { bigint: true });
      const names = [...d.names].sort();
      const exact = (): boolean => this.index.startedIn(domain) === started && this.index.inFlightIn(domain) === 0;
      if (folder.mtimeNs !== d.stamp || !exact() || !names.every((n) => d.entries.has(n))) return this.scheduleHeldWrite(domain);
      if (stampTooFresh(folder.mtimeNs, d.stampReadAt)) {
        d.stamp = -1n; // read the folder again next time, now that its clock has moved on
        return this.scheduleHeldWrite(domain);
      }
      const content = await encodeSnapshotInSlices(domain, folder, names, d.entries);
      if (!exact()) return this.scheduleHeldWrite(domain);
      await this.snapshots.installHeld(domain, content, exact);
      this.lastHeldWriteMs = performance.now() - t0;
    } catch (err) {
      if (err instanceof AdminError && err.code === 'NOT_FOUND') return; // the domain was deleted meanwhile
      this.log.warn('Could not write a listing snapshot', { domain, error: (err as Error).message });
    }
  }

  private async readDomainFolder(domain: string, d: DomainIndex, stamp: bigint): Promise<void> {
    const dir = domainDir(this.root, domain);
    const found = new Set<string>();
    const readAt = Date.now();
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory() && isMailboxName(entry.name)) found.add(entry.name);
      else this.log.debug('Skipping an entry that is not a mailbox', { domain, name: entry.name });
    }
    // A name we know but did not see may have been added just after the read: check it before dropping it.
    for (const name of d.names) {
      if (!found.has(name) && (await isDirectory(path.join(dir, name)))) found.add(name);
    }
    for (const name of d.entries.keys()) {
      if (!found.has(name)) d.entries.delete(name);
    }
    d.names = found;
    d.stamp = stamp;
    d.stampReadAt = readAt;
  }

  private async domainSummary(domain: string): Promise<DomainSummary> {
    const d = await this.domainIndex(domain);
    let messages = 0;
    let bytes = 0;
    let mailboxes = 0;
    for (const name of d.names) {
      const e = d.entries.get(name);
      if (!e) continue;
      mailboxes += 1;
      messages += e.messages;
      bytes += e.bytes;
    }
    const state = await this.domainStateForListing(domain);
    return { name: domain, mailboxes, messages, bytes, lock: state.lock, ...(state.problem === undefined ? {} : { problem: state.problem }) };
  }

  /**
   * The domain's lock for a listing. A damaged domain file does not stop the
   * listing: it is logged and given as the domain's `problem` (no lock known).
   */
  private async domainStateForListing(domain: string): Promise<DomainState> {
    try {
      return { lock: (await this.readDomainMetaStrict(domain)).lock };
    } catch (err) {
      if (!(err instanceof MetaFileError)) throw err;
      const problem = domainProblem(err);
      this.log.warn(problem);
      return { lock: null, problem };
    }
  }

  /** The domain's state; NOT_FOUND when the domain does not exist, STORE_ERROR when its file is missing or damaged. */
  private async readDomainMetaStrict(domain: string): Promise<DomainMeta> {
    const file = domainMetaFile(this.root, domain);
    try {
      const meta = await readDomainMeta(file, domain);
      if (meta) {
        this.noteDomainProblem(domain, null);
        return meta;
      }
      if (!(await isDirectory(domainDir(this.root, domain)))) throw noDomain(domain);
      throw missingDomainMeta(file, domain);
    } catch (err) {
      if (err instanceof MetaFileError) this.noteDomainProblem(domain, domainProblem(err));
      throw err;
    }
  }

  /** Remembers what the domain's state file was last found to be, and announces a change of it. */
  private noteDomainProblem(domain: string, problem: string | null): void {
    if ((this.domainProblems.get(domain) ?? null) === problem) return;
    if (problem === null) this.domainProblems.delete(domain);
    else this.domainProblems.set(domain, problem);
    this.emit({ type: 'stateProblem', target: domain, kind: 'domain', problem });
  }

  /**
   * The mailbox's state. When the mailbox does not exist: null if asked
   * (`missingIsNull`), else NOT_FOUND. A mailbox folder without its file, or
   * a damaged file, is a STORE_ERROR naming the file.
   */
  private async readMailboxMetaStrict(a: Address, opts: { missingIsNull: boolean }): Promise<MailboxMeta | null> {
    const file = mailboxMetaFile(this.root, a);
    const mark = this.index.quietMark(a.domain, a.mailbox);
    let meta: MailboxMeta | null;
    try {
      meta = await readMailboxMeta(file, a.address);
      if (!meta && (await isDirectory(mailboxDir(this.root, a)))) throw missingMailboxMeta(file, a.address);
    } catch (err) {
      if (err instanceof MetaFileError) this.noteMailboxState(a, mark, { problem: mailboxProblem(err) });
      throw err;
    }
    if (meta) {
      this.noteMailboxState(a, mark, { lock: meta.lock });
      return meta;
    }
    if (opts.missingIsNull) return null;
    throw noMailbox(a);
  }

  /**
   * Keeps the index's view of a mailbox's state file in step with a read of
   * it (found damaged by a log-in, or put back by hand), and announces the
   * change, unless a change of that mailbox overlapped the read.
   */
  private noteMailboxState(a: Address, mark: number | null, found: { problem: string } | { lock: LockInfo | null }): void {
    const e = this.index.domains.get(a.domain)?.entries.get(a.mailbox);
    if (!e || mark === null || this.index.quietMark(a.domain, a.mailbox) !== mark) return;
    const problem = 'problem' in found ? found.problem : null;
    if ((e.broken ? (e.problem ?? '') : null) === problem) return;
    if ('problem' in found) {
      e.broken = true;
      e.problem = found.problem;
      e.lock = null;
    } else {
      e.broken = false;
      delete e.problem;
      e.lock = found.lock;
    }
    this.emit({ type: 'stateProblem', target: a.address, kind: 'mailbox', problem });
    if (this.snapshots.mayHold(a.domain)) this.scheduleHeldWrite(a.domain);
  }

  /** Keeps the index's copy of a lock in step with what was just read from disk. */
  private noteLock(a: Address, lock: LockInfo | null): void {
    const e = this.index.domains.get(a.domain)?.entries.get(a.mailbox);
    if (e && !e.broken) e.lock = lock;
  }

  /** Renames a fully built folder into place; an existing target becomes `exists()`. */
  private async renameIntoPlace(staging: string, target: string, exists: () => AdminError): Promise<void> {
    if (this.fsync) await fsyncDir(staging);
    try {
      await fsp.rename(staging, target);
    } catch (err) {
      if (isCode(err, 'EEXIST', 'ENOTEMPTY') || (isCode(err, 'EPERM', 'EACCES') && (await pathExists(target)))) throw exists();
      throw err;
    }
    if (this.fsync) await fsyncDir(path.dirname(target));
  }

  /** Takes a folder out of view with one rename, then removes it; a crash leaves it only in the trash. */
  private async moveToTrash(dir: string, parent: string): Promise<void> {
    const trash = trashDir(this.root);
    // Not recursive: making the trash must never make a mail root that has gone missing.
    await mkdirIfMissing(path.dirname(trash));
    await mkdirIfMissing(trash);
    const target = path.join(trash, randomHex(8));
    await fsp.rename(dir, target);
    if (this.fsync) await fsyncDir(parent);
    try {
      await fsp.rm(target, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      this.log.warn('Could not remove a deleted folder from the trash; it is removed at the next start', { path: target, error: (err as Error).message });
    }
  }
}

/** A copy of a multi-recipient delivery, written to tmp/ and not yet visible. */
interface PreparedCopy {
  readonly a: Address;
  readonly dir: string;
  readonly received: ReceivedMessage;
  /** Where it goes in new/. */
  readonly target: string;
}

/** Adds (+1) or takes back (-1) one delivered copy in its mailbox's index entry. */
function countCopy(d: DomainIndex, p: PreparedCopy, sign: 1 | -1): void {
  const e = d.entries.get(p.a.mailbox);
  if (!e) return;
  e.messages += sign;
  e.bytes += sign * p.received.diskSize;
}

/** One POP3 session's snapshot of a mailbox. */
class FileMaildrop implements Maildrop {
  constructor(
    private readonly store: FileMailStore,
    private readonly a: Address,
    private readonly dir: string,
    readonly messages: readonly StoredMessage[],
    private readonly byFile: ReadonlyMap<string, MessageFile>,
  ) {}

  get address(): string {
    return this.a.address;
  }

  openMessage(message: StoredMessage): Readable {
    const f = this.byFile.get(message.file);
    if (!f) throw new Error(`"${message.file}" is not a message of ${this.a.address}.`);
    // Larger reads mean fewer thread-pool round trips per message; memory stays bounded by backpressure.
    return createReadStream(path.join(this.dir, f.file), { highWaterMark: 256 * 1024 });
  }

  async expunge(messages: readonly StoredMessage[]): Promise<void> {
    const files = new Map<string, MessageFile>();
    for (const m of messages) {
      const f = this.byFile.get(m.file);
      if (!f) throw new Error(`"${m.file}" is not a message of ${this.a.address}.`);
      files.set(f.file, f);
    }
    await this.store.expunge(this.a, this.dir, [...files.values()]);
  }
}

/** A domain's lock as a listing gives it, and its `problem` when its state file cannot be used. */
interface DomainState {
  readonly lock: LockInfo | null;
  readonly problem?: string;
}

function summary(mailbox: string, domain: string, e: MailboxEntry, d: DomainState): MailboxSummary {
  const row: MailboxSummary = {
    name: mailbox,
    domain,
    address: `${mailbox}@${domain}`,
    messages: e.messages,
    bytes: e.bytes,
    lock: e.lock,
    domainLocked: d.lock !== null,
    locked: isLocked(d.lock, e.lock),
  };
  // The optional fields only where they have a value: most rows of a big listing have neither.
  if (!e.broken && d.problem === undefined) return row;
  const address = row.address;
  return {
    ...row,
    ...(e.broken ? { problem: e.problem ?? `The state file of ${address} is missing or damaged. Set a new password with \`winpop changepwd ${address}\`.` } : {}),
    ...(d.problem === undefined ? {} : { domainProblem: d.problem }),
  };
}

/** The outcome of a lock change, after the caller's effect ran inside the same step. */
function decided(before: LockInfo | null, after: LockInfo | null, changed: boolean, serial: number, effect?: (update: LockUpdate) => void): LockUpdate {
  const update: LockUpdate = { before, after, changed, serial };
  effect?.(update);
  return update;
}

function checkPassword(password: string): void {
  if (typeof password !== 'string' || password.length === 0) {
    throw new AdminError('INVALID_ARGUMENT', 'The password cannot be empty.');
  }
  if (password.includes('\0')) throw new AdminError('INVALID_ARGUMENT', 'The password cannot contain a NUL character.');
}

async function mkdirIfMissing(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if (!isCode(err, 'EEXIST')) throw err;
  }
}

async function pathExists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (err) {
    if (isCode(err, 'ENOENT')) return false;
    throw err;
  }
}
