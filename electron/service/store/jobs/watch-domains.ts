/**
 * The domains a console shows, followed for mail other programs put into
 * their mailboxes, so that the open view updates by itself.
 *
 * Each followed domain's mailboxes have their new/ and cur/ watched
 * (fs.watch: inotify, FSEvents, ReadDirectoryChangesW), the first
 * WATCHED_MAILBOXES of them in name order: a watch costs the kernel and this
 * process a little memory and setting one up takes tens of microseconds, so
 * a domain of 100,000 mailboxes is never watched whole. What a watch reports
 * is checked shortly after (outside-changes.ts: stamps, then the mailbox
 * read again and the change announced). The mailboxes not watched are
 * checked by their stamps every POLL_MS, POLL_BATCH at a time, and so is
 * everything where watching is not possible (no watch could be set up, or
 * the mail root is on a network file system, whose changes made on other
 * machines no watch reports). Watched mailboxes are checked that way too,
 * more slowly, in case the kernel dropped events (its queue overflows
 * silently).
 *
 * Listings do not depend on any of this: each checks the stamps itself.
 */

import fs from 'node:fs';
import path from 'node:path';
import { domainDir, mailboxDir } from '../layout.js';
import { isMailboxName } from '../listing-scan.js';
import { onNetworkFileSystem } from '../network-fs.js';
import { checkMailboxes } from '../outside-changes.js';
import type { StoreCore } from '../store-core.js';

/** Mailboxes of all followed domains whose folders are watched. */
const WATCHED_MAILBOXES = 2_000;
/** How often the mailboxes not watched are checked, and how many at a time. */
const POLL_MS = 2_000;
const POLL_BATCH = 2_000;
/** Watched mailboxes checked per poll, in case events were lost. */
const SWEEP_BATCH = 100;
/** How long a reported change waits for more before the check: a burst of deliveries is read once. */
const SETTLE_MS = 150;
/** Synchronous watch set-up between two turns of the event loop. */
const SLICE_MS = 8;


interface Followed {
  readonly domain: string;
  /** Mailbox names as last read from the domain folder, in order. */
  names: string[];
  /** The domain folder's mtime when `names` was read. */
  folderMs: number;
  readonly watchers: Map<string, fs.FSWatcher[]>;
  /** Where the next poll goes on, among the mailboxes not watched and among those watched. */
  pollAt: number;
  sweepAt: number;
}

