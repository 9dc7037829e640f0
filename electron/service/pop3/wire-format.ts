/**
 * Turns a stored message into POP3 wire form, one chunk at a time.
 *
 * A file in wire form already (the store's own mail: CRLF line ends) only
 * needs its dot-stuffing: `DotStuffer`, which returns each chunk as it is
 * when no line in it starts with ".". Other files (an older store's, or
 * another Maildir writer's, with LF line ends) go through `WireEncoder`.
 *
 * The wire needs CRLF, and every line that
 * starts with "." gets a second "." (RFC 1939 byte-stuffing) so the client
 * never mistakes it for the end of the response. A CRLF already in the file
 * stays one line end; a lone CR is ordinary data, as the store counts it, so
 * the octets sent match the size LIST reports (before stuffing). For TOP,
 * output stops after the header, the blank line and the requested number of
 * body lines.
 */

import { insertByteBefore } from '../insert-byte.js';

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const CR_BUF = Buffer.from('\r');
/** Ends a multi-line response; preceded by a CRLF when the message lacks a final line end. */
const TERMINATOR = Buffer.from('.\r\n');
const EMPTY = Buffer.alloc(0);
const LF_DOT = Buffer.from('\n.');
/** Below this length a byte loop beats Buffer#copy's native call. */
const SHORT_COPY = 16;

export class WireEncoder {
  private atLineStart = true;
  /** A CR ending the previous chunk: a line end if the next chunk starts with LF, data otherwise. */
  private heldCR = false;
  private inHeader = true;
  private bodyLinesLeft: number;
  private finished = false;

  /** @param bodyLines for TOP: body lines to send after the header; omit to send the whole message. */
  constructor(bodyLines?: number) {
    this.bodyLinesLeft = bodyLines ?? Infinity;
  }

  /** True once TOP has sent all it needs: the rest of the file can be left unread. */
  get done(): boolean {
    return this.finished;
  }

  /** Converts one chunk of the stored file. */
  push(chunk: Buffer): Buffer {
    if (this.heldCR) {
      this.heldCR = false;
      chunk = Buffer.concat([CR_BUF, chunk]);
    }
    return this.convert(chunk, false);
  }

  /** The response's end: a held CR, a line end if the message lacked a final one, then ".". */
  end(): Buffer {
    const tail = this.heldCR && !this.finished ? this.convert(CR_BUF, true) : EMPTY;
    this.heldCR = false;
    const close = this.atLineStart || this.finished ? TERMINATOR : Buffer.concat([CRLF, TERMINATOR]);
    return tail.length === 0 ? close : Buffer.concat([tail, close]);
  }

  /**
   * One pass over the chunk into a single output buffer. Each input byte
   * yields at most two output bytes (LF -> CRLF, or a stuffed "." before a
   * line's first byte), so 2 x input is always enough.
   */
  private convert(chunk: Buffer, final: boolean): Buffer {
    const len = chunk.length;
    if (len === 0 || this.finished) return EMPTY;
    const out = Buffer.allocUnsafe(len * 2);
    let o = 0;
    let i = 0;
    while (i < len && !this.finished) {
      let separator = false;
      if (this.atLineStart) {
        const first = chunk[i];
        const blank = first === LF || (first === CR && chunk[i + 1] === LF);
        if (this.inHeader && blank) {
          // The blank line between header and body: TOP always sends it.
          this.inHeader = false;
          separator = true;
          if (this.bodyLinesLeft === 0) {
            out[o++] = CR;
            out[o++] = LF;
            this.finished = true;
            break;
          }
        } else if (!this.inHeader && this.bodyLinesLeft === 0) {
          this.finished = true;
          break;
        }
        if (first === DOT) out[o++] = DOT;
      }
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) {
        // The line goes on in the next chunk; a final CR may be half of a CRLF.
        let stop = len;
        if (!final && chunk[len - 1] === CR) {
          stop = len - 1;
          this.heldCR = true;
        }
        if (stop > i) {
          o = copyBytes(chunk, i, stop, out, o);
          this.atLineStart = false;
        }
        break;
      }
      const contentEnd = lf > i && chunk[lf - 1] === CR ? lf - 1 : lf;
      if (contentEnd > i) o = copyBytes(chunk, i, contentEnd, out, o);
      out[o++] = CR;
      out[o++] = LF;
      if (!this.inHeader && !separator) this.bodyLinesLeft--;
      this.atLineStart = true;
      i = lf + 1;
    }
    return o === 0 ? EMPTY : out.subarray(0, o);
  }
}

/** Copies src[start, end) to dst at pos; short runs by hand, where a native call costs more than it saves. */
function copyBytes(src: Buffer, start: number, end: number, dst: Buffer, pos: number): number {
  if (end - start < SHORT_COPY) {
    for (let k = start; k < end; k++) dst[pos++] = src[k] as number;
    return pos;
  }
  return pos + src.copy(dst, pos, start, end);
}

/**
 * RFC 1939 byte-stuffing of a message already in wire form (CRLF line
 * ends), across chunk boundaries: a "." before every line that starts with
 * one. The scan is one native search per such line, so a chunk without
 * them comes back as the very same buffer, copied nowhere.
 */
export class DotStuffer {
  private atLineStart = true;

  /** The chunk, stuffed; into `scratch` when a copy is needed and it is large enough. */
  push(chunk: Buffer, scratch?: Buffer): Buffer {
    const len = chunk.length;
    if (len === 0) return chunk;
    let dots: number[] | null = null;
    if (this.atLineStart && chunk[0] === DOT) dots = [0];
    for (let at = chunk.indexOf(LF_DOT); at >= 0; at = chunk.indexOf(LF_DOT, at + 2)) (dots ??= []).push(at + 1);
    // A chunk ending in LF leaves the next one at a line start; its first byte is checked above next time.
    this.atLineStart = chunk[len - 1] === LF;
    return dots === null ? chunk : insertByteBefore(chunk, dots, DOT, scratch);
  }

  /** The response's end (a line end first if the data lacked its last one, which a wire-form file never does). */
  end(): Buffer {
    return this.atLineStart ? TERMINATOR : Buffer.concat([CRLF, TERMINATOR]);
  }
}
