/**
 * What listings show (domains with their totals, a domain's mailboxes, one
 * mailbox) and the listing snapshots that keep them fast.
 *
 * Listings are answered from the in-memory index. A domain folder is read
 * again when its modification time changes (mailboxes added or removed by
 * another process); a lazy store's first look at a domain takes its
 * snapshot when that can be trusted, or scans it once and writes one. A
 * service holds its domains' snapshots and writes them from memory some
 * seconds after its changes stop, and when it closes (listing-snapshot.ts
 * has the protocol).
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { DomainSummary, MailboxSummary } from '../../../../shared/contract.js';
import { AdminError } from '../../../../shared/errors.js';
import { normalizeDomain, parseAddress, type Address } from '../../../../shared/names.js';
import { forEachLimit, isCode, isDirectory } from '../fs-util.js';
import { domainDir, mailboxDir } from '../layout.js';
import { scanDomainSync, isMailboxName } from '../listing-scan.js';
import { encodeSnapshot, encodeSnapshotInSlices, SNAPSHOT_MIN_MAILBOXES, stampTooFresh } from '../listing-snapshot.js';
import type { DomainIndex } from '../mailbox-index.js';
import { scanMailbox } from '../mailbox-sync.js';
import { checkMailboxes, rescan } from '../outside-changes.js';
import { cleanLeftover } from '../recovery.js';
import { domainStateForListing, mailboxSummary, readMailboxMetaStrict } from '../state-reads.js';
import { noDomain, noMailbox, type StoreCore } from '../store-core.js';

/** How many mailboxes are scanned at once when a domain's index is built. */
const SCAN_PARALLEL = 64;
/**
 * Mailboxes up to which a listing checks every mailbox's folder stamps
 * before it answers, whoever asks. A console's table of a bigger domain is
 * answered first and checked right after (about 0.5 s for 100,000
 * mailboxes); winpop's listings always check first.
 */
