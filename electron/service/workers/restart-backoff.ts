/**
 * How long to wait before replacing a worker process that died.
 *
 * One death (a kill, an out-of-memory) is replaced at once: the service is
 * short of a process until then. Deaths in a loop (a bad disk, a setting that
 * makes every worker fail at start) must not become a fork storm: past as
 * many deaths within a minute as there are workers, each replacement waits
 * twice as long as the one before, up to 30 s, and the wait is logged.
 */

export interface BackoffOptions {
  /** Deaths within the window that are replaced at once (the number of workers). */
  readonly free: number;
  readonly windowMs?: number;
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
}

export class RestartBackoff {
  private deaths: number[] = [];
  private readonly windowMs: number;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly options: BackoffOptions) {
    this.windowMs = options.windowMs ?? 60_000;
    this.firstDelayMs = options.firstDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
  }

  /** Records a death at `now` and returns the wait before its replacement, in ms. */
  death(now: number): number {
    this.deaths = this.deaths.filter((t) => now - t < this.windowMs);
    this.deaths.push(now);
    const over = this.deaths.length - Math.max(1, this.options.free);
    if (over <= 0) return 0;
    return Math.min(this.maxDelayMs, this.firstDelayMs * 2 ** (over - 1));
  }
}
