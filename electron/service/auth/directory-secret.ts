/**
 * The directory service account's password, kept apart from the settings:
 * in `<mailroot>/.winpop/directory-bind.json`, readable by the service's
 * user only (mode 0600 in the 0700 state folder). It is never printed, never
 * in `getSettings`, never in the audit log; `winpop get` does not show it.
 *
 * The file is looked at again whenever it may have changed (its identity,
 * size and time), so that every process serving the store (a worker, a
 * `winpop` that saved it while the service ran) uses the password saved last.
 */

import { promises as fsp, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../store/atomic-file.js';
import { stateDir } from '../store/layout.js';

export const DIRECTORY_SECRET_FILE = 'directory-bind.json';

export interface DirectorySecret {
  /** The saved password, or null. */
  get(): string | null;
  /** Changes whenever the saved password may have changed, so that whoever built a connection with the old one builds it again. */
  readonly version: string;
  /** Saves the password (null forgets it). */
  set(password: string | null): Promise<void>;
}

/** The secret of the store at `root`. A damaged file counts as none (the service account then reports it has no password). */
export function openDirectorySecret(root: string): DirectorySecret {
  const file = path.join(stateDir(root), DIRECTORY_SECRET_FILE);
  let seen = '';
  let password: string | null = null;

  /** The file's identity now; reads it again when that changed. */
  const refresh = (): string => {
    let stamp = 'none';
    try {
      const st = statSync(file);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      // No file: no password saved.
    }
    if (stamp !== seen) {
      seen = stamp;
      password = null;
      if (stamp !== 'none') {
        try {
          const parsed = JSON.parse(readFileSync(file, 'utf8')) as { password?: unknown };
          if (typeof parsed.password === 'string' && parsed.password !== '') password = parsed.password;
        } catch {
          password = null;
        }
      }
    }
    return seen;
  };

  return {
    get: () => {
      refresh();
      return password;
    },
    get version() {
      return refresh();
    },
    async set(next) {
      if (next === null) await fsp.rm(file, { force: true });
      else await writeFileAtomic(file, `${JSON.stringify({ password: next })}\n`, { mode: 0o600 });
      refresh();
    },
  };
}
