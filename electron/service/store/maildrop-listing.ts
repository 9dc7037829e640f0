/**
 * A maildrop's messages in delivery order, each with its size on disk and
 * on the wire, read as cheaply as the disk allows:
 *
 * - while new/ and cur/ carry the stamps of the last reading (the caller's
 *   copy in memory, or the size cache on disk), that reading as it is: two
 *   `stat` calls, however many messages;
 * - otherwise the folders are read; sizes come from the names of the
 *   store's own mail (`S=`/`W=`), else from the size cache by name, and only
 *   a message nobody has measured yet is read to count its CRLF size.
 *
 * Those reads are synchronous in slices of a few milliseconds with the event
 * loop free in between: through the thread pool, each small file costs
 * several round trips (open, read, close) and the same 20,000 files take
 * five times as long. A file is opened without blocking and checked to be a
 * regular file first, so that a named pipe in new/ cannot stop the process.
 */

import fs from 'node:fs';
import path from 'node:path';
import { keepable, readStampsSync, stampsHold, type FolderStamps } from './folder-stamps.js';
import { isCode, readdirOrEmptySync } from './fs-util.js';
import type { MessageFile } from './maildir.js';
import { compareMessageNames, messageBase, parseMessageName, writerOf } from './message-names.js';
import { readSizeCache, type SizeCacheWriter, type SizedFile } from './size-cache.js';

/** One reading of a maildrop. */
export interface MaildropListing {
  /** The folders' stamps it was read under; null when they had not settled (the next reading looks again). */
  readonly stamps: FolderStamps | null;
  /** In delivery order. */
  readonly files: readonly MessageFile[];
  /** The same files by name, in new/ and in cur/. */
  readonly inNew: ReadonlyMap<string, MessageFile>;
  readonly inCur: ReadonlyMap<string, MessageFile>;
  /** The earlier reading this one only added files to, at its end (the caller may build on what it made of that one). */
  readonly extends: MaildropListing | null;
}

/** The file of a listing at a path in the mailbox (`new/…`, `cur/…`); undefined when it has none there. */
export function fileAt(listing: MaildropListing, file: string): MessageFile | undefined {
  const found = (file.startsWith('new/') ? listing.inNew : listing.inCur).get(file.slice(4));
  return found?.file === file ? found : undefined;
}

/** Synchronous work between two turns of the event loop. */
const SLICE_MS = 8;
const CHUNK = 256 * 1024;
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/**
 * Reads the maildrop in `dir`. `known` is an earlier reading of it still in
 * the caller's memory, if any. The size cache is written (by `cacheWriter`,
 * a moment after this returns) when the mailbox holds messages whose names
 * do not carry both sizes.
 */
export async function readMaildrop(dir: string, cacheWriter: SizeCacheWriter, known?: MaildropListing | null): Promise<MaildropListing> {
  const now = readStampsSync(dir);
  if (known && stampsHold(known.stamps, now)) return known;
  // What memory knows is as good as the file (this process wrote it), and needs no parsing.
  const cached = known ? null : await readSizeCache(dir);
  if (cached && stampsHold(cached.stamps, now)) return listingOf(cached.stamps, cached.files.map(fromSized).filter((f) => f !== null));

  // A folder whose stamp held keeps what the last reading found in it; the other is read again.
  // Synchronous: for 20,000 names a third of the time through the thread pool, in about 10 ms.
  const names = {
    new: stampHeld(known, now, 'newMs') ? null : readdirOrEmptySync(path.join(dir, 'new')),
    cur: stampHeld(known, now, 'curMs') ? null : readdirOrEmptySync(path.join(dir, 'cur')),
  };
  let byBase: Map<string, SizedFile> | null = null;
  const added: MessageFile[] = [];
  const unmeasured: Unmeasured[] = [];
  let vanished = false;
  for (const sub of ['new', 'cur'] as const) {
    const list = names[sub];
    if (list === null) continue;
    const before = sub === 'new' ? known?.inNew : known?.inCur;
    let again = 0;
    for (const name of list) {
      if (before?.has(name)) {
        // Unchanged since the last reading: nothing to parse.
        again += 1;
        continue;
      }
      const parsed = parseMessageName(name);
      if (!parsed) continue;
      const file = `${sub}/${name}`;
      // Only this store's names are taken at their word for W=: another writer's W= may leave out the CRLF sent after a last line without one.
      if (parsed.diskSize !== null && parsed.wireSize !== null && writerOf(parsed.unique) !== null) {
        added.push({ file, name, unique: parsed.unique, seconds: parsed.seconds, diskSize: parsed.diskSize, wireSize: parsed.wireSize, own: true });
        continue;
      }
      // By name without the Maildir info: a file moved to cur/ or flagged there keeps its sizes. A name new to new/ is new mail.
      const sized = sub === 'cur' || !known ? (byBase ??= sizesByBase(known?.files ?? cached?.files ?? [])).get(messageBase(name)) : undefined;
      if (sized) added.push({ file, name, unique: parsed.unique, seconds: parsed.seconds, diskSize: sized.diskSize, wireSize: sized.wireSize, own: false });
      else unmeasured.push({ file, name, unique: parsed.unique, seconds: parsed.seconds });
    }
    vanished ||= again < (before?.size ?? 0);
  }
  await measureFiles(dir, unmeasured, added);
  added.sort(compareMessageNames);

  let listing: MaildropListing;
  const last = known?.files[known.files.length - 1];
  const first = added[0];
  if (known && !vanished && (first === undefined || last === undefined || compareMessageNames(last, first) <= 0)) {
    // Only new mail, all of it after what was there (the usual arrival): the known reading grows.
    listing = grown(known, keepable(now), added);
  } else {
    const present = { new: names.new && new Set(names.new), cur: names.cur && new Set(names.cur) };
    const kept = (known?.files ?? []).filter((f) => {
      const there = f.file.startsWith('new/') ? present.new : present.cur;
      return there === null || there.has(f.name);
    });
    // The files kept are in order already: one merge instead of a sort of thousands.
    listing = listingOf(keepable(now), merge(kept, added));
  }
  if (listing.files.some((f) => !f.own)) cacheWriter.write(dir, listing);
  else if (cached || known?.files.some((f) => !f.own)) cacheWriter.remove(dir);
  return listing;
}

