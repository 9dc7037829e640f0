/**
 * Reading a Maildir (new/ and cur/) and deleting from it all or nothing.
 *
 * An expunge first writes an intent record naming every file, then unlinks
 * them, then removes the record. A crash part-way leaves the record, and the
 * next open of the mailbox (or the store's recovery) finishes the job.
 */

import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { fsyncDir, writeFileAtomic } from './atomic-file.js';
import { isCode, randomHex, readdirOrEmpty, unlinkIfExists } from './fs-util.js';
import { EXPUNGE_RECORD } from './layout.js';
import { addNamedSizes, compareMessageNames, parseMessageName, type MessageTotals } from './message-names.js';
import { ExpungePendingError } from './types.js';

/** One message file found in new/ or cur/. */
export interface MessageFile {
  /** `new/<name>` or `cur/<name>`. */
  readonly file: string;
  readonly name: string;
  readonly unique: string;
  readonly seconds: number;
  /** Bytes on disk. */
  readonly diskSize: number;
  /** Bytes with CRLF line ends; null until counted (see wireSizeOf). */
  readonly wireSize: number | null;
}

/** Lists the messages of a Maildir in delivery order; sizes come from names, `stat` only for names without S=. */
export async function listMessageFiles(dir: string): Promise<MessageFile[]> {
  const out: MessageFile[] = [];
  for (const sub of ['new', 'cur'] as const) {
    for (const name of await readdirOrEmpty(path.join(dir, sub))) {
      const parsed = parseMessageName(name);
      if (!parsed) continue;
      let diskSize = parsed.diskSize;
      if (diskSize === null) {
        try {
          const st = await fsp.stat(path.join(dir, sub, name));
          if (!st.isFile()) continue;
          diskSize = st.size;
        } catch (err) {
          if (isCode(err, 'ENOENT')) continue; // moved or removed while we looked
          throw err;
        }
      }
      out.push({ file: `${sub}/${name}`, name, unique: parsed.unique, seconds: parsed.seconds, diskSize, wireSize: parsed.wireSize });
    }
  }
  return out.sort(compareMessageNames);
}

/** Counts the CRLF size of a file named without W= (written by another program): each LF not after a CR adds one, a missing final line end two. */
export async function wireSizeOf(file: string): Promise<number> {
  let size = 0;
  let last = -1;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    size += chunk.length;
    let at = chunk.indexOf(0x0a);
    while (at >= 0) {
      const before = at > 0 ? chunk[at - 1] : last;
      if (before !== 0x0d) size += 1;
      at = chunk.indexOf(0x0a, at + 1);
    }
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
  }
  // The server ends a last line that has no line end with a CRLF of its own.
  return size > 0 && last !== 0x0a ? size + 2 : size;
}

/** Totals for a mailbox summary: sizes from the names, `stat` only for names without S=. */
export async function countMessages(dir: string): Promise<MessageTotals> {
  const [fresh, seen] = await Promise.all([readdirOrEmpty(path.join(dir, 'new')), readdirOrEmpty(path.join(dir, 'cur'))]);
  const totals: MessageTotals = { messages: 0, bytes: 0 };
  for (const [sub, names] of [['new', fresh], ['cur', seen]] as const) {
    for (const name of addNamedSizes(names, totals)) {
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
    await fsp.unlink(record);
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
