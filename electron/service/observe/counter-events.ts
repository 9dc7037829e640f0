/**
 * The `counters` event: the counters, at most once a second, while they
 * change or POP3 sessions are open, so that a console's chart follows the
 * server without asking and an idle server sends nothing.
 */

import type { CountersReport } from '../../../shared/contract.js';
import { countersReport, type CounterSnapshot } from './counters.js';

const INTERVAL_MS = 1000;

/**
 * Looks at `snapshot()` every second and hands `emit` a report when its
 * figures differ from the last one sent (something was counted, a session
 * ended, or the last minute's figures are still draining) or sessions are
 * open. Returns the stop.
 */
export function startCounterEvents(snapshot: () => CounterSnapshot, emit: (report: CountersReport) => void): () => void {
  let lastSeen = '';
  const timer = setInterval(() => {
    const report = countersReport(snapshot());
    const seen = JSON.stringify([report.sessionsCurrent, report.totals, report.perMinute]);
    if (seen === lastSeen && report.sessionsCurrent === 0) return;
    lastSeen = seen;
    emit(report);
  }, INTERVAL_MS);
  // Never what keeps a stopping service alive.
  timer.unref();
  return () => clearInterval(timer);
}
