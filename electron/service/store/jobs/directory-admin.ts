/**
 * The directory: domains and mailboxes added and deleted, passwords set.
 *
 * A new domain or mailbox is built whole in a staging folder and renamed
 * into place; a deleted one is renamed into the trash and then removed; a
 * password is one atomic write of the mailbox's state file, under its lock
 * file so that another process's lock is not lost. Setting a password is
 * also the documented repair of a damaged mailbox file.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { DomainSummary, MailboxSummary } from '../../../../shared/contract.js';
import { AdminError } from '../../../../shared/errors.js';
import { normalizeDomain, parseAddress } from '../../../../shared/names.js';
import { fsyncDir } from '../atomic-file.js';
import { isCode, isDirectory, randomHex, writerTag } from '../fs-util.js';
import { DOMAIN_META, domainDir, MAILBOX_META, mailboxDir, mailboxMetaFile, MAILDIR_SUBDIRS, STAGING_PREFIX, trashDir } from '../layout.js';
import type { MailboxEntry } from '../mailbox-index.js';
import { recoverOnce } from '../mailbox-sync.js';
import { META_VERSION, MetaFileError, readMailboxMeta, writeDomainMeta, writeMailboxMeta, type DomainMeta, type MailboxMeta } from '../meta.js';
import { hashPassword } from '../passwords.js';
import { domainStateForListing, mailboxSummary } from '../state-reads.js';
import { noDomain, noMailbox, type StoreCore } from '../store-core.js';

export class DirectoryAdmin {
  constructor(private readonly core: StoreCore) {}

  async addDomain(domain: string): Promise<DomainSummary> {
    const { core } = this;
    const name = normalizeDomain(domain);
    await core.throwIfRootGone();
    return core.guardedRun(`domain:${name}`, domainDir(core.root, name), async () => {
      const target = domainDir(core.root, name);
      if (await pathExists(target)) throw new AdminError('ALREADY_EXISTS', `The domain ${name} already exists.`);
      const staging = path.join(core.root, `${STAGING_PREFIX}${writerTag()}`);
      try {
        await fsp.mkdir(staging, { mode: 0o700 });
        const meta: DomainMeta = { version: META_VERSION, lock: null, lockSerial: 0, created: new Date().toISOString() };
        await writeDomainMeta(path.join(staging, DOMAIN_META), meta, core.fsync);
        // A change of the domain as a whole: it must not find a snapshot of an earlier domain of that name.
        await core.index.change(
          name,
          '',
          () => this.renameIntoPlace(staging, target, () => new AdminError('ALREADY_EXISTS', `The domain ${name} already exists.`)),
          () => undefined,
        );
      } finally {
        await fsp.rm(staging, { recursive: true, force: true }).catch(() => undefined);
      }
      core.index.domains.delete(name);
      return { name, mailboxes: 0, messages: 0, bytes: 0, lock: null };
    });
  }

  async deleteDomain(domain: string): Promise<void> {
    const { core } = this;
    const name = normalizeDomain(domain);
    await core.exclusiveDomain(name, domainDir(core.root, name), async () => {
      const dir = domainDir(core.root, name);
      if (!(await isDirectory(dir))) throw noDomain(name);
      await core.index.change(name, '', () => this.moveToTrash(dir, core.root), () => undefined);
      core.index.domains.delete(name);
    });
  }

  /** `password` null: a mailbox whose password another authority decides (auth-method 1 or 2); it has no hash. */
  async addMailbox(address: string, password: string | null): Promise<MailboxSummary> {
    const { core } = this;
    const a = parseAddress(address);
    if (password !== null) checkPassword(password);
    return core.guardedRun(a.address, mailboxDir(core.root, a), async () => {
      const parent = domainDir(core.root, a.domain);
      if (!(await isDirectory(parent))) {
        throw new AdminError('NOT_FOUND', `No domain ${a.domain}. Create it first with \`winpop add ${a.domain}\`.`);
      }
      const target = mailboxDir(core.root, a);
      const exists = (): AdminError => new AdminError('ALREADY_EXISTS', `The mailbox ${a.address} already exists.`);
      if (await pathExists(target)) throw exists();
      const hash = password === null ? null : await hashPassword(password);
      const staging = path.join(parent, `${STAGING_PREFIX}${writerTag()}`);
      const entry: MailboxEntry = { messages: 0, bytes: 0, lock: null, broken: false };
      try {
        await fsp.mkdir(staging, { mode: 0o700 });
        for (const sub of MAILDIR_SUBDIRS) await fsp.mkdir(path.join(staging, sub), { mode: 0o700 });
        const meta: MailboxMeta = { version: META_VERSION, password: hash, lock: null, lockSerial: 0, created: new Date().toISOString() };
        await writeMailboxMeta(path.join(staging, MAILBOX_META), meta, core.fsync);
        if (core.fsync) await fsyncDir(staging);
        await core.index.change(
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
      return mailboxSummary(a.mailbox, a.domain, entry, await domainStateForListing(core, a.domain));
    });
  }

  async deleteMailbox(address: string): Promise<void> {
    const { core } = this;
    const a = parseAddress(address);
    await core.exclusiveMailbox(a, [a.address], mailboxDir(core.root, a), async () => {
      const dir = mailboxDir(core.root, a);
      if (!(await isDirectory(dir))) throw noMailbox(a);
      await core.index.change(
        a.domain,
        a.mailbox,
        () => this.moveToTrash(dir, domainDir(core.root, a.domain)),
        (d) => {
          d.names.delete(a.mailbox);
          d.entries.delete(a.mailbox);
        },
      );
    });
  }

  async setPassword(address: string, password: string): Promise<void> {
    const { core } = this;
    const a = parseAddress(address);
    checkPassword(password);
    // The lock file too: another process's lock must not be lost under the lock this one read and writes back.
    await core.exclusiveMailbox(a, [a.address], mailboxDir(core.root, a), async () => {
      if (!(await isDirectory(mailboxDir(core.root, a)))) throw noMailbox(a);
      await recoverOnce(core, a);
      let old: MailboxMeta | null = null;
      try {
        old = await readMailboxMeta(mailboxMetaFile(core.root, a), a.address);
      } catch (err) {
        if (!(err instanceof MetaFileError)) throw err;
        // Setting a password is the documented repair for a damaged mailbox file.
        core.log.warn('Rewriting a damaged mailbox file with the new password', { file: err.file });
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
      await core.index.change(
        a.domain,
        a.mailbox,
        () => writeMailboxMeta(mailboxMetaFile(core.root, a), meta, core.fsync),
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
      if (repaired) core.emit({ type: 'stateProblem', target: a.address, kind: 'mailbox', problem: null });
    });
  }

  /** Renames a fully built folder into place; an existing target becomes `exists()`. */
  private async renameIntoPlace(staging: string, target: string, exists: () => AdminError): Promise<void> {
    if (this.core.fsync) await fsyncDir(staging);
    try {
      await fsp.rename(staging, target);
    } catch (err) {
      if (isCode(err, 'EEXIST', 'ENOTEMPTY') || (isCode(err, 'EPERM', 'EACCES') && (await pathExists(target)))) throw exists();
      throw err;
    }
    if (this.core.fsync) await fsyncDir(path.dirname(target));
  }

  /** Takes a folder out of view with one rename, then removes it; a crash leaves it only in the trash. */
  private async moveToTrash(dir: string, parent: string): Promise<void> {
    const trash = trashDir(this.core.root);
    // Not recursive: making the trash must never make a mail root that has gone missing.
    await mkdirIfMissing(path.dirname(trash));
    await mkdirIfMissing(trash);
    const target = path.join(trash, randomHex(8));
    await fsp.rename(dir, target);
    if (this.core.fsync) await fsyncDir(parent);
    try {
      await fsp.rm(target, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      this.core.log.warn('Could not remove a deleted folder from the trash; it is removed at the next start', { path: target, error: (err as Error).message });
    }
  }
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
