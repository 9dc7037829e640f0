/**
 * The open sessions' maildrops, followed by polling their state files, so
 * that a lock or a password change written by another process (another
 * service on the same store, on this machine or another one) closes them.
 *
 * A network file system tells no one of a change made elsewhere, and the
 * admin layer of one process only closes its own sessions; so every
 * POLL_MS each mailbox with an open session here has its state file read
 * (and its domain's, once per domain): one small read each, nothing when no
 * session is open. A session closes when its mailbox or domain is locked,
 * when the mailbox's password hash is no longer the one it logged in under,
 * when the mailbox or domain is gone, or when its maildrop lock file is no
 * longer its own. The same tick renews the maildrop locks' leases.
 *
 * A state file that cannot be read or is damaged closes nothing: log-in
 * fails closed on it, and an open session is left as it was.
 */

import { isLocked } from '../../../shared/lock-rule.js';
import type { Address } from '../../../shared/names.js';
import type { Logger } from '../log.js';
import { forEachLimit } from './fs-util.js';
import { domainMetaFile, mailboxMetaFile } from './layout.js';
import type { MaildropLock } from './maildrop-lock.js';
import { readDomainMeta, readMailboxMeta } from './meta.js';
import type { MaildropRevoked } from './types.js';

/** How often the state of open maildrops is read: a change elsewhere closes them within about this long. */
export const POLL_MS = 250;
/** Reads at once in one tick. */
const READS_AT_ONCE = 8;

/** One session's maildrop as followed. */
export interface Followed {
  readonly a: Address;
  /** The password hash it was opened under; null when not known (no state file then). */
  readonly passwordHash: string | null;
  readonly lock: MaildropLock;
  /** Called at most once. */
  revoke(revoked: MaildropRevoked): void;
}

type DomainState = { locked: boolean; exists: boolean } | null;

export class MaildropWatch {
  private readonly followed = new Set<Followed>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;

  constructor(
    private readonly root: string,
    private readonly log: Logger,
    /**
     * This process's per-key mutex (StoreCore.serialized): a state file is
     * read under it, so a lock this process is making is seen only once that
     * step has closed its sessions itself (and counted them in its result).
     */
    private readonly serialized: <T>(key: string, fn: () => Promise<T>) => Promise<T>,
  ) {}

  add(f: Followed): void {
    this.followed.add(f);
    this.schedule();
  }

  delete(f: Followed): void {
    this.followed.delete(f);
  }

  /** Stops polling; the store is closing. */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.followed.clear();
  }

  private schedule(): void {
    if (this.timer !== null || this.ticking || this.followed.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, POLL_MS);
    // A session's socket keeps the process alive; this poll alone never does.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.ticking = true;
    try {
      const byAddress = new Map<string, Followed[]>();
      for (const f of this.followed) {
        const list = byAddress.get(f.a.address);
        if (list) list.push(f);
        else byAddress.set(f.a.address, [f]);
      }
      const domains = new Map<string, Promise<DomainState>>();
      const domainState = (domain: string): Promise<DomainState> => {
        let state = domains.get(domain);
        if (!state) {
          state = this.serialized(`domain:${domain}`, () => readDomainMeta(domainMetaFile(this.root, domain), domain)).then(
            (meta) => ({ locked: meta !== null && isLocked(meta.lock, null), exists: meta !== null }),
            () => null,
          );
          domains.set(domain, state);
        }
        return state;
      };
      await forEachLimit([...byAddress.values()], READS_AT_ONCE, async (list) => {
        const { a } = list[0] as Followed;
        await this.check(a, list, await domainState(a.domain));
      });
    } catch (err) {
      this.log.warn('the check of open maildrops failed; tried again shortly', { error: err instanceof Error ? err.message : String(err) });
    } finally {
      this.ticking = false;
      this.schedule();
    }
  }

  private async check(a: Address, list: readonly Followed[], domain: DomainState): Promise<void> {
    let meta;
    try {
      meta = await this.serialized(a.address, () => readMailboxMeta(mailboxMetaFile(this.root, a), a.address));
    } catch {
      meta = undefined; // unreadable or damaged: decides nothing
    }
    for (const f of list) {
      if (!this.followed.has(f)) continue;
      let revoked: MaildropRevoked | null = null;
      if (domain?.exists === false) revoked = { why: 'deleted', reason: `domain ${a.domain} deleted` };
      else if (meta === null) revoked = { why: 'deleted', reason: `mailbox ${a.address} deleted` };
      else if (domain?.locked === true || (meta !== undefined && isLocked(null, meta.lock))) revoked = { why: 'locked', reason: 'locked by the administrator' };
      else if (meta !== undefined && f.passwordHash !== null && meta.password !== f.passwordHash) revoked = { why: 'password-changed', reason: 'password changed' };
      else if (f.lock.renewDue && (await f.lock.renew()) === 'lost') revoked = { why: 'lock-lost', reason: `maildrop lock ${f.lock.file} lost` };
      if (revoked !== null) {
        this.followed.delete(f);
        f.revoke(revoked);
      }
    }
  }
}