/** True when one folder's stamp is as the known reading (settled) had it. */
function stampHeld(known: MaildropListing | null | undefined, now: FolderStamps | null, which: 'newMs' | 'curMs'): boolean {
  return known?.stamps != null && now !== null && known.stamps[which] === now[which];
}

function listingOf(stamps: FolderStamps | null, files: readonly MessageFile[]): MaildropListing {
  const inNew = new Map<string, MessageFile>();
  const inCur = new Map<string, MessageFile>();
  for (const f of files) (f.file.startsWith('new/') ? inNew : inCur).set(f.name, f);
  return { stamps, files, inNew, inCur, extends: null };
}

/**
 * The known reading with files added at its end. Its name maps grow in
 * place: sessions of the earlier reading only ever look up their own files,
 * which are all still there.
 */
function grown(known: MaildropListing, stamps: FolderStamps | null, added: readonly MessageFile[]): MaildropListing {
  const inNew = known.inNew as Map<string, MessageFile>;
  const inCur = known.inCur as Map<string, MessageFile>;
  for (const f of added) (f.file.startsWith('new/') ? inNew : inCur).set(f.name, f);
  return { stamps, files: added.length === 0 ? known.files : [...known.files, ...added], inNew, inCur, extends: known };
}

/** Two lists in delivery order as one. */
function merge(a: readonly MessageFile[], b: readonly MessageFile[]): MessageFile[] {
  if (b.length === 0) return a as MessageFile[];
  const out: MessageFile[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(compareMessageNames(a[i] as MessageFile, b[j] as MessageFile) <= 0 ? (a[i++] as MessageFile) : (b[j++] as MessageFile));
  while (i < a.length) out.push(a[i++] as MessageFile);
  while (j < b.length) out.push(b[j++] as MessageFile);
  return out;
}

interface Unmeasured {
  readonly file: string;
  readonly name: string;
  readonly unique: string;
  readonly seconds: number;
}

function sizesByBase(files: readonly SizedFile[]): Map<string, SizedFile> {
  const out = new Map<string, SizedFile>();
  for (const f of files) out.set(messageBase(f.file.slice(4)), f);
  return out;
}

function fromSized(f: SizedFile): MessageFile | null {
  const name = f.file.slice(4);
  const parsed = parseMessageName(name);
  const own = parsed !== null && parsed.diskSize === f.diskSize && parsed.wireSize === f.wireSize && writerOf(parsed.unique) !== null;
  return parsed && { file: f.file, name, unique: parsed.unique, seconds: parsed.seconds, diskSize: f.diskSize, wireSize: f.wireSize, own };
}

/** Measures the files and adds them to `out`; a file gone meanwhile, or not a regular file, is left out. */
async function measureFiles(dir: string, files: readonly Unmeasured[], out: MessageFile[]): Promise<void> {
  if (files.length === 0) return;
  const buffer = Buffer.allocUnsafe(CHUNK);
  let sliceStart = performance.now();
  const due = (): boolean => performance.now() - sliceStart >= SLICE_MS;
  const breathe = async (): Promise<void> => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  const base = dir + path.sep;
  for (const u of files) {
    if (due()) await breathe();
    let fd: number;
    try {
      fd = fs.openSync(base + u.file, OPEN_FLAGS);
    } catch (err) {
      if (isCode(err, 'ENOENT', 'EISDIR', 'ENXIO')) continue; // moved or removed while we looked, or not a file
      throw err;
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) continue;
      const count = new WireCount();
      // A short read that reaches the size is the end, which saves a call per file; a file that grew meanwhile is read on.
      for (;;) {
        const n = fs.readSync(fd, buffer, 0, CHUNK, null);
        if (n <= 0) break;
        count.add(buffer, n);
        if (n < CHUNK && count.size >= st.size) break;
        if (due()) await breathe();
      }
      out.push({ file: u.file, name: u.name, unique: u.unique, seconds: u.seconds, diskSize: count.size, wireSize: count.wireSize(), own: false });
    } finally {
      fs.closeSync(fd);
    }
  }
}

/**
 * Counts a message's CRLF size as the POP3 wire encoder sends it: each LF
 * not after a CR adds one octet, and a last line without a line end gets a
 * CRLF of its own.
 */
export class WireCount {
  size = 0;
  private extra = 0;
  private last = -1;

  add(chunk: Buffer, length: number): void {
    let at = chunk.indexOf(0x0a);
    while (at >= 0 && at < length) {
      const before = at > 0 ? chunk[at - 1] : this.last;
      if (before !== 0x0d) this.extra += 1;
      at = chunk.indexOf(0x0a, at + 1);
    }
    if (length > 0) this.last = chunk[length - 1] as number;
    this.size += length;
  }

  wireSize(): number {
    return this.size + this.extra + (this.size > 0 && this.last !== 0x0a ? 2 : 0);
  }
}
