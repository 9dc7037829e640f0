/**
 * Reads one line from a terminal without showing what is typed: for a
 * password, which must not appear on the screen, in a scrollback or in a
 * screen recording.
 *
 * The terminal is put in raw mode, so echo is off before the question is
 * shown, and every key arrives here: Enter ends the line, Backspace removes
 * the last character, Ctrl+U clears the line, Ctrl+C cancels (raw mode
 * delivers it as a key, not as SIGINT). Other control keys and escape
 * sequences (arrows, function keys) are ignored. `close()` gives the
 * terminal its mode back.
 */

/** The user pressed Ctrl+C at a prompt: nothing may be changed. */
export class PromptCancelled extends Error {
  override readonly name = 'PromptCancelled';
  constructor() {
    super('Cancelled.');
  }
}

/** What a hidden prompt needs of the terminal (process.stdin when it is a TTY). */
export interface TerminalInput {
  setRawMode(mode: boolean): unknown;
  readonly isRaw: boolean;
  setEncoding(encoding: BufferEncoding): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: string) => void): unknown;
  off(event: 'end', listener: () => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

const ENTER = new Set(['\r', '\n']);
const BACKSPACE = new Set(['\x7f', '\b']);
const CTRL_C = '\x03';
const CTRL_D = '\x04';
const CTRL_U = '\x15';
const ESC = '\x1b';

/**
 * Applies typed keys to the line so far. Returns the line and whether Enter
 * (or Ctrl+D) ended it; throws PromptCancelled on Ctrl+C.
 */
function applyKeys(line: string, keys: string): { line: string; done: boolean; rest: string } {
  const chars = Array.from(keys);
  let text = Array.from(line);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === CTRL_C) throw new PromptCancelled();
    if (ENTER.has(c) || c === CTRL_D) {
      // A CR LF pair is one Enter.
      const next = c === '\r' && chars[i + 1] === '\n' ? i + 2 : i + 1;
      return { line: text.join(''), done: true, rest: chars.slice(next).join('') };
    }
    if (BACKSPACE.has(c)) text = text.slice(0, -1);
    else if (c === CTRL_U) text = [];
    else if (c === ESC) i = skipEscape(chars, i);
    else if (c >= ' ' && c !== '\x7f' && !(c >= '\x80' && c <= '\x9f')) text.push(c);
  }
  return { line: text.join(''), done: false, rest: '' };
}

/** Index of the last character of the escape sequence that starts at `start`. */
function skipEscape(chars: readonly string[], start: number): number {
  const kind = chars[start + 1];
  if (kind !== '[' && kind !== 'O') return start;
  let i = start + 2;
  // CSI: parameter and intermediate bytes, then one final byte from @ to ~.
  while (i < chars.length && !((chars[i] as string) >= '@' && (chars[i] as string) <= '~')) i++;
  return Math.min(i, chars.length - 1);
}

/**
 * A prompt session on a terminal: raw mode (so no echo) from open to close,
 * so that keys typed ahead of the next question are neither shown nor lost.
 */
export class HiddenPrompt {
  private readonly wasRaw: boolean;
  /** Keys received and not yet used by a question. */
  private pending = '';
  private ended = false;
  private wake: (() => void) | null = null;
  private readonly onData = (chunk: string): void => {
    this.pending += chunk;
    this.wake?.();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake?.();
  };

  constructor(
    private readonly input: TerminalInput,
    private readonly output: { write(text: string): unknown },
  ) {
    this.wasRaw = input.isRaw;
    // Echo goes off before any question shows, so nothing typed after it can appear.
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', this.onData);
    input.on('end', this.onEnd);
    input.resume();
  }

  /** Shows `question` and resolves to the line typed; rejects with PromptCancelled on Ctrl+C. */
  async ask(question: string): Promise<string> {
    this.output.write(question);
    let line = '';
    try {
      for (;;) {
        const step = applyKeys(line, this.pending);
        line = step.line;
        this.pending = step.rest;
        if (step.done || this.ended) return line;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
      }
    } finally {
      // Echo was off, so the Enter that ended the line did not move the cursor.
      this.output.write('\n');
    }
  }

  /** Gives the terminal back as it was. */
  close(): void {
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.setRawMode(this.wasRaw);
    this.input.pause();
  }
}
