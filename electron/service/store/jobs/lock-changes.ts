/**
 * Locking and unlocking, each one step: the state file is read, the
 * decision made (shared/lock-rule.ts) and the change written while no other
 * change of that target runs, in this process (its mutex, and for a mailbox
 * its domain's first) or in another (its lock file). The caller's `effect`
 * runs inside the same step, so sessions are closed and events announced in
 * the order the changes took effect. Locking or unlocking a domain is also
 * the documented repair of its damaged state file.
 */

import type { LockInfo } from '../../../../shared/contract.js';
import { assertMailboxUnlockable, copyLock, decideLock, nextLockSerial } from '../../../../shared/lock-rule.js';
import { normalizeDomain, parseAddress, type Address } from '../../../../shared/names.js';
import { isDirectory } from '../fs-util.js';
import { domainDir, domainMetaFile, mailboxMetaFile } from '../layout.js';
import { recoverOnce } from '../mailbox-sync.js';
import { META_VERSION, MetaFileError, readDomainMeta, writeDomainMeta, writeMailboxMeta, type DomainMeta, type MailboxMeta } from '../meta.js';
import { noteDomainProblem, noteLock, readDomainMetaStrict, readMailboxMetaStrict } from '../state-reads.js';
import { noDomain, type StoreCore } from '../store-core.js';
import type { LockTarget, LockUpdate } from '../types.js';

export class LockChanges {
  constructor(private readonly core: StoreCore) {}

  async changeLock(target: LockTarget, lock: LockInfo | null, effect?: (update: LockUpdate) => void): Promise<LockUpdate> {
    const { core } = this;
    if ('domain' in target) {
      const name = normalizeDomain(target.domain);
      return core.exclusiveDomain(name, domainMetaFile(core.root, name), async () => {
        const { meta, damaged } = await this.readDomainMetaForChange(name);
        const { after, changed } = decideLock(meta.lock, lock);
        // A damaged or missing file is rewritten even when the state does not change: that is its documented repair.
        if (changed || damaged) await this.writeDomainLock(name, meta, after);
        // Whole again: say so also when the lock stays as it was, which announces nothing else.
        if (damaged) noteDomainProblem(core, name, null);
        return decided(meta.lock, after, changed, nextLockSerial(meta.lockSerial, meta.lock, after), effect);
      });
    }
    const a = parseAddress(target.address);
    return core.exclusiveMailbox(a, [`domain:${a.domain}`, a.address], mailboxMetaFile(core.root, a), async () => {
      await recoverOnce(core, a);
      const old = (await readMailboxMetaStrict(core, a, { missingIsNull: false })) as MailboxMeta;
      if (lock === null) assertMailboxUnlockable(a, (await readDomainMetaStrict(core, a.domain)).lock);
      const { after, changed } = decideLock(old.lock, lock);
      if (!changed) {
        noteLock(core, a, old.lock);
        return decided(old.lock, old.lock, false, old.lockSerial, effect);
      }
      const meta = await this.writeMailboxLock(a, old, after);
      return decided(old.lock, meta.lock, true, meta.lockSerial, effect);
    });
  }

  async setMailboxLock(address: string, lock: LockInfo | null): Promise<LockInfo | null> {
    const { core } = this;
    const a = parseAddress(address);
    return core.exclusiveMailbox(a, [`domain:${a.domain}`, a.address], mailboxMetaFile(core.root, a), async () => {
      await recoverOnce(core, a);
      const old = (await readMailboxMetaStrict(core, a, { missingIsNull: false })) as MailboxMeta;
      await this.writeMailboxLock(a, old, lock);
      return old.lock;
    });
  }

  async setDomainLock(domain: string, lock: LockInfo | null): Promise<LockInfo | null> {
    const { core } = this;
    const name = normalizeDomain(domain);
    return core.exclusiveDomain(name, domainMetaFile(core.root, name), async () => {
      const { meta } = await this.readDomainMetaForChange(name);
      await this.writeDomainLock(name, meta, lock);
      return meta.lock;
    });
  }

  /** Writes a mailbox's lock, one more on its serial when the lock differs; the meta written. */
  private async writeMailboxLock(a: Address, old: MailboxMeta, lock: LockInfo | null): Promise<MailboxMeta> {
    const { core } = this;
    const meta: MailboxMeta = { ...old, lock: lock === null ? null : copyLock(lock), lockSerial: nextLockSerial(old.lockSerial, old.lock, lock) };
    await core.index.change(
      a.domain,
      a.mailbox,
      () => writeMailboxMeta(mailboxMetaFile(core.root, a), meta, core.fsync),
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
    const { core } = this;
    if (!(await isDirectory(domainDir(core.root, name)))) throw noDomain(name);
    try {
      const meta = await readDomainMeta(domainMetaFile(core.root, name), name);
      if (meta) return { meta, damaged: false };
    } catch (err) {
      if (!(err instanceof MetaFileError)) throw err;
    }
    // Locking or unlocking is the documented repair for a damaged domain file.
    core.log.warn('Rewriting a damaged or missing domain file', { file: domainMetaFile(core.root, name) });
    return { meta: { version: META_VERSION, lock: null, lockSerial: 0, created: '' }, damaged: true };
  }

  private async writeDomainLock(name: string, old: DomainMeta, lock: LockInfo | null): Promise<void> {
    const meta: DomainMeta = {
      version: META_VERSION,
      lock: lock === null ? null : copyLock(lock),
      lockSerial: nextLockSerial(old.lockSerial, old.lock, lock),
      created: old.created || new Date().toISOString(),
    };
    await writeDomainMeta(domainMetaFile(this.core.root, name), meta, this.core.fsync);
  }
}

/** The outcome of a lock change, after the caller's effect ran inside the same step. */
function decided(before: LockInfo | null, after: LockInfo | null, changed: boolean, serial: number, effect?: (update: LockUpdate) => void): LockUpdate {
  const update: LockUpdate = { before, after, changed, serial };
  effect?.(update);
  return update;
}
