/**
 * One at a time per key, the others wait in line (first come, first served).
 *
 * The line of each key is bounded: past the bound a newcomer is turned away
 * at once rather than queued. A waiter whose signal aborts leaves the line
 * without ever getting its turn. A key with nobody in it costs nothing.
 */

export type LineEntry = { readonly kind: 'turn'; release(): void } | { readonly kind: 'full' } | { readonly kind: 'aborted' };

interface Waiter {
  readonly grant: () => void;
}

interface Line {
  busy: boolean;
  readonly waiting: Waiter[];
}

export class KeyedLine {
  private readonly lines = new Map<string, Line>();

  /** `maxWaiting`: how many may wait behind the one whose turn it is. */
  constructor(private readonly maxWaiting: number) {}

  /** Resolves when it is this caller's turn (call `release` when done), or at once when the line is full. */
  enter(key: string, signal: AbortSignal): Promise<LineEntry> {
    if (signal.aborted) return Promise.resolve({ kind: 'aborted' });
    let line = this.lines.get(key);
    if (line === undefined) {
      line = { busy: false, waiting: [] };
      this.lines.set(key, line);
    }
    const held = line;
    if (!held.busy) {
      held.busy = true;
      return Promise.resolve(this.turn(key, held));
    }
    if (held.waiting.length >= this.maxWaiting) return Promise.resolve({ kind: 'full' });
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.turn(key, held));
        },
      };
      const onAbort = (): void => {
        const at = held.waiting.indexOf(waiter);
        if (at >= 0) held.waiting.splice(at, 1);
        resolve({ kind: 'aborted' });
      };
      signal.addEventListener('abort', onAbort, { once: true });
      held.waiting.push(waiter);
    });
  }

  /** Keys with someone in line or at its head (for tests and the log). */
  get size(): number {
    return this.lines.size;
  }

  private turn(key: string, line: Line): LineEntry {
    let released = false;
    return {
      kind: 'turn',
      release: () => {
        if (released) return;
        released = true;
        const next = line.waiting.shift();
        if (next !== undefined) {
          next.grant();
          return;
        }
        line.busy = false;
        this.lines.delete(key);
      },
    };
  }
}
