/**
 * Splits the bytes a client sends into command lines, with bounded memory.
 *
 * A line longer than the limit is reported as soon as it is known to be too
 * long, so a client streaming megabytes without a line end never makes the
 * buffer grow past about one socket chunk plus the limit.
 */

/** RFC 2449 lets clients send 255 octets; we accept some slack for long passwords. */
export const MAX_COMMAND_LINE = 1024;

/** Returned by `take` when the next line is longer than the limit. */
export const LINE_TOO_LONG = Symbol('line too long');

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

export class CommandLineReader {
  private pending: Buffer = EMPTY;

  constructor(private readonly maxLine: number = MAX_COMMAND_LINE) {}

  /** Bytes received but not yet taken as lines. */
  get buffered(): number {
    return this.pending.length;
  }

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
  }

  /** The next complete line without its line end, LINE_TOO_LONG, or null when more input is needed. */
  take(): Buffer | typeof LINE_TOO_LONG | null {
    // Only the first maxLine + 2 bytes can hold an acceptable line's end.
    const window = Math.min(this.pending.length, this.maxLine + 2);
    const lf = this.pending.subarray(0, window).indexOf(LF);
    if (lf < 0) {
      if (this.pending.length > this.maxLine + 1) return this.tooLong();
      return null;
    }
    const end = lf > 0 && this.pending[lf - 1] === CR ? lf - 1 : lf;
    if (end > this.maxLine) return this.tooLong();
    const line = this.pending.subarray(0, end);
    this.pending = lf + 1 === this.pending.length ? EMPTY : this.pending.subarray(lf + 1);
    return line;
  }

  private tooLong(): typeof LINE_TOO_LONG {
    this.pending = EMPTY;
    return LINE_TOO_LONG;
  }
}