const CHECK_BEFORE_MAX = 5_000;
/** A held domain's snapshot is written this long after its last change (and at close). */
const HELD_WRITE_DELAY_MS = 5_000;
/** …and never more than this fraction of the time goes into writing it. */
const HELD_WRITE_SHARE = 0.02;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Listing {
  /** Pending writes of held domains' snapshots. */
  private readonly heldTimers = new Map<string, NodeJS.Timeout>();
  /** Checks running after a listing went out, by domain; `again` when another listing came meanwhile. */
  private readonly afterChecks = new Map<string, { again: boolean; done: Promise<void> }>();
  private lastHeldWriteMs = 0;
  private closed = false;

  constructor(private readonly core: StoreCore) {
    core.onHeldDomainChange((domain) => this.scheduleHeldWrite(domain));
  }

  async listDomains(): Promise<DomainSummary[]> {
    // An empty folder made where the store was would list as "no domains": check it is still the store.
    await this.core.throwIfRootGone();
    return this.core.guard(this.core.root, () => this.listDomainsNow());
  }

  private async listDomainsNow(): Promise<DomainSummary[]> {
    const out: DomainSummary[] = [];
    for (const name of await this.core.domainFolderNames()) {
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
    return this.core.guard(domainDir(this.core.root, name), () => this.domainSummary(name));
  }

  async listMailboxes(domain: string, options: { checkAfter?: boolean } = {}): Promise<MailboxSummary[]> {
    const name = normalizeDomain(domain);
    return this.core.guard(domainDir(this.core.root, name), () => this.listMailboxesOf(name, options.checkAfter === true));
  }

  private async listMailboxesOf(name: string, checkAfter: boolean): Promise<MailboxSummary[]> {
    const d = await this.domainIndex(name, checkAfter ? 'after' : 'before');
    const state = await domainStateForListing(this.core, name);
    const out: MailboxSummary[] = [];
    for (const mailbox of [...d.names].sort()) {
      const e = d.entries.get(mailbox);
      if (e) out.push(mailboxSummary(mailbox, name, e, state));
    }
    return out;
  }

  async getMailbox(address: string): Promise<MailboxSummary> {
    const a = parseAddress(address);
    return this.core.guard(mailboxDir(this.core.root, a), () => this.mailboxSummaryOf(a));
  }

  private async mailboxSummaryOf(a: Address): Promise<MailboxSummary> {
    const { core } = this;
    if (!(await isDirectory(mailboxDir(core.root, a)))) throw noMailbox(a);
    // A fresh scan: cheap for one mailbox, and it corrects the index (and says so) if another program changed the Maildir.
    const entry = await rescan(core, a);
    if (!entry) throw noMailbox(a);
    if (entry.broken) await readMailboxMetaStrict(core, a, { missingIsNull: false });
    return mailboxSummary(a.mailbox, a.domain, entry, await domainStateForListing(core, a.domain));
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
    const state = await domainStateForListing(this.core, domain);
    return { name: domain, mailboxes, messages, bytes, lock: state.lock, ...(state.problem === undefined ? {} : { problem: state.problem }) };
  }

  // --- the domain index -------------------------------------------------------------------------

  /**
   * The domain's index with every mailbox loaded and as on disk. The folder
   * is read again only when its modification time changed (a mailbox added
   * or removed by anyone); message counts come from the index, after a
   * check of each mailbox's folder stamps for mail other programs put there
   * (outside-changes.ts).
   */
  private async domainIndex(domain: string, check: 'before' | 'after' = 'before'): Promise<DomainIndex> {
    const { core } = this;
    const started = performance.now();
    const dir = domainDir(core.root, domain);
    let stamp: bigint;
    try {
      const st = await fsp.lstat(dir, { bigint: true });
      if (!st.isDirectory()) throw noDomain(domain);
      stamp = st.mtimeNs;
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) {
        core.index.domains.delete(domain);
        throw noDomain(domain);
      }
      throw err;
    }
    const d = core.index.domain(domain);
    if (core.recovery.lazy && d.stamp === null) {
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
      await core.index.load(domain, mailbox, () => scanMailbox(core, a, { known: true }));
    });
    if (check === 'after' && d.names.size > CHECK_BEFORE_MAX) this.checkAfter(domain, d, started);
    else await checkMailboxes(core, domain, d, { readSince: started });
    return d;
  }

  /**
   * Checks a big domain right after its listing went out (a console's
   * table: what changed is announced, and the view patches it in). One
   * check per domain at a time; a listing while one runs gets one more
   * after it, which starts after that listing did.
   */
  private checkAfter(domain: string, d: DomainIndex, since: number): void {
    const { core } = this;
    const running = this.afterChecks.get(domain);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false, done: Promise.resolve() };
    this.afterChecks.set(domain, state);
    state.done = (async () => {
      try {
        let readSince = since;
        do {
          state.again = false;
          const started = performance.now();
          await core.guard(domainDir(core.root, domain), () => checkMailboxes(core, domain, d, { readSince }));
          readSince = started;
        } while (state.again && !this.closed);
      } catch (err) {
        core.log.warn('Could not check a domain for mail other programs delivered', { domain, error: (err as Error).message });
      } finally {
        this.afterChecks.delete(domain);
      }
    })();
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
    const { core } = this;
    const dir = domainDir(core.root, domain);
    for (;;) {
      while (core.index.inFlightIn(domain) > 0) await pause(2);
      const started = core.index.startedIn(domain);
      const folder = await fsp.lstat(dir, { bigint: true });
      const snapshot = await core.snapshots.read(domain, folder);
      if (snapshot) {
        // A change of this process meanwhile may be in the snapshot or not: read again.
        if (core.index.startedIn(domain) !== started || core.index.inFlightIn(domain) > 0) continue;
        d.names = new Set(snapshot.names);
        d.entries = snapshot.entries;
        d.stamp = folder.mtimeNs;
        for (const e of snapshot.entries.values()) if (e.problem) core.log.warn(e.problem);
        return;
      }
      const ticket = await core.snapshots.startScan(domain);
      const before = await fsp.lstat(dir, { bigint: true });
      const readAt = Date.now();
      // The scan below runs without yielding: no change of ours may be half-applied while it reads.
      if (core.index.inFlightIn(domain) > 0) continue;
      const scan = scanDomainSync(core.root, domain, core.log);
      d.names = new Set(scan.names);
      d.entries = scan.entries;
      d.stamp = before.mtimeNs;
      d.stampReadAt = readAt;
      const needRecovery = new Set(scan.needRecovery);
      for (const mailbox of scan.names) if (!needRecovery.has(mailbox)) core.recovery.done.add(`${mailbox}@${domain}`);
      const report = { trashRemoved: 0, stagingRemoved: 0, tmpRemoved: 0, expungesCompleted: 0 };
      for (const name of scan.leftovers) await cleanLeftover(dir, name, core.log, report);
      await forEachLimit(scan.needRecovery, SCAN_PARALLEL, async (mailbox) => {
        const a: Address = { domain, mailbox, address: `${mailbox}@${domain}` };
        await core.index.load(domain, mailbox, () => scanMailbox(core, a, { known: true }));
      });
      if (ticket && d.names.size >= SNAPSHOT_MIN_MAILBOXES && !stampTooFresh(before.mtimeNs, readAt)) {
        const names = [...d.names].sort();
        if (names.every((n) => d.entries.has(n))) {
          await core.snapshots.finishScan(ticket, encodeSnapshot(domain, before, names, d.entries)).catch((err: unknown) => {
            core.log.warn('Could not finish writing a listing snapshot', { domain, error: (err as Error).message });
          });
        }
      }
      return;
    }
  }

  private async readDomainFolder(domain: string, d: DomainIndex, stamp: bigint): Promise<void> {
    const dir = domainDir(this.core.root, domain);
    const found = new Set<string>();
    const readAt = Date.now();
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory() && isMailboxName(entry.name)) found.add(entry.name);
      else this.core.log.debug('Skipping an entry that is not a mailbox', { domain, name: entry.name });
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

  // --- held snapshots (a service's) -------------------------------------------------------------

  /**
   * After the walk at open: a start rewrites every big domain's snapshot, so
   * mail other programs put in a Maildir shows up after a restart. Small
   * domains are let go: they are scanned in no time, and holding costs a
   * look at `held` per change.
   */
  async writeHeldAfterWalk(): Promise<void> {
    const { core } = this;
    for (const domain of core.snapshots.heldDomains()) {
      if ((core.index.domains.get(domain)?.names.size ?? 0) < SNAPSHOT_MIN_MAILBOXES) await core.snapshots.release(domain);
      else await this.writeHeldSnapshot(domain);
    }
  }

  /** Writes what this store knows of the domains it holds, and lets go of them. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.afterChecks.values()].map((c) => c.done));
    const pending = [...this.heldTimers.keys()];
    for (const timer of this.heldTimers.values()) clearTimeout(timer);
    this.heldTimers.clear();
    for (const domain of pending) await this.writeHeldSnapshot(domain);
    for (const domain of this.core.snapshots.heldDomains()) await this.core.snapshots.release(domain);
    this.core.snapshots.removeIdleMarks();
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
    const { core } = this;
    const t0 = performance.now();
    try {
      // Until the service's background recovery has indexed every mailbox, building the index here would scan the rest at once.
      if (core.index.inFlightIn(domain) > 0 || !core.recovery.all) return this.scheduleHeldWrite(domain);
      const d = await this.domainIndex(domain);
      if (d.names.size < SNAPSHOT_MIN_MAILBOXES || !(await core.snapshots.holds(domain))) return;
      const started = core.index.startedIn(domain);
      const folder = await fsp.lstat(domainDir(core.root, domain), { bigint: true });
      const names = [...d.names].sort();
      const exact = (): boolean => core.index.startedIn(domain) === started && core.index.inFlightIn(domain) === 0;
      if (folder.mtimeNs !== d.stamp || !exact() || !names.every((n) => d.entries.has(n))) return this.scheduleHeldWrite(domain);
      if (stampTooFresh(folder.mtimeNs, d.stampReadAt)) {
        d.stamp = -1n; // read the folder again next time, now that its clock has moved on
        return this.scheduleHeldWrite(domain);
      }
      const content = await encodeSnapshotInSlices(domain, folder, names, d.entries);
      if (!exact()) return this.scheduleHeldWrite(domain);
      await core.snapshots.installHeld(domain, content, exact);
      this.lastHeldWriteMs = performance.now() - t0;
    } catch (err) {
      if (err instanceof AdminError && err.code === 'NOT_FOUND') return; // the domain was deleted meanwhile
      core.log.warn('Could not write a listing snapshot', { domain, error: (err as Error).message });
    }
  }
}
