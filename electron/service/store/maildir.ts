/**
 * Reading a Maildir (new/ and cur/) and deleting from it all or nothing.
 *
 * An expunge first writes an intent record naming every file, then unlinks
 * them, then removes the record. A crash part-way leaves the record, and the
 * next open of the mailbox (or the store's recovery) finishes the job.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { fsyncDir, writeFileAtomic } from './atomic-file.js';
import { isCode, randomHex, readdirOrEmpty, unlinkIfExists } from './fs-util.js';
import { EXPUNGE_RECORD } from './layout.js';
import { addNamedSizes, messageBase, parseMessageName, type MessageTotals } from './message-names.js';
import { readSizeCache } from './size-cache.js';
import { ExpungePendingError } from './types.js';

/** One message file found in new/ or cur/, with both its sizes (maildrop-listing.ts reads them). */
export interface MessageFile {
  /** `new/<name>` or `cur/<name>`. */
  readonly file: string;
  readonly name: string;
  readonly unique: string;
  readonly seconds: number;
  /** Bytes on disk. */
  readonly diskSize: number;
  /** Bytes with CRLF line ends, as the POP3 wire encoder sends them. */
  readonly wireSize: number;
  /** Named by this store, sizes and all; otherwise the sizes were measured (the size cache remembers them). */
  readonly own: boolean;
}

/**
 * Totals for a mailbox summary: sizes from the names, else from the size
 * cache (size-cache.ts), `stat` only for files neither knows.
 */
export async function countMessages(dir: string): Promise<MessageTotals> {
  const [fresh, seen] = await Promise.all([readdirOrEmpty(path.join(dir, 'new')), readdirOrEmpty(path.join(dir, 'cur'))]);
  const totals: MessageTotals = { messages: 0, bytes: 0 };
  let known: Map<string, number> | null = null;
  for (const [sub, names] of [['new', fresh], ['cur', seen]] as const) {
    const unsized = addNamedSizes(names, totals);
    if (unsized.length > 0 && known === null) known = await knownDiskSizes(dir);
    for (const name of unsized) {
      const size = known?.get(messageBase(name));
      if (size !== undefined) {
        totals.messages += 1;
        totals.bytes += size;
        continue;
      }
      try {
        const st = await fsp.stat(path.join(dir, sub, name));
        if (!st.isFile()) continue;
        totals.messages += 1;
        totals.bytes += st.size;
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw err;
      }
    }
  }
  return totals;
}

/** Disk sizes the size cache knows, by message name without the Maildir info. */
async function knownDiskSizes(dir: string): Promise<Map<string, number>> {
  const known = new Map<string, number>();
  for (const f of (await readSizeCache(dir))?.files ?? []) known.set(messageBase(f.file.slice(4)), f.diskSize);
  return known;
}

const SAFE_ENTRY = /^(new|cur)\/[^/\\]+$/;

/** True when a path from an intent record is a message file of this Maildir and nothing else. */
function isMessagePath(p: unknown): p is string {
  if (typeof p !== 'string' || !SAFE_ENTRY.test(p)) return false;
  return parseMessageName(p.slice(4)) !== null;
}

/**
 * Unlinks the files and makes it durable; returns the ones this call removed.
 * A failing unlink does not stop the others (each one done is one fewer for
 * whoever finishes the record); the first failure is thrown at the end.
 */
async function unlinkAll(dir: string, files: readonly string[], fsync: boolean): Promise<Set<string>> {
  const removed = new Set<string>();
  let failure: unknown = null;
  for (const f of files) {
    try {
      if (await unlinkIfExists(path.join(dir, f))) removed.add(f);
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== null) throw failure;
  if (fsync) {
    for (const sub of ['new', 'cur']) {
      if (files.some((f) => f.startsWith(`${sub}/`))) await fsyncDir(path.join(dir, sub));
    }
  }
  return removed;
}

/**
 * Deletes message files all or nothing across crashes. `files` are paths
 * relative to the mailbox (`new/…`, `cur/…`). Returns those actually removed
 * (a file already gone is fine).
 */
export async function expungeFiles(dir: string, files: readonly string[], fsync: boolean): Promise<Set<string>> {
  if (files.length === 0) return new Set();
  for (const f of files) {
    if (!isMessagePath(f)) throw new Error(`Refusing to delete "${f}": not a message file of this mailbox.`);
  }
  const record = path.join(dir, `.winpop-expunge.${randomHex(6)}.json`);
  await writeFileAtomic(record, JSON.stringify({ version: 1, files }), { fsync });
  // From here on the deletion is decided: a failure leaves the record for the next open to finish.
  try {
    const removed = await unlinkAll(dir, files, fsync);
    // Gone already: another process's recovery found the record and finished the same deletion.
    await unlinkIfExists(record);
    if (fsync) await fsyncDir(dir);
    return removed;
  } catch (err) {
    throw new ExpungePendingError(record, err);
  }
}

/**
 * Finishes expunges a crash interrupted. `entries` is the mailbox folder's
 * listing when the caller already has it. A damaged record is set aside
 * (renamed, kept for inspection) so it cannot delete anything it should not.
 */
export async function completePendingExpunges(dir: string, fsync: boolean, log: Logger, entries?: readonly string[]): Promise<number> {
  const names = (entries ?? (await readdirOrEmpty(dir))).filter((n) => EXPUNGE_RECORD.test(n));
  let completed = 0;
  for (const name of names) {
    const record = path.join(dir, name);
    let files: string[] | null = null;
    try {
      const value = JSON.parse(await fsp.readFile(record, 'utf8')) as { files?: unknown };
      if (Array.isArray(value.files) && value.files.every(isMessagePath)) files = value.files as string[];
    } catch (err) {
      if (isCode(err, 'ENOENT')) continue; // finished by someone else meanwhile
    }
    if (files === null) {
      const aside = path.join(dir, `.winpop-expunge-damaged.${randomHex(6)}`);
      await fsp.rename(record, aside).catch(() => undefined);
      log.error('Damaged expunge record set aside; its messages were not deleted', { file: aside });
      continue;
    }
    const removed = await unlinkAll(dir, files, fsync);
    await unlinkIfExists(record);
    if (fsync) await fsyncDir(dir);
    completed += 1;
    log.warn('Completed an interrupted expunge', { mailbox: dir, files: files.length, removed: removed.size });
  }
  return completed;
}
