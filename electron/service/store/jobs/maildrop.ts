/**
 * A POP3 session's view of a mailbox: the maildrop snapshot taken at
 * log-in, its messages read as stored, and the expunge at QUIT.
 *
 * An expunge and a snapshot of the same mailbox never overlap (the
 * mailbox's mutex): a session that opens the maildrop while the QUIT of
 * one that already hung up is applied sees all of its deletions or none.
 * Across processes the maildrop lock file does the same: a session's
 * maildrop holds it from the open until its expunge has finished
 * (maildrop-lock.ts), and its state is followed meanwhile
 * (maildrop-watch.ts).
 */

import fs, { createReadStream, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { parseAddress, type Address } from '../../../../shared/names.js';
import { isDirectorySync } from '../fs-util.js';
import { mailboxDir } from '../layout.js';
import { expungeFiles, type MessageFile } from '../maildir.js';
import { fileAt, readMaildrop, type MaildropListing } from '../maildrop-listing.js';
import { SizeCacheWriter } from '../size-cache.js';
import { countsOf, finishExpunges, recoverOnce } from '../mailbox-sync.js';
import { hashUidl, uidlFor } from '../message-names.js';
import { dropHolder } from '../maildrop-holder.js';
import { MaildropLock } from '../maildrop-lock.js';
import { MaildropWatch, type Followed } from '../maildrop-watch.js';
import { mailboxMetaFile } from '../layout.js';
import { readMailboxMetaSync } from '../meta.js';
import { noMailbox, type StoreCore } from '../store-core.js';
import { ExpungePendingError, type Maildrop, type MaildropRevoked, type OpenMaildropOptions, type StoredMessage } from '../types.js';

/** Messages of maildrop readings kept in memory, across all mailboxes. */
const REMEMBERED_MESSAGES = 50_000;
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/** A maildrop as sessions see it, built from one reading; shared by every session while the folders stay as they were. */
interface Reading {
  readonly listing: MaildropListing;
  readonly messages: readonly StoredMessage[];
  /** Their UIDLs; handed on to the next reading when that one only adds messages (this one is then forgotten). */
  readonly uidls: Set<string>;
}

/** The message sessions see for each file read; kept while the file's object is (maildrop-listing.ts keeps it across readings). */
const messageOf = new WeakMap<MessageFile, StoredMessage>();

export class Maildrops {
  /**
   * The last reading of recently opened maildrops: while new/ and cur/ keep
   * their stamps, the next log-in takes it as it is (maildrop-listing.ts).
   */
  private readonly remembered = new Map<string, Reading>();
  private rememberedMessages = 0;

  private readonly cacheWriter: SizeCacheWriter;
  /** Session maildrops, their state polled for changes made by other processes. */
  readonly watch: MaildropWatch;

  constructor(private readonly core: StoreCore) {
    this.cacheWriter = new SizeCacheWriter(core.log);
    this.watch = new MaildropWatch(core.root, core.log, (key, fn) => core.serialized(key, fn));
  }

  /** Waits for the size caches still being written, and removes this process's holder file (the sessions have ended). */
  close(): Promise<void> {
    this.watch.close();
    dropHolder(this.core.root);
    return this.cacheWriter.settle();
  }

  async openMaildrop(address: string, options: OpenMaildropOptions = {}): Promise<Maildrop> {
    const a = parseAddress(address);
    // Under the mailbox's mutex: a snapshot taken while an expunge runs would show half of it.
    return this.core.guardedRun(a.address, mailboxDir(this.core.root, a), () => this.openMaildropOf(a, options.session === true));
  }

  private async openMaildropOf(a: Address, session: boolean): Promise<Maildrop> {
    const dir = mailboxDir(this.core.root, a);
    // The open's file system steps are synchronous, as a log-in's state reads (state-reads.ts):
    // microseconds each in the page cache, against a thread-pool round trip apiece.
    if (!isDirectorySync(dir)) throw noMailbox(a);
    // Before recovery and the reading: another process's expunge of this mailbox has finished once this is ours.
    const lock = session ? MaildropLock.take(dir, this.core.root) : null;
    if (session && lock === null) {
      this.core.log.warn('The maildrop lock file cannot be written (the store is read-only or full); the session reads the maildrop without it', { mailbox: a.address });
    }
    try {
      await recoverOnce(this.core, a);
      await finishExpunges(this.core, a);
      // The hash it opens under: a change of it anywhere closes the session (maildrop-watch.ts).
      const passwordHash = session ? (readMailboxMetaSync(mailboxMetaFile(this.core.root, a), a.address)?.password ?? null) : null;
      const before = this.remembered.get(a.address);
      const listing = await readMaildrop(dir, this.cacheWriter, before?.listing);
      const reading = before?.listing === listing ? before : snapshotOf(listing, before);
      this.remember(a.address, reading);
      const maildrop = new FileMaildrop(this, a, dir, reading.messages, reading.listing, lock);
      if (lock !== null) maildrop.follow(passwordHash);
      return maildrop;
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  /** Keeps the latest readings, fewest-recently used out first, while their messages fit REMEMBERED_MESSAGES. */
  private remember(address: string, reading: Reading): void {
    const old = this.remembered.get(address);
    if (old) {
      this.remembered.delete(address);
      this.rememberedMessages -= old.messages.length;
    }
    if (reading.listing.stamps === null || reading.messages.length > REMEMBERED_MESSAGES) return;
    this.remembered.set(address, reading);
    this.rememberedMessages += reading.messages.length;
    for (const [key, r] of this.remembered) {
      if (this.rememberedMessages <= REMEMBERED_MESSAGES) break;
      this.remembered.delete(key);
      this.rememberedMessages -= r.messages.length;
    }
  }

  /** Expunges files of a mailbox, keeps the index right, and tells listeners. */
  async expunge(a: Address, dir: string, files: readonly MessageFile[]): Promise<void> {
    if (files.length === 0) return;
    const { core } = this;
    const sizes = new Map(files.map((f) => [f.file, f.diskSize]));
    // A pending expunge is returned, not thrown, so that the index still hears of the change.
    const run = async (): Promise<{ removed: Set<string>; pending: ExpungePendingError | null }> => {
      try {
        return { removed: await expungeFiles(dir, [...sizes.keys()], core.fsync), pending: null };
      } catch (err) {
        if (err instanceof ExpungePendingError) return { removed: new Set(), pending: err };
        throw err;
      }
    };
    const apply = (): Promise<{ removed: Set<string>; pending: ExpungePendingError | null }> =>
      core.index.change(a.domain, a.mailbox, run, (d, { removed, pending }) => {
        const e = d.entries.get(a.mailbox);
        if (!e) return;
        if (pending) {
          d.entries.delete(a.mailbox); // some files went, some not: rescan on next use
          return;
        }
        for (const f of removed) {
          e.messages -= 1;
          e.bytes -= sizes.get(f) ?? 0;
        }
        if (e.messages < 0 || e.bytes < 0) d.entries.delete(a.mailbox); // out of step: rescan on next use
      });
    // The session that asked may already be gone (a hang-up during QUIT); the next one to open
    // this maildrop waits on the same mutex, so it sees all of these deletions or none.
    const { pending } = await core.guardedRun(a.address, dir, apply);
    if (pending) {
      // The next openMaildrop finishes the record (finishExpunges) before it lists the mailbox.
      core.log.error('An expunge could not remove every file; it is recorded and is finished when the mailbox is next opened', {
        mailbox: a.address,
        record: pending.record,
        error: pending.message,
      });
      throw pending;
    }
    const counts = await countsOf(core, a);
    core.emit({ type: 'mailboxChanged', address: a.address, messages: counts.messages, bytes: counts.bytes });
  }
}

/**
 * The messages sessions see for one reading: UIDLs from the unique parts,
 * kept distinct. A file unchanged since an earlier reading keeps its
 * message object; a reading that only added files to the `previous` one
 * (new mail) builds on its messages.
 */
function snapshotOf(listing: MaildropListing, previous?: Reading): Reading {
  const grows = previous !== undefined && listing.extends === previous.listing;
  const messages: StoredMessage[] = grows ? [...previous.messages] : [];
  const seen = grows ? previous.uidls : new Set<string>();
  for (const f of grows ? listing.files.slice(previous.messages.length) : listing.files) {
    const old = messageOf.get(f);
    let uidl = old?.uidl ?? uidlFor(f.unique);
    // Two files with one unique part (a copy made by hand): keep UIDLs distinct and stable.
    if (seen.has(uidl)) uidl = hashUidl(f.file);
    seen.add(uidl);
    let message = old;
    if (message?.uidl !== uidl) {
      message = Object.freeze({ file: f.file, uidl, size: f.wireSize });
      messageOf.set(f, message);
    }
    messages.push(message);
  }
  return { listing, messages: Object.freeze(messages), uidls: seen };
}

/** One POP3 session's snapshot of a mailbox. */
class FileMaildrop implements Maildrop {
  private expunging: Promise<unknown> | null = null;
  private followed: Followed | null = null;
  private revoked: MaildropRevoked | null = null;
  private revokedListener: ((revoked: MaildropRevoked) => void) | null = null;
  private released = false;

  constructor(
    private readonly maildrops: Maildrops,
    private readonly a: Address,
    private readonly dir: string,
    readonly messages: readonly StoredMessage[],
    private readonly listing: MaildropListing,
    private readonly lock: MaildropLock | null,
  ) {}

  /** Starts following the mailbox's state while the lock is held. */
  follow(passwordHash: string | null): void {
    if (this.lock === null) return;
    this.followed = {
      a: this.a,
      passwordHash,
      lock: this.lock,
      revoke: (revoked) => {
        this.followed = null;
        this.revoked = revoked;
        this.revokedListener?.(revoked);
      },
    };
    this.maildrops.watch.add(this.followed);
  }

  onRevoked(listener: (revoked: MaildropRevoked) => void): void {
    this.revokedListener = listener;
    // Found before the session listened: told at once.
    if (this.revoked !== null) listener(this.revoked);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.followed !== null) this.maildrops.watch.delete(this.followed);
    this.followed = null;
    const lock = this.lock;
    if (lock === null) return;
    // An expunge still running (a client that hung up during QUIT) keeps the lock until it ends.
    if (this.expunging === null) lock.release();
    else void this.expunging.finally(() => lock.release());
  }

  get address(): string {
    return this.a.address;
  }

  openMessage(message: StoredMessage): Readable {
    const f = this.fileOf(message);
    // Larger reads mean fewer thread-pool round trips per message; memory stays bounded by backpressure.
    return createReadStream(path.join(this.dir, f.file), { highWaterMark: 256 * 1024 });
  }

  openMessageFile(message: StoredMessage): Promise<FileHandle> {
    const f = this.fileOf(message);
    return fsp.open(path.join(this.dir, f.file), OPEN_FLAGS);
  }

  readMessage(message: StoredMessage, scratch: Buffer): Buffer | null {
    const f = this.fileOf(message);
    if (f.diskSize >= scratch.length) return null;
    // Synchronous, as the listing's reads (maildrop-listing.ts): a page-cached file of a few
    // KiB costs microseconds this way and three thread-pool round trips otherwise.
    // Non-blocking open: a named pipe put in the message's place reads as empty, never waits.
    const fd = fs.openSync(path.join(this.dir, f.file), OPEN_FLAGS);
    try {
      // One octet more than recorded, to notice a file that holds more than its name says.
      const want = f.diskSize + 1;
      let n = 0;
      while (n < want) {
        const got = fs.readSync(fd, scratch, n, want - n, null);
        if (got <= 0) break;
        n += got;
      }
      return n > f.diskSize ? null : scratch.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  }

  isWireForm(message: StoredMessage): boolean {
    const f = this.fileOf(message);
    // Disk size = wire size exactly when no LF lacks its CR and the file ends with a line end (WireCount).
    return f.diskSize === f.wireSize;
  }

  private fileOf(message: StoredMessage): MessageFile {
    const f = fileAt(this.listing, message.file);
    if (!f) throw new Error(`"${message.file}" is not a message of ${this.a.address}.`);
    return f;
  }

  async expunge(messages: readonly StoredMessage[]): Promise<void> {
    const files = new Map<string, MessageFile>();
    for (const m of messages) {
      const f = fileAt(this.listing, m.file);
      if (!f) throw new Error(`"${m.file}" is not a message of ${this.a.address}.`);
      files.set(f.file, f);
    }
    const run = this.maildrops.expunge(this.a, this.dir, [...files.values()]);
    this.expunging = run.catch(() => undefined);
    await run;
  }
}
