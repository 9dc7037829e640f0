/**
 * Crash-safe small-file writes: the data and the directory entry reach the
 * disk before the new content becomes visible, all at once, by a rename.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { isCode, writerTag } from './fs-util.js';

/**
 * Flushes a directory's entries (a rename or unlink inside it) to disk.
 *
 * Windows cannot open a directory for this and makes the entry durable by
 * itself, so there it is a no-op.
 */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some file systems (network mounts) refuse fsync on directories; the rename already happened.
    if (!isCode(err, 'EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM', 'EBADF')) throw err;
  } finally {
    await handle.close();
  }
}

/** Prefix of temp files written by writeFileAtomic (`.tmp-<pid>-<hex>.<host mark>-<name>`, fs-util.ts writerTag); recovery removes those of dead writers on this machine, and any after an hour. */
export const ATOMIC_TEMP_PREFIX = '.tmp-';

/**
 * Replaces a small file all at once: temp file in the same folder, write,
 * fsync, rename over the target, fsync the folder. A reader sees the old
 * content or the new, never a mix.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: { fsync?: boolean; mode?: number } = {}): Promise<void> {
  const sync = options.fsync ?? true;
  const dir = path.dirname(file);
  const temp = path.join(dir, `${ATOMIC_TEMP_PREFIX}${writerTag()}-${path.basename(file)}`);
  const handle = await fsp.open(temp, 'wx', options.mode ?? 0o600);
  try {
    try {
      await handle.writeFile(data);
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, file);
  } catch (err) {
    await fsp.rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  if (sync) await fsyncDir(dir);
}
