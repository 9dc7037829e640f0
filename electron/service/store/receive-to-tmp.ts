/**
 * Receiving one message into a Maildir's tmp/: streamed, CRLF turned into LF
 * on the way, both sizes counted, the size limit enforced. The caller then
 * renames the file into new/ under the name this returns.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { unlinkIfExists } from './fs-util.js';
import { messageFileName, newUniqueName } from './message-names.js';

const CR = 0x0d;
const LF = 0x0a;

/**
 * Turns CRLF into LF across chunk boundaries and counts the size the message
 * will have on the wire again (each LF not preceded by CR becomes CRLF; a
 * lone CR is kept as it is).
 */
export class LineEndConverter {
  private pendingCr = false;
  private last = -1;
  /** Bytes written out (on disk). */
  diskSize = 0;
  /** Bytes with CRLF line ends. */
  wireSize = 0;

  /** Converts one chunk; the result may be the input itself when nothing changes. */
  push(chunk: Buffer): Buffer {
    if (!this.pendingCr && chunk.indexOf(CR) < 0) {
      this.count(chunk, chunk.length);
      return chunk;
    }
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let o = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (this.pendingCr) {
        this.pendingCr = false;
        if (b !== LF) out[o++] = CR;
      }
      if (b === CR) this.pendingCr = true;
      else out[o++] = b;
    }
    const result = out.subarray(0, o);
    this.count(result, o);
    return result;
  }

  /**
   * What is still held back at the end of the stream (a final lone CR). A
   * message whose last line has no line end is sent with a CRLF added
   * before the terminator; that CRLF is part of its size on the wire.
   */
  end(): Buffer {
    let tail = Buffer.alloc(0);
    if (this.pendingCr) {
      this.pendingCr = false;
      tail = Buffer.from([CR]);
      this.count(tail, 1);
    }
    if (this.diskSize > 0 && this.last !== LF) this.wireSize += 2;
    return tail;
  }

  private count(buf: Buffer, length: number): void {
    this.diskSize += length;
    this.wireSize += length;
    let at = buf.indexOf(LF);
    while (at >= 0 && at < length) {
      const before = at > 0 ? buf[at - 1] : this.last;
      if (before !== CR) this.wireSize += 1;
      at = buf.indexOf(LF, at + 1);
    }
    if (length > 0) this.last = buf[length - 1] as number;
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