export class DomainWatch {
  private readonly followed = new Map<string, Followed>();
  /** Mailboxes a watch reported, by domain, waiting for their check. */
  private readonly reported = new Map<string, Set<string>>();
  private watching = 0;
  /** Set when a watch could not be set up: the rest is polled. */
  private watchFailed = false;
  private readonly canWatch: boolean;
  private pollTimer: NodeJS.Timeout | null = null;
  private settleTimer: NodeJS.Timeout | null = null;
  /** The work in progress (a poll, a check, a change of what is followed); one at a time. */
  private busy: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly core: StoreCore,
    options: { watch?: boolean } = {},
  ) {
    this.canWatch = options.watch !== false && !onNetworkFileSystem(core.root);
  }

  /** Follows exactly these domains from now on (none: stops). */
  follow(domains: readonly string[]): void {
    if (this.closed) return;
    const wanted = new Set(domains);
    this.queue(async () => {
      for (const domain of [...this.followed.keys()]) if (!wanted.has(domain)) this.unfollow(domain);
      for (const domain of wanted) if (!this.followed.has(domain)) await this.start(domain);
      if (this.followed.size > 0) this.pollTimer ??= this.every(POLL_MS, () => this.queue(() => this.poll()));
      else this.stopPolling();
    });
  }

  /** Stops following anything, and waits for the work in progress. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopPolling();
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    for (const domain of [...this.followed.keys()]) this.unfollow(domain);
    await this.busy;
  }

  private queue(work: () => Promise<void>): void {
    this.busy = this.busy
      .then(() => (this.closed ? undefined : work()))
      .catch((err: unknown) => {
        this.core.log.warn('Following a domain for mail other programs deliver failed; listings still show it', { error: (err as Error).message });
      });
  }

  private every(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setInterval(fn, ms);
    timer.unref();
    return timer;
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  private async start(domain: string): Promise<void> {
    const f: Followed = { domain, names: [], folderMs: -1, watchers: new Map(), pollAt: 0, sweepAt: 0 };
    this.followed.set(domain, f);
    await this.readNames(f);
  }

  private unfollow(domain: string): void {
    const f = this.followed.get(domain);
    if (!f) return;
    for (const mailbox of [...f.watchers.keys()]) this.unwatch(f, mailbox);
    this.followed.delete(domain);
    this.reported.delete(domain);
  }

  /** Reads the domain's mailbox names when its folder changed, and watches what the budget allows. */
  private async readNames(f: Followed): Promise<void> {
    const dir = domainDir(this.core.root, f.domain);
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (!st?.isDirectory()) {
      this.unfollow(f.domain); // deleted: a console that shows it again follows it again
      return;
    }
    if (st.mtimeMs === f.folderMs) return;
    f.folderMs = st.mtimeMs;
    f.names = fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && isMailboxName(e.name))
      .map((e) => e.name)
      .sort();
    const present = new Set(f.names);
    for (const mailbox of [...f.watchers.keys()]) if (!present.has(mailbox)) this.unwatch(f, mailbox);
    if (!this.canWatch || this.watchFailed) return;
    let sliceStart = performance.now();
    for (const mailbox of f.names) {
      if (this.watching >= WATCHED_MAILBOXES || this.watchFailed || this.closed || !this.followed.has(f.domain)) break;
      if (!f.watchers.has(mailbox)) this.watch(f, mailbox);
      if (performance.now() - sliceStart >= SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
  }

  private watch(f: Followed, mailbox: string): void {
    const dir = mailboxDir(this.core.root, { domain: f.domain, mailbox });
    const watchers: fs.FSWatcher[] = [];
    try {
      for (const sub of ['new', 'cur']) {
        const w = fs.watch(path.join(dir, sub), { persistent: false }, () => this.report(f.domain, mailbox));
        w.on('error', () => this.unwatch(f, mailbox));
        watchers.push(w);
      }
    } catch (err) {
      for (const w of watchers) w.close();
      const code = (err as NodeJS.ErrnoException).code;
      // A mailbox folder without new/ or cur/ is polled; anything else (the kernel's limit on watches) stops watching.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        this.watchFailed = true;
        this.core.log.warn('Could not watch mailbox folders; mail other programs deliver is noticed by polling', { mailbox: dir, error: (err as Error).message });
      }
      return;
    }
    f.watchers.set(mailbox, watchers);
    this.watching += 1;
  }

  private unwatch(f: Followed, mailbox: string): void {
    const watchers = f.watchers.get(mailbox);
    if (!watchers) return;
    for (const w of watchers) w.close();
    f.watchers.delete(mailbox);
    this.watching -= 1;
  }

  private report(domain: string, mailbox: string): void {
    if (this.closed) return;
    let set = this.reported.get(domain);
    if (!set) this.reported.set(domain, (set = new Set()));
    set.add(mailbox);
    if (this.settleTimer) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      this.queue(() => this.checkReported());
    }, SETTLE_MS);
    this.settleTimer.unref();
  }

  private async checkReported(): Promise<void> {
    const reported = [...this.reported];
    this.reported.clear();
    for (const [domain, names] of reported) await this.check(domain, names);
  }

  /** One poll: names of changed domain folders again, then the next batch of mailboxes not watched, and a few watched ones. */
  private async poll(): Promise<void> {
    for (const f of [...this.followed.values()]) {
      await this.readNames(f);
      if (!this.followed.has(f.domain)) continue;
      const polled = f.names.filter((n) => !f.watchers.has(n));
      const watched = f.names.filter((n) => f.watchers.has(n));
      const batch = take(polled, f.pollAt, POLL_BATCH);
      f.pollAt = batch.next;
      const sweep = take(watched, f.sweepAt, SWEEP_BATCH);
      f.sweepAt = sweep.next;
      await this.check(f.domain, [...batch.names, ...sweep.names]);
    }
  }

  /** Checks mailboxes whose index entries are loaded (a listing loaded the domain); the others have nothing to correct. */
  private async check(domain: string, names: Iterable<string>): Promise<void> {
    const d = this.core.index.domains.get(domain);
    if (!d || this.closed) return;
    await this.core.guard(domainDir(this.core.root, domain), () => checkMailboxes(this.core, domain, d, { names }));
  }
}

/** `count` items from `at`, wrapping around; and where the next batch starts. */
function take(items: readonly string[], at: number, count: number): { names: string[]; next: number } {
  if (items.length === 0) return { names: [], next: 0 };
  const start = at % items.length;
  const names = items.slice(start, start + count);
  if (names.length < count && start > 0) names.push(...items.slice(0, Math.min(start, count - names.length)));
  return { names, next: (start + names.length) % items.length };
}
