/**
 * Counts of recent failures by key (a client address, a mailbox name), for
 * the penalties that slow down guessing: the POP3 log-in penalty and the
 * SMTP unknown-recipient throttle.
 *
 * The table is bounded: an entry with no failure for `forgetAfterMs` is
 * forgotten, and when the table is full the entry idle the longest goes
 * first. A flood of made-up keys therefore costs a fixed amount of memory,
 * and never evicts the flooder's own entry (touched at every failure, it
 * stays newest).
 */

export interface FailureTableOptions {
  /** An entry with no failure for this long is forgotten, ms. */
  readonly forgetAfterMs: number;
  /** Most keys remembered at once. */
  readonly maxEntries: number;
}

interface Entry {
  failures: number;
  last: number;
}

export class FailureTable {
  /** Insertion order is idle order (oldest first). */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: FailureTableOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Failures recorded for `key` and not yet forgotten. */
  count(key: string): number {
    this.forgetExpired();
    return this.entries.get(key)?.failures ?? 0;
  }

  /** Records one failure for `key`; returns its count. */
  record(key: string): number {
    this.forgetExpired();
    const failures = (this.entries.get(key)?.failures ?? 0) + 1;
    // Re-inserted so the Map's order stays "idle longest first".
    this.entries.delete(key);
    this.entries.set(key, { failures, last: this.now() });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.options.maxEntries) break;
      this.entries.delete(oldest);
    }
    return failures;
  }

  /** Forgets `key`'s failures. */
  clear(key: string): void {
    this.entries.delete(key);
  }

  /** Entries held; bounded by `maxEntries`. */
  get size(): number {
    return this.entries.size;
  }

  private forgetExpired(): void {
    const cutoff = this.now() - this.options.forgetAfterMs;
    for (const [key, entry] of this.entries) {
      if (entry.last > cutoff) break;
      this.entries.delete(key);
    }
  }
}

/** The delay of the `n`-th slowed answer: 0 before the first, then base, 2×base, 4×base… up to the cap. */
export function doublingDelayMs(n: number, options: { readonly baseMs: number; readonly capMs: number }): number {
  if (!(n >= 1)) return 0;
  // 2^30 × base overflows nothing and is past any cap; larger exponents are the cap anyway.
  return Math.min(options.baseMs * 2 ** Math.min(n - 1, 30), options.capMs);
}
