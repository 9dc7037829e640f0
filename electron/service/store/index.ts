/**
 * The mail store: open it with openMailStore, then use the MailStore
 * interface (types.ts). Also the audit log and the password helpers.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AdminError } from '../../../shared/errors.js';
import { silentLogger, type Logger } from '../log.js';
import { stateDir, trashDir } from './layout.js';
import { FileMailStore } from './mail-store.js';
import type { MailStore } from './types.js';

export type { DeliveryResult, LoginCheck, Maildrop, MailStore, StoredMessage, StoreChange } from './types.js';
export { appendAudit, auditLogPath, readAudit, type AuditEntry, type AuditInput } from './audit-log.js';
export { hashPassword, verifyPassword } from './passwords.js';
export { writeFileAtomic } from './atomic-file.js';

export interface OpenStoreOptions {
  /** fsync files and folders so a power loss cannot lose acknowledged mail; default true (tests and benchmarks may turn it off). */
  readonly fsync?: boolean;
  readonly log?: Logger;
  /**
   * `full` (default): recover every mailbox now and index the whole store, so
   * listings answer from memory at once. `lazy`: recover store-wide state now
   * and each mailbox when first used; for one-shot commands on a big store.
   */
  readonly recovery?: 'full' | 'lazy';
}

/**
 * Opens (creating if needed, mode 0700) the mail store at `root` and runs
 * crash recovery: empties `.winpop/trash/`, removes abandoned staging
 * folders and tmp/ files, and finishes interrupted expunges. The same walk
 * builds the listing index.
 */
export async function openMailStore(root: string, options: OpenStoreOptions = {}): Promise<MailStore> {
  const log = options.log ?? silentLogger;
  const fsync = options.fsync ?? true;
  const abs = path.resolve(root);
  try {
    await fsp.mkdir(abs, { recursive: true, mode: 0o700 });
    await fsp.mkdir(stateDir(abs), { recursive: true, mode: 0o700 });
    await fsp.mkdir(trashDir(abs), { recursive: true, mode: 0o700 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EEXIST' || e.code === 'ENOTDIR' ? 'a file is in the way' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.message;
    throw new AdminError('STORE_ERROR', `Cannot open the mail root ${abs}: ${why}. Choose another folder with --mailroot, or fix its permissions.`);
  }
  const store = new FileMailStore(abs, { fsync, log });
  await store.recover(options.recovery ?? 'full');
  return store;
}
