/**
 * Receiving one message into a Maildir's tmp/: streamed, put into CRLF wire
 * form on the way, its size counted, the size limit enforced. The caller then
 * renames the file into new/ under the name this returns.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { insertByteBefore } from '../insert-byte.js';
import { unlinkIfExists } from './fs-util.js';
import { messageFileName, newUniqueName } from './message-names.js';

const CR = 0x0d;
const LF = 0x0a;

/**
 * Puts a message into POP3 wire form on its way to disk, across chunk
 * boundaries: an LF without a CR before it gets one (a CRLF stays one line
 * end, a lone CR stays data), and a last line without a line end gets a
 * CRLF. The file is then exactly what RETR sends before dot-stuffing, so
 * its size on disk is its size on the wire and RETR copies it as it is
 * (Dovecot's `mail_save_crlf`; Maildir readers take either line end).
 */
export class LineEndConverter {
  private last = -1;
  /** Bytes written out (on disk, and on the wire once `end` has run). */
  diskSize = 0;

  get wireSize(): number {
    return this.diskSize;
  }

  /** Converts one chunk; the result is the input itself when it has no bare LF. */
  push(chunk: Buffer): Buffer {
    const len = chunk.length;
    if (len === 0) return chunk;
    let bare: number[] | null = null;
    for (let at = chunk.indexOf(LF); at >= 0; at = chunk.indexOf(LF, at + 1)) {
      if ((at > 0 ? chunk[at - 1] : this.last) !== CR) (bare ??= []).push(at);
    }
    this.last = chunk[len - 1] as number;
    if (bare === null) {
      this.diskSize += len;
      return chunk;
    }
    const out = insertByteBefore(chunk, bare, CR);
    this.diskSize += out.length;
    return out;
  }

  /** What the end of the message still needs: the CRLF of a last line without a line end. */
  end(): Buffer {
    if (this.diskSize === 0 || this.last === LF) return Buffer.alloc(0);
    this.last = LF;
    this.diskSize += 2;
    return Buffer.from([CR, LF]);
  }
}

/** A message fully written to tmp/, not yet visible. */
export interface ReceivedMessage {
  readonly tmpPath: string;
  /** The name it gets in new/ (unique part plus S= and W=). */
  readonly fileName: string;
  readonly diskSize: number;
  readonly wireSize: number;
}

/** The error for a message over the limit; `code` is EMSGSIZE as the interface promises. */
export function messageTooLarge(maxBytes: number): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`The message is larger than the limit of ${maxBytes} bytes.`);
  err.code = 'EMSGSIZE';
  return err;
}

/**
 * Streams `content` into `<mailboxDir>/tmp/<unique>`, fsynced when asked.
 * On any failure the tmp file is removed and the error rethrown; on EMSGSIZE
 * the rest of the input is drained, so the sender's protocol stays in step.
 */
export async function receiveToTmp(mailboxDir: string, content: Readable, options: { maxBytes?: number; fsync: boolean }): Promise<ReceivedMessage> {
  const unique = newUniqueName();
  const tmpPath = path.join(mailboxDir, 'tmp', unique);
  const maxBytes = options.maxBytes ?? Infinity;
  const convert = new LineEndConverter();
  let received = 0;
  let tooLarge = false;
  const handle = await fsp.open(tmpPath, 'wx', 0o600);
  try {
    try {
      const source: AsyncIterable<unknown> = typeof content.iterator === 'function' ? content.iterator({ destroyOnReturn: false }) : content;
      for await (const piece of source) {
        const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : Buffer.from(piece as Uint8Array);
        received += chunk.length;
        if (received > maxBytes) {
          tooLarge = true;
          break;
        }
        const out = convert.push(chunk);
        if (out.length > 0) await handle.write(out);
      }
      if (tooLarge) throw messageTooLarge(maxBytes);
      const tail = convert.end();
      if (tail.length > 0) await handle.write(tail);
      if (options.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await unlinkIfExists(tmpPath).catch(() => undefined);
    if (tooLarge && !content.destroyed) content.resume();
    throw err;
  }
  return { tmpPath, fileName: messageFileName(unique, convert.diskSize, convert.wireSize), diskSize: convert.diskSize, wireSize: convert.wireSize };
}
