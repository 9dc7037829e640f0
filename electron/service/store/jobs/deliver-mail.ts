/**
 * Mail into mailboxes: whether an address (or its domain) can receive, one
 * copy (`deliver`), and several copies all or nothing (`deliverAll`, in two
 * phases: every copy written and fsynced in its tmp/, then every copy
 * renamed into new/, the renamed ones taken back if one fails). Each rename
 * is a change of its mailbox's index, so listings and snapshots stay honest.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { normalizeDomain, parseAddress, type Address } from '../../../../shared/names.js';
import { fsyncDir } from '../atomic-file.js';
import { isCode, isDirectory, unlinkIfExists } from '../fs-util.js';
import { domainDir, mailboxDir } from '../layout.js';
import type { DomainIndex } from '../mailbox-index.js';
import { countsOf, recoverOnce } from '../mailbox-sync.js';
import { receiveToTmp, type ReceivedMessage } from '../receive-to-tmp.js';
import { noMailbox, type StoreCore } from '../store-core.js';
import { DeliveryIncompleteError, type DeliveryCopy, type DeliveryResult } from '../types.js';

/** A copy written and fsynced into its mailbox's tmp/, not yet visible. */
interface PreparedCopy {
  readonly a: Address;
  readonly dir: string;
  readonly received: ReceivedMessage;
  /** Where it goes in new/. */
  readonly target: string;
}

export class MailDelivery {
  constructor(private readonly core: StoreCore) {}

  async hasMailbox(address: string): Promise<boolean> {
    let a: Address;
    try {
      a = parseAddress(address);
    } catch {
      return false;
    }
    const dir = mailboxDir(this.core.root, a);
    if (await this.core.guard(dir, () => isDirectory(dir))) return true;
    // "No such mailbox" would make SMTP bounce mail for good; a missing store is only temporary.
    await this.core.throwIfRootGone();
    return false;
  }

  async hasDomain(domain: string): Promise<boolean> {
    let name: string;
    try {
      name = normalizeDomain(domain);
    } catch {
      return false;
    }
    const dir = domainDir(this.core.root, name);
    if (await this.core.guard(dir, () => isDirectory(dir))) return true;
    await this.core.throwIfRootGone();
    return false;
  }

  async deliver(address: string, content: Readable, options: { maxBytes?: number } = {}): Promise<DeliveryResult> {
    const a = parseAddress(address);
    return this.core.guard(mailboxDir(this.core.root, a), () => this.deliverTo(a, content, options));
  }

  private async deliverTo(a: Address, content: Readable, options: { maxBytes?: number }): Promise<DeliveryResult> {
    const { core } = this;
    const p = await this.prepareCopy(a, { address: a.address, content: () => content, ...options });
    try {
      await core.index.change(a.domain, a.mailbox, () => fsp.rename(p.received.tmpPath, p.target), (d) => countCopy(d, p, +1));
    } catch (err) {
      await unlinkIfExists(p.received.tmpPath).catch(() => undefined);
      if (isCode(err, 'ENOENT')) throw noMailbox(a);
      throw err;
    }
    if (core.fsync) await fsyncDir(path.dirname(p.target));
    const counts = await countsOf(core, a);
    core.emit({ type: 'mailArrived', address: a.address, messages: counts.messages, bytes: counts.bytes });
    return { address: a.address, size: p.received.diskSize };
  }

  async deliverAll(copies: readonly DeliveryCopy[]): Promise<DeliveryResult[]> {
    const { core } = this;
    const targets = copies.map((copy) => ({ copy, a: parseAddress(copy.address) }));
    // Phase 1: every copy written and fsynced in its tmp/, none visible yet.
    const written: PreparedCopy[] = [];
    try {
      for (const { copy, a } of targets) {
        written.push(await core.guard(mailboxDir(core.root, a), () => this.prepareCopy(a, copy)));
      }
    } catch (err) {
      await this.discardTmp(written);
      throw err;
    }
    // Phase 2: all of them made visible, or (as far as the disk lets us) none.
    await this.commitCopies(written);
    const results: DeliveryResult[] = [];
    for (const p of written) {
      const counts = await countsOf(core, p.a);
      core.emit({ type: 'mailArrived', address: p.a.address, messages: counts.messages, bytes: counts.bytes });
      results.push({ address: p.a.address, size: p.received.diskSize });
    }
    return results;
  }

  /** A copy written and fsynced into its mailbox's tmp/, not yet visible: `deliver`, and phase 1 of deliverAll. */
  private async prepareCopy(a: Address, copy: DeliveryCopy): Promise<PreparedCopy> {
    const dir = mailboxDir(this.core.root, a);
    if (!(await isDirectory(path.join(dir, 'new')))) throw noMailbox(a);
    // The first delivery since the start finds the mailbox recovered, as everything else does.
    await recoverOnce(this.core, a);
    try {
      const received = await receiveToTmp(dir, copy.content(), { fsync: this.core.fsync, ...(copy.maxBytes === undefined ? {} : { maxBytes: copy.maxBytes }) });
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
        this.core.log.warn('Could not remove the temporary file of an undelivered message; recovery removes it later', {
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
    const { core } = this;
    const visible: PreparedCopy[] = [];
    try {
      for (const p of copies) {
        await core.guard(p.dir, async () => {
          try {
            await core.index.change(p.a.domain, p.a.mailbox, () => fsp.rename(p.received.tmpPath, p.target), (d) => countCopy(d, p, +1));
          } catch (err) {
            if (isCode(err, 'ENOENT')) throw noMailbox(p.a);
            throw err;
          }
        });
        visible.push(p);
      }
      if (core.fsync) {
        for (const dir of new Set(copies.map((p) => path.dirname(p.target)))) await core.guard(dir, () => fsyncDir(dir));
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
    const { core } = this;
    const stuck: string[] = [];
    for (const p of copies) {
      try {
        await core.index.change(p.a.domain, p.a.mailbox, () => unlinkIfExists(p.target), (d, removed) => {
          if (removed) countCopy(d, p, -1);
        });
      } catch {
        stuck.push(p.target);
      }
    }
    if (core.fsync) {
      for (const dir of new Set(copies.map((p) => path.dirname(p.target)))) {
        await fsyncDir(dir).catch(() => undefined); // best effort: the unlinks themselves are done
      }
    }
    if (stuck.length > 0) {
      core.log.error('A delivery to several mailboxes failed and some copies could not be taken back: the sender will retry and those mailboxes will get the message twice', {
        files: stuck.join(', '),
        error: cause instanceof Error ? cause.message : String(cause),
      });
    }
    return stuck.length;
  }
}

/** Adds (+1) or takes back (-1) one delivered copy in its mailbox's index entry. */
function countCopy(d: DomainIndex, p: PreparedCopy, sign: 1 | -1): void {
  const e = d.entries.get(p.a.mailbox);
  if (!e) return;
  e.messages += sign;
  e.bytes += sign * p.received.diskSize;
}
