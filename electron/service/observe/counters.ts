/**
 * The service's counters: sessions, log-ins, messages, octets, SMTP mail and
 * refused connections, counted in this process where each thing happens.
 *
 * Each process counts alone (`processCounters`); its snapshot is a plain
 * JSON object, so a process serving POP3 or SMTP for another can send it
 * over any channel, and `mergeCounterSnapshots` sums snapshots of several
 * processes into one (buckets are aligned on wall-clock seconds and
 * minutes, not on each process's start). `countersReport` turns a snapshot
 * into what the admin contract returns.
 */

import { COUNTER_NAMES, type CounterName, type CounterValues, type CountersReport } from '../../../shared/contract.js';

/** Whole seconds kept besides the current one: enough for "the last minute". */
const SECONDS_KEPT = 61;
/** Minutes kept, the current one included: the console's chart shows the last hour. */
const MINUTES_KEPT = 60;

type Counts = { readonly [K in CounterName]: readonly number[] };

/** Counts per bucket of `step` seconds, oldest first; the newest bucket starts at `last`. */
export interface CounterSeries {
  /** Bucket length in seconds: 1 or 60. */
  readonly step: number;
  /** Unix time (seconds) at which the newest bucket starts; bucket `i` of `n` starts at `last - (n - 1 - i) * step`. */
  readonly last: number;
  readonly counts: Counts;
}

/** One process's counters, or several processes' summed: plain JSON. */
export interface CounterSnapshot {
  /** Unix time (ms) counting began; the earliest where snapshots were merged. */
  readonly since: number;
  /** Unix time (ms) of the snapshot; the latest where merged. */
  readonly at: number;
  /** POP3 sessions open now. */
  readonly sessionsCurrent: number;
  readonly totals: CounterValues;
  readonly seconds: CounterSeries;
  readonly minutes: CounterSeries;
  /** How many processes' snapshots were summed into this one. */
  readonly processes: number;
}

function zeros(): Record<CounterName, number> {
  const values = {} as Record<CounterName, number>;
  for (const name of COUNTER_NAMES) values[name] = 0;
  return values;
}

/** A sliding window of buckets, moved forward as time passes. */
class Ring {
  private last: number;
  private readonly counts: Record<CounterName, number[]>;

  constructor(
    private readonly step: number,
    private readonly size: number,
    nowSeconds: number,
  ) {
    this.last = bucketStart(nowSeconds, step);
    this.counts = {} as Record<CounterName, number[]>;
    for (const name of COUNTER_NAMES) this.counts[name] = Array.from({ length: size }, () => 0);
  }

  add(name: CounterName, n: number, nowSeconds: number): void {
    this.advance(nowSeconds);
    const bucket = this.counts[name];
    bucket[this.size - 1] = (bucket[this.size - 1] as number) + n;
  }

  series(nowSeconds: number): CounterSeries {
    this.advance(nowSeconds);
    const counts = {} as Record<CounterName, number[]>;
    for (const name of COUNTER_NAMES) counts[name] = [...this.counts[name]];
    return { step: this.step, last: this.last, counts };
  }

  private advance(nowSeconds: number): void {
    const start = bucketStart(nowSeconds, this.step);
    // A clock set back leaves the buckets as they are: counts go to the newest.
    if (start <= this.last) return;
    const moved = Math.min(this.size, (start - this.last) / this.step);
    for (const name of COUNTER_NAMES) {
      const bucket = this.counts[name];
      bucket.splice(0, moved);
      for (let i = 0; i < moved; i++) bucket.push(0);
    }
    this.last = start;
  }
}

function bucketStart(seconds: number, step: number): number {
  return Math.floor(seconds / step) * step;
}

/** Counters of one process. */
export class Counters {
  private readonly since: number;
  private current = 0;
  private readonly totals = zeros();
  private readonly seconds: Ring;
  private readonly minutes: Ring;

  constructor(private readonly now: () => number = Date.now) {
    this.since = now();
    const seconds = Math.floor(this.since / 1000);
    this.seconds = new Ring(1, SECONDS_KEPT, seconds);
    this.minutes = new Ring(60, MINUTES_KEPT, seconds);
  }

