/**
 * What a mailbox's messages measure, remembered for mail whose names do not
 * say (another program's delivery: no `,S=`/`,W=`): each such file is read
 * once to count its CRLF size, not at every log-in.
 *
 * `<mailbox>/.winpop-sizes.json` lists every message file of the mailbox in
 * delivery order with its size on disk and on the wire, and the stamps of
 * new/ and cur/ (folder-stamps.ts) the list was read under. While the
 * stamps hold, a log-in takes the list as it is; otherwise it reads the
 * folders and takes each known file's sizes from here by its name without
 * the Maildir info (a move to cur/ or a flag change keeps them). A message's
 * name stands for its content, as with the store's own `S=`/`W=` names:
 * Maildir files are never rewritten in place. Only mailboxes that hold such
 * mail have the file; it is a cache, written whole by one rename without
 * fsync (after a crash it is at worst missing or unreadable, then read
 * again from the messages), and never trusted when damaged.
 */

import { promises as fsp } from 'node:fs';
import type { Logger } from '../log.js';
import { writeFileAtomic } from './atomic-file.js';
import type { FolderStamps } from './folder-stamps.js';
import { isCode, parseJsonObject, unlinkIfExists } from './fs-util.js';
import { sizeCacheFile } from './layout.js';

const VERSION = 1;

/** One message file with both its sizes. */
export interface SizedFile {
  /** `new/<name>` or `cur/<name>`. */
  readonly file: string;
  /** Octets on disk. */
  readonly diskSize: number;
  /** Octets on the wire: CRLF line ends, and a CRLF after a last line without one. */
  readonly wireSize: number;
}

export interface SizeCache {
  /** The folders' stamps when `files` was read; null when they had not settled. */
  readonly stamps: FolderStamps | null;
  /** Every message file, in delivery order. */
  readonly files: readonly SizedFile[];
}

const SAFE_FILE = /^(new|cur)\/[^/\\.][^/\\]*$/;
const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The mailbox's size cache; null when there is none, or it is damaged or of another version. */
export async function readSizeCache(mailboxFolder: string): Promise<SizeCache | null> {
  let text: string;
  try {
    text = await fsp.readFile(sizeCacheFile(mailboxFolder), 'utf8');
  } catch (err) {
    if (isCode(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  }
  return decode(text);
}

function decode(text: string): SizeCache | null {
  const c = parseJsonObject(text);
  if (c === null) return null;
  if (c.version !== VERSION || !Array.isArray(c.files) || c.files.length % 3 !== 0) return null;
  let stamps: FolderStamps | null = null;
  if (c.newMs !== null || c.curMs !== null) {
    if (!isTime(c.newMs) || !isTime(c.curMs)) return null;
    stamps = { newMs: c.newMs, curMs: c.curMs };
  }
  // Flat [file, disk, wire, …]: a twentieth of the objects to parse for a big mailbox.
  const flat = c.files as unknown[];
  const files: SizedFile[] = [];
  for (let i = 0; i < flat.length; i += 3) {
    const [file, diskSize, wireSize] = [flat[i], flat[i + 1], flat[i + 2]];
    // The names are opened as they stand: anything but a file directly in new/ or cur/ means damage.
    if (typeof file !== 'string' || !SAFE_FILE.test(file) || !isSize(diskSize) || !isSize(wireSize)) return null;
    files.push({ file, diskSize, wireSize });
  }
  return { stamps, files };
}

/** How long a size cache waits before it is written: changes in a row are written once. */
const WRITE_DELAY_MS = 1_000;

/**
 * Writes size caches a moment after the log-in that read them: encoding a
 * big maildrop's cache takes tens of milliseconds of this thread, which no
 * client should wait for, and a mailbox receiving mail all the time is
 * written once per delay, with its latest reading. A process that ends
 * without `settle()` loses only those writes: the next reading measures
 * the files that came since the last one again.
 */
export class SizeCacheWriter {
  private readonly due = new Map<string, { timer: NodeJS.Timeout; work: () => Promise<void> }>();
  /** Writes under way, by mailbox: the next one of a mailbox waits for it, so the latest reading is what stays. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly log: Logger) {}

  write(mailboxFolder: string, cache: SizeCache): void {
    this.later(mailboxFolder, () => writeSizeCache(mailboxFolder, cache, this.log));
  }

  /** Removes the mailbox's size cache (it no longer holds mail that needs one). */
  remove(mailboxFolder: string): void {
    this.later(mailboxFolder, async () => {
      try {
        await unlinkIfExists(sizeCacheFile(mailboxFolder));
      } catch (err) {
        this.log.debug('Could not remove a size cache', { mailbox: mailboxFolder, error: (err as Error).message });
      }
    });
  }

  /** Writes what is due now, and waits for every write. */
  async settle(): Promise<void> {
    for (const [mailboxFolder, { timer }] of this.due) {
      clearTimeout(timer);
      this.run(mailboxFolder);
    }
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  private later(mailboxFolder: string, work: () => Promise<void>): void {
    const pending = this.due.get(mailboxFolder);
    if (pending) {
      pending.work = work;
      return;
    }
    const timer = setTimeout(() => this.run(mailboxFolder), WRITE_DELAY_MS);
    // A cache is not worth keeping a process alive for.
    timer.unref();
    this.due.set(mailboxFolder, { timer, work });
  }

  private run(mailboxFolder: string): void {
    const pending = this.due.get(mailboxFolder);
    if (!pending) return;
    this.due.delete(mailboxFolder);
    const done = (this.running.get(mailboxFolder) ?? Promise.resolve()).then(pending.work).finally(() => {
      if (this.running.get(mailboxFolder) === done) this.running.delete(mailboxFolder);
    });
    this.running.set(mailboxFolder, done);
  }
}

/** Writes the mailbox's size cache. Never throws: a cache that cannot be written is only slower next time. */
async function writeSizeCache(mailboxFolder: string, cache: SizeCache, log: Logger): Promise<void> {
  const flat: (string | number)[] = [];
  for (const f of cache.files) flat.push(f.file, f.diskSize, f.wireSize);
  const text = JSON.stringify({ version: VERSION, newMs: cache.stamps?.newMs ?? null, curMs: cache.stamps?.curMs ?? null, files: flat });
  try {
    await writeFileAtomic(sizeCacheFile(mailboxFolder), text, { fsync: false });
  } catch (err) {
    log.debug('Could not write a size cache; the sizes are counted again next time', { mailbox: mailboxFolder, error: (err as Error).message });
  }
}
