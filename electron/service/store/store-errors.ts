/**
 * File-system faults of the mail store, in words an administrator can act on.
 *
 * A raw `EROFS: read-only file system, open '…/.tmp-123-…'` tells nobody what
 * to do. Here each fault becomes a STORE_ERROR that names the file or folder
 * and the fix, while keeping the system error code (`errno`), so that callers
 * such as SMTP can still answer "disk full" differently from "try later".
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AdminError } from '../../../shared/errors.js';
import { ATOMIC_TEMP_PREFIX } from './atomic-file.js';
import { isCode } from './fs-util.js';

/** What kind of fault a StoreFaultError is. */
export type StoreFaultKind = 'read-only' | 'disk-full' | 'quota' | 'permission' | 'io' | 'in-the-way' | 'too-many-files' | 'name-too-long' | 'root-missing' | 'root-replaced';

/** A store operation failed because of the file system or the disk, not because of its arguments. */
export class StoreFaultError extends AdminError {
  constructor(
    readonly fault: StoreFaultKind,
    message: string,
    /** The system error code (EROFS, ENOSPC, …) when there was one. */
    readonly errno: string | undefined,
    /** The file or folder concerned. */
    readonly path: string,
  ) {
    super('STORE_ERROR', message);
  }
}

/** The identity of the mail root folder, to notice when it is removed and made again under the same name. */
export interface RootIdentity {
  readonly dev: number;
  readonly ino: number;
}

export async function rootIdentity(root: string): Promise<RootIdentity> {
  const st = await fsp.stat(root);
  return { dev: st.dev, ino: st.ino };
}

/** The mail root is gone (removed, or its volume unmounted). */
export function rootMissing(root: string): StoreFaultError {
  return new StoreFaultError(
    'root-missing',
    `The mail root ${root} is missing: it was removed, or the disk that holds it is not mounted. Restore it or mount its disk, then restart the service; until then mail is refused for later delivery and log-ins fail with [SYS/TEMP].`,
    'ENOENT',
    root,
  );
}

/** The mail root was removed and another folder made under its name while the service ran. */
export function rootReplaced(root: string): StoreFaultError {
  return new StoreFaultError(
    'root-replaced',
    `The mail root ${root} was replaced by another folder while the service was running (removed and made again, or a disk mounted over it). Restart the service so that it opens the store that is there now.`,
    undefined,
    root,
  );
}

/**
 * The StoreFaultError for a system error, or null when `err` is not a
 * file-system fault (an AdminError, a size limit, a bug). `where` names the
 * file or folder when the error itself does not (writes through a handle).
 */
export function storeFault(err: unknown, root: string, where: string): StoreFaultError | null {
  if (err instanceof AdminError || typeof err !== 'object' || err === null) return null;
  const e = err as NodeJS.ErrnoException;
  const p = visibleName(typeof e.path === 'string' ? e.path : where);
  const make = (fault: StoreFaultKind, text: string): StoreFaultError => new StoreFaultError(fault, text, e.code, p);
  switch (e.code) {
    case 'EROFS':
      return make(
        'read-only',
        `The mail store is on a read-only file system: cannot write ${p}. Remount the disk of ${root} read-write (or move the mail root to a writable disk), then try again.`,
      );
    case 'ENOSPC':
      return make('disk-full', `The disk that holds the mail store is full: cannot write ${p}. Free space on the disk of ${root}, then try again.`);
    case 'EDQUOT':
      return make('quota', `The disk quota of the service's account is used up: cannot write ${p}. Raise the quota or free space, then try again.`);
    case 'EACCES':
    case 'EPERM':
      return make('permission', `Permission denied on ${p}. The mail root ${root} must belong to the account that runs the service; fix its owner or permissions.`);
    case 'EIO':
      return make('io', `The disk reported an I/O error on ${p}. Check the disk and the system log; the file system may need a check.`);
    case 'ENOTDIR':
    case 'EISDIR':
      return make('in-the-way', `Something unexpected is in the way at ${p} (a file where a folder belongs, or the reverse). Move it aside, then try again.`);
    case 'EMFILE':
    case 'ENFILE':
      return make('too-many-files', `The service has too many files open (at ${p}). Raise the open-file limit (ulimit -n) or lower socketmax.`);
    case 'ENAMETOOLONG':
      return make('name-too-long', `The path ${p} is too long for the file system. Choose a mail root with a shorter path.`);
    default:
      return null;
  }
}

/** The file a write was for: a temp file of writeFileAtomic stands for the file it replaces. */
function visibleName(p: string): string {
  const base = path.basename(p);
  const m = new RegExp(`^${ATOMIC_TEMP_PREFIX.replace('.', '\\.')}\\d+-[0-9a-f]+(?:\\.[0-9a-f]{8})?-(.+)$`).exec(base);
  return m ? path.join(path.dirname(p), m[1] as string) : p;
}

/** True for errors that may mean "the folder is not there" and so deserve a look at the mail root itself. */
export function mayMeanMissing(err: unknown): boolean {
  if (err instanceof AdminError) return err.code === 'NOT_FOUND';
  return isCode(err, 'ENOENT', 'ENOTDIR');
}