  /** Counts `n` more of `name` (n ≥ 0). */
  add(name: CounterName, n = 1): void {
    if (!(n > 0)) return;
    const seconds = Math.floor(this.now() / 1000);
    this.totals[name] += n;
    this.seconds.add(name, n, seconds);
    this.minutes.add(name, n, seconds);
  }

  /** A POP3 session began: counted, and open until `sessionClosed`. */
  sessionOpened(): void {
    this.current++;
    this.add('sessions');
  }

  sessionClosed(): void {
    this.current = Math.max(0, this.current - 1);
  }

  snapshot(): CounterSnapshot {
    const at = this.now();
    const seconds = Math.floor(at / 1000);
    return {
      since: this.since,
      at,
      sessionsCurrent: this.current,
      totals: { ...this.totals },
      seconds: this.seconds.series(seconds),
      minutes: this.minutes.series(seconds),
      processes: 1,
    };
  }
}

/** This process's counters: the POP3 session, the SMTP listener and the connection limits count here. */
export const processCounters = new Counters();

/** The count of bucket starting at `start` in the series, 0 outside it. */
function countAt(series: CounterSeries, name: CounterName, start: number): number {
  const values = series.counts[name];
  const index = values.length - 1 - (series.last - start) / series.step;
  return Number.isInteger(index) && index >= 0 && index < values.length ? (values[index] as number) : 0;
}

function mergeSeries(a: CounterSeries, b: CounterSeries): CounterSeries {
  if (a.step !== b.step) throw new Error(`cannot merge counter series of ${a.step} s and ${b.step} s buckets`);
  const step = a.step;
  const last = Math.max(a.last, b.last);
  const size = Math.max(a.counts.sessions.length, b.counts.sessions.length);
  const counts = {} as Record<CounterName, number[]>;
  for (const name of COUNTER_NAMES) {
    counts[name] = Array.from({ length: size }, (_, i) => {
      const start = last - (size - 1 - i) * step;
      return countAt(a, name, start) + countAt(b, name, start);
    });
  }
  return { step, last, counts };
}

/**
 * Sums two snapshots (of two processes, or of one and an earlier merge):
 * totals and open sessions add up, buckets add up by wall-clock time, and
 * the result keeps the earliest start and the latest time. Pure.
 */
export function mergeCounterSnapshots(a: CounterSnapshot, b: CounterSnapshot): CounterSnapshot {
  const totals = zeros();
  for (const name of COUNTER_NAMES) totals[name] = a.totals[name] + b.totals[name];
  return {
    since: Math.min(a.since, b.since),
    at: Math.max(a.at, b.at),
    sessionsCurrent: a.sessionsCurrent + b.sessionsCurrent,
    totals,
    seconds: mergeSeries(a.seconds, b.seconds),
    minutes: mergeSeries(a.minutes, b.minutes),
    processes: a.processes + b.processes,
  };
}

/** The report of the admin contract: totals, the last second, the last minute, and the last hour per minute. */
export function countersReport(snapshot: CounterSnapshot): CountersReport {
  const now = Math.floor(snapshot.at / 1000);
  const perSecond = zeros();
  const perMinute = zeros();
  const minuteCounts = {} as Record<CounterName, number[]>;
  const thisMinute = bucketStart(now, 60);
  const firstMinute = thisMinute - (MINUTES_KEPT - 1) * 60;
  for (const name of COUNTER_NAMES) {
    perSecond[name] = countAt(snapshot.seconds, name, now - 1);
    let minute = 0;
    for (let s = now - 60; s < now; s++) minute += countAt(snapshot.seconds, name, s);
    perMinute[name] = minute;
    minuteCounts[name] = Array.from({ length: MINUTES_KEPT }, (_, i) => countAt(snapshot.minutes, name, firstMinute + i * 60));
  }
  return {
    since: new Date(snapshot.since).toISOString(),
    at: new Date(snapshot.at).toISOString(),
    sessionsCurrent: snapshot.sessionsCurrent,
    totals: { ...snapshot.totals },
    perSecond,
    perMinute,
    minutes: { start: new Date(firstMinute * 1000).toISOString(), counts: minuteCounts },
  };
}

/** Counts bytes written to a POP3 client (as given to the socket, before TLS). */
export function countOctetsSent(data: string | Buffer): void {
  processCounters.add('octetsSent', typeof data === 'string' ? Buffer.byteLength(data) : data.length);
}
