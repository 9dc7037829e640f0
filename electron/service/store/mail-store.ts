/**
 * The file-system mail store: domains and mailboxes as folders, each mailbox
 * a Maildir, state in small JSON files, all changes made visible by renames.
 *
 * This class only puts the store together: one core (store-core.ts, with
 * state-reads.ts and mailbox-sync.ts) and one module per job on top of it
 * (jobs/), none of which uses another:
 *
 *   jobs/open-recovery.ts    crash recovery at open: full, lazy, or in the background
 *   jobs/login-check.ts      POP3 log-in: password and locks
 *   jobs/maildrop.ts         a session's maildrop snapshot and its expunge
 *   jobs/deliver-mail.ts     delivery, one copy or several all or nothing
 *   jobs/directory-admin.ts  domains and mailboxes added and deleted, passwords
 *   jobs/listing.ts          listings, the domain index, listing snapshots
 *   jobs/lock-changes.ts     lock and unlock as one step
 *   jobs/watch-domains.ts    the domains a console shows, followed for mail other programs deliver
 *
 * Every public method checks its names with shared/names.ts before it builds
 * a path. Lock state is always read from disk where a decision depends on it
 * (log-in), so a lock written by any process takes effect at once.
 */

import type { Readable } from 'node:stream';
import type { DomainSummary, LockInfo, MailboxSummary } from '../../../shared/contract.js';
import type { PasswordAuthority } from '../auth/password-authority.js';
import { DirectoryAdmin } from './jobs/directory-admin.js';
import { Listing } from './jobs/listing.js';
import { LockChanges } from './jobs/lock-changes.js';
import { LoginChecks } from './jobs/login-check.js';
import { MailDelivery } from './jobs/deliver-mail.js';
import { Maildrops } from './jobs/maildrop.js';
import { recoverAtOpen, sweepInBackground, takeOverStore } from './jobs/open-recovery.js';
import { DomainWatch } from './jobs/watch-domains.js';
import type { CheckOptions } from './passwords.js';
import type { RecoveryReport } from './recovery.js';
import { StoreCore, type StoreOptions } from './store-core.js';
import type { DeliveryCopy, DeliveryResult, LockTarget, LockUpdate, LoginCheck, Maildrop, MailStore, OpenMaildropOptions, StoreChange } from './types.js';

export class FileMailStore implements MailStore {
  private readonly core: StoreCore;
  private readonly login: LoginChecks;
  private readonly maildrops: Maildrops;
  private readonly delivery: MailDelivery;
  private readonly directory: DirectoryAdmin;
  private readonly listing: Listing;
  private readonly locks: LockChanges;
  /** The background recovery sweep, while it runs. */
  private sweep: Promise<void> = Promise.resolve();
  private readonly watch: DomainWatch;

  constructor(
    readonly root: string,
    options: StoreOptions & { readonly watchFolders?: boolean },
  ) {
    this.core = new StoreCore(root, options);
    this.login = new LoginChecks(this.core);
    this.maildrops = new Maildrops(this.core);
    this.delivery = new MailDelivery(this.core);
    this.directory = new DirectoryAdmin(this.core);
    this.listing = new Listing(this.core);
    this.locks = new LockChanges(this.core);
    this.watch = new DomainWatch(this.core, { watch: options.watchFolders ?? true });
  }

  /**
   * Crash recovery, once, before the store is used. A full recovery's walk
   * builds the index of every domain, and then the snapshots of the big
   * domains are written; `lazy` recovers only store-wide state now and each
   * mailbox when first used: for one-shot commands on a big store.
   * `background` (the service) recovers each mailbox when first used and
   * starts a sweep that recovers and indexes all of them, then writes the
   * snapshots as a full recovery does; it resolves at once.
   */
  async recover(mode: 'full' | 'lazy' | 'background' = 'full'): Promise<RecoveryReport> {
    if (mode === 'background') {
      takeOverStore(this.core);
      this.sweep = sweepInBackground(this.core, () => this.listing.writeHeldAfterWalk());
      return { ...this.core.recovery.report };
    }
    const report = await recoverAtOpen(this.core, mode);
    if (mode === 'full') await this.listing.writeHeldAfterWalk();
    return report;
  }

