/**
 * The mail store: open it with openMailStore, then use the MailStore
 * interface (types.ts), or hand each user its port. Also the audit log and
 * the password helpers.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AdminError } from '../../../shared/errors.js';
import { silentLogger, type Logger } from '../log.js';
import { stateDir, trashDir } from './layout.js';
import { FileMailStore } from './mail-store.js';
import { isCode } from './fs-util.js';
import { rootIdentity, storeFault, StoreFaultError } from './store-errors.js';
import type { MailStore } from './types.js';

export type { AdminStorePort, DeliveryResult, LoginCheck, Maildrop, MailStore, Pop3StorePort, SmtpStorePort, StoredMessage, StoreChange } from './types.js';
export { appendAudit, auditLogPath, readAudit, type AuditEntry, type AuditInput } from './audit-log.js';
export { hashPassword, verifyPassword } from './passwords.js';
export { writeFileAtomic } from './atomic-file.js';
export { StoreFaultError, type StoreFaultKind } from './store-errors.js';

export interface OpenStoreOptions {
  /** fsync files and folders so a power loss cannot lose acknowledged mail; default true (tests and benchmarks may turn it off). */
  readonly fsync?: boolean;
  readonly log?: Logger;
  /**
   * `full` (default): recover every mailbox now and index the whole store, so
   * listings answer from memory at once. `lazy`: recover store-wide state now
   * and each mailbox when first used; for one-shot commands on a big store.
   * `background` (the service): open at once, recover each mailbox before
   * its first use, and sweep the whole store in the background (see
   * `MailStore.recovered`); for a service that must serve within a second
   * whatever the store's size.
   */
  readonly recovery?: 'full' | 'lazy' | 'background';
  /**
   * Make the mail root when it does not exist (default true). A tool that
   * only reads should pass false, so that a root that went missing (a disk
   * not mounted) is reported instead of replaced by an empty one.
   */
  readonly create?: boolean;
  /**
   * Watch the mailbox folders of the domains a console follows
   * (`followDomains`) for mail other programs deliver (default true); false
   * polls their folder stamps instead, as on file systems where watching is
   * not possible.
   */
  readonly watchFolders?: boolean;
}

/**
 * Opens (creating if needed, mode 0700) the mail store at `root` and runs
 * crash recovery (`options.recovery`): empties `.winpop/trash/`, removes
 * abandoned staging folders and tmp/ files, and finishes interrupted
 * expunges. The same walk builds the listing index.
 */
export async function openMailStore(root: string, options: OpenStoreOptions = {}): Promise<MailStore> {
  const log = options.log ?? silentLogger;
  const fsync = options.fsync ?? true;
  const abs = path.resolve(root);
  if (options.create === false && !(await fsp.stat(abs).then((st) => st.isDirectory(), () => false))) {
    throw new StoreFaultError(
      'root-missing',
      `The mail root ${abs} does not exist. Check --mailroot or the config file (winpop get mailroot); if the disk that holds it is not mounted, mount it. A new store is made by pop3svc or by winpop add DOMAIN.`,
      'ENOENT',
      abs,
    );
  }
  try {
    await fsp.mkdir(abs, { recursive: true, mode: 0o700 });
    await fsp.mkdir(stateDir(abs), { recursive: true, mode: 0o700 });
    await fsp.mkdir(trashDir(abs), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw cannotOpen(abs, await realMkdirError(trashDir(abs), err));
  }
  const store = new FileMailStore(abs, { fsync, log, rootId: await rootIdentity(abs), ...(options.watchFolders === undefined ? {} : { watchFolders: options.watchFolders }) });
  await store.recover(options.recovery ?? 'full');
  return store;
}

/**
 * The real reason a recursive mkdir of `deepest` failed. Node reports some
 * failures (a read-only disk) as ENOENT; making the first missing folder on
 * its own gives the system's own answer.
 */
async function realMkdirError(deepest: string, err: unknown): Promise<unknown> {
  if (!isCode(err, 'ENOENT')) return err;
  let missing = deepest;
  for (let parent = path.dirname(missing); parent !== missing; parent = path.dirname(missing)) {
    const there = await fsp.stat(parent).then(
      () => true,
      () => false,
    );
    if (there) break;
    missing = parent;
  }
  try {
    await fsp.mkdir(missing, { mode: 0o700 });
    await fsp.rmdir(missing).catch(() => undefined);
  } catch (real) {
    return real;
  }
  return err;
}

function cannotOpen(abs: string, err: unknown): AdminError {
  const e = err as NodeJS.ErrnoException;
  if (isCode(err, 'EEXIST', 'ENOTDIR')) {
    return new AdminError('STORE_ERROR', `Cannot open the mail root ${abs}: a file is in the way. Choose another folder with --mailroot, or move that file.`);
  }
  if (isCode(err, 'EACCES', 'EPERM')) {
    return new AdminError('STORE_ERROR', `Cannot open the mail root ${abs}: permission denied. Choose another folder with --mailroot, or fix its permissions.`);
  }
  const fault = storeFault(err, abs, abs);
  if (fault) return new StoreFaultError(fault.fault, `Cannot open the mail root ${abs}. ${fault.message}`, fault.errno, fault.path);
  return new AdminError('STORE_ERROR', `Cannot open the mail root ${abs}: ${e.message}. Choose another folder with --mailroot, or fix its permissions.`);
}
