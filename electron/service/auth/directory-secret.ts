/**
 * The directory service account's password, kept apart from the settings:
 * in `<mailroot>/.winpop/directory-bind.json`, readable by the service's
 * user only (mode 0600 in the 0700 state folder). It is never printed, never
 * in `getSettings`, never in the audit log; `winpop get` says only whether
 * one is saved.
 */

import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../store/atomic-file.js';
import { isCode } from '../store/fs-util.js';
import { stateDir } from '../store/layout.js';

export const DIRECTORY_SECRET_FILE = 'directory-bind.json';

export interface DirectorySecret {
  /** The saved password, or null. */
  get(): string | null;
  /** Counts the changes made through this object, so that whoever built a connection with the old password knows to build it again. */
  readonly version: number;
  /** Saves the password (null forgets it). */
  set(password: string | null): Promise<void>;
}

/** The secret of the store at `root`, read now. A damaged file counts as none (the service account then reports it has no password). */
export function openDirectorySecret(root: string): DirectorySecret {
  const file = path.join(stateDir(root), DIRECTORY_SECRET_FILE);
  let password: string | null = null;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { password?: unknown };
    if (typeof parsed.password === 'string' && parsed.password !== '') password = parsed.password;
  } catch (err) {
    if (!isCode(err, 'ENOENT')) password = null;
  }
  let version = 0;
  return {
    get: () => password,
    get version() {
      return version;
    },
    async set(next) {
      if (next === null) await fsp.rm(file, { force: true });
      else await writeFileAtomic(file, `${JSON.stringify({ password: next })}\n`, { mode: 0o600 });
      password = next;
      version += 1;
    },
  };
}
