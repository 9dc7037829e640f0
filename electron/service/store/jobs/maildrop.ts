/**
 * A POP3 session's view of a mailbox: the maildrop snapshot taken at
 * log-in, its messages read as stored, and the expunge at QUIT.
 *
 * An expunge and a snapshot of the same mailbox never overlap (the
 * mailbox's mutex): a session that opens the maildrop while the QUIT of
 * one that already hung up is applied sees all of its deletions or none.
 */

import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { parseAddress, type Address } from '../../../../shared/names.js';
import { isCode, isDirectory } from '../fs-util.js';
import { mailboxDir } from '../layout.js';
import { expungeFiles, listMessageFiles, wireSizeOf, type MessageFile } from '../maildir.js';
import { countsOf, finishExpunges, recoverOnce } from '../mailbox-sync.js';
import { hashUidl, uidlFor } from '../message-names.js';
import { noMailbox, type StoreCore } from '../store-core.js';
import { ExpungePendingError, type Maildrop, type StoredMessage } from '../types.js';

export class Maildrops {
  constructor(private readonly core: StoreCore) {}

  async openMaildrop(address: string): Promise<Maildrop> {
    const a = parseAddress(address);
    // Under the mailbox's mutex: a snapshot taken while an expunge runs would show half of it.
    return this.core.guardedRun(a.address, mailboxDir(this.core.root, a), () => this.openMaildropOf(a));
  }

  private async openMaildropOf(a: Address): Promise<Maildrop> {
    const dir = mailboxDir(this.core.root, a);
    if (!(await isDirectory(dir))) throw noMailbox(a);
    await recoverOnce(this.core, a);
    await finishExpunges(this.core, a);
    const files = await listMessageFiles(dir);
    const messages: StoredMessage[] = [];
    const byFile = new Map<string, MessageFile>();
    const seen = new Set<string>();
    for (const f of files) {
      let uidl = uidlFor(f.unique);
      // Two files with one unique part (a copy made by hand): keep UIDLs distinct and stable.
      if (seen.has(uidl)) uidl = hashUidl(f.file);
      seen.add(uidl);
      let size = f.wireSize;
      if (size === null) {
        try {
          size = await wireSizeOf(path.join(dir, f.file));
        } catch (err) {
          if (isCode(err, 'ENOENT')) continue;
          throw err;
        }
      }
      messages.push(Object.freeze({ file: f.file, uidl, size }));
      byFile.set(f.file, f);
    }
    return new FileMaildrop(this, a, dir, Object.freeze(messages), byFile);
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

/** One POP3 session's snapshot of a mailbox. */
class FileMaildrop implements Maildrop {
  constructor(
    private readonly maildrops: Maildrops,
    private readonly a: Address,
    private readonly dir: string,
    readonly messages: readonly StoredMessage[],
    private readonly byFile: ReadonlyMap<string, MessageFile>,
  ) {}

  get address(): string {
    return this.a.address;
  }

  openMessage(message: StoredMessage): Readable {
    const f = this.byFile.get(message.file);
    if (!f) throw new Error(`"${message.file}" is not a message of ${this.a.address}.`);
    // Larger reads mean fewer thread-pool round trips per message; memory stays bounded by backpressure.
    return createReadStream(path.join(this.dir, f.file), { highWaterMark: 256 * 1024 });
  }

  async expunge(messages: readonly StoredMessage[]): Promise<void> {
    const files = new Map<string, MessageFile>();
    for (const m of messages) {
      const f = this.byFile.get(m.file);
      if (!f) throw new Error(`"${m.file}" is not a message of ${this.a.address}.`);
      files.set(f.file, f);
    }
    await this.maildrops.expunge(this.a, this.dir, [...files.values()]);
  }
}