  /** Resolves when the background sweep has ended (at once when there is none): for tests and benchmarks. */
  recovered(): Promise<void> {
    return this.sweep;
  }

  /**
   * Stops the background sweep, writes what this store knows of the domains
   * it holds, and lets go of them. Call it when the service stops; the store
   * should not be used after.
   */
  async close(): Promise<void> {
    this.core.recovery.stopping = true;
    await this.sweep;
    await this.watch.close();
    await this.listing.close();
    await this.maildrops.close();
  }

  // --- POP3 -------------------------------------------------------------------------------------

  get passwordFile(): PasswordAuthority {
    return this.login.passwordFile;
  }

  useAuthority(pick: () => PasswordAuthority): void {
    this.login.useAuthority(pick);
  }

  checkLogin(address: string, password: string, options?: CheckOptions): Promise<LoginCheck> {
    return this.login.checkLogin(address, password, options);
  }

  isLocked(address: string): Promise<boolean> {
    return this.login.isLocked(address);
  }

  openMaildrop(address: string, options?: OpenMaildropOptions): Promise<Maildrop> {
    return this.maildrops.openMaildrop(address, options);
  }

  // --- SMTP -------------------------------------------------------------------------------------

  hasMailbox(address: string): Promise<boolean> {
    return this.delivery.hasMailbox(address);
  }

  hasDomain(domain: string): Promise<boolean> {
    return this.delivery.hasDomain(domain);
  }

  deliver(address: string, content: Readable, options: { maxBytes?: number } = {}): Promise<DeliveryResult> {
    return this.delivery.deliver(address, content, options);
  }

  deliverAll(copies: readonly DeliveryCopy[]): Promise<DeliveryResult[]> {
    return this.delivery.deliverAll(copies);
  }

  // --- admin: reading ---------------------------------------------------------------------------

  listDomains(): Promise<DomainSummary[]> {
    return this.listing.listDomains();
  }

  getDomain(domain: string): Promise<DomainSummary> {
    return this.listing.getDomain(domain);
  }

  listMailboxes(domain: string, options?: { checkAfter?: boolean }): Promise<MailboxSummary[]> {
    return this.listing.listMailboxes(domain, options);
  }

  getMailbox(address: string): Promise<MailboxSummary> {
    return this.listing.getMailbox(address);
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    return this.core.onChange(listener);
  }

  followDomains(domains: readonly string[]): void {
    this.watch.follow(domains);
  }

  // --- admin: changing --------------------------------------------------------------------------

  addDomain(domain: string): Promise<DomainSummary> {
    return this.directory.addDomain(domain);
  }

  deleteDomain(domain: string): Promise<void> {
    return this.directory.deleteDomain(domain);
  }

  addMailbox(address: string, password: string | null): Promise<MailboxSummary> {
    return this.directory.addMailbox(address, password);
  }

  deleteMailbox(address: string): Promise<void> {
    return this.directory.deleteMailbox(address);
  }

  setPassword(address: string, password: string): Promise<void> {
    return this.directory.setPassword(address, password);
  }

  changeLock(target: LockTarget, lock: LockInfo | null, effect?: (update: LockUpdate) => void): Promise<LockUpdate> {
    return this.locks.changeLock(target, lock, effect);
  }

  setMailboxLock(address: string, lock: LockInfo | null): Promise<LockInfo | null> {
    return this.locks.setMailboxLock(address, lock);
  }

  setDomainLock(domain: string, lock: LockInfo | null): Promise<LockInfo | null> {
    return this.locks.setDomainLock(domain, lock);
  }
}
