/**
 * Counters of several processes add up: each process's snapshot crosses a
 * process boundary as JSON, and mergeCounterSnapshots sums totals, open
 * sessions and the buckets of the same wall-clock second and minute, however
 * far apart the processes started or were read.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { COUNTER_NAMES } from '../../shared/contract.js';
import { Counters, countersReport, mergeCounterSnapshots, type CounterSnapshot } from '../../electron/service/observe/counters.js';
import { REPO_ROOT, run } from '../helpers/processes.js';

const MODULE = pathToFileURL(path.join(REPO_ROOT, 'dist', 'electron', 'service', 'observe', 'counters.js')).href;

/** A child process that counts what it is told in its own processCounters and prints the snapshot. */
async function childSnapshot(counts: Record<string, number>, openSessions: number): Promise<CounterSnapshot> {
  const script = `
const { processCounters } = await import(${JSON.stringify(MODULE)});
const counts = ${JSON.stringify(counts)};
for (const [name, n] of Object.entries(counts)) processCounters.add(name, n);
for (let i = 0; i < ${openSessions}; i++) processCounters.sessionOpened();
process.stdout.write(JSON.stringify(processCounters.snapshot()));
`;
  const result = await run(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as CounterSnapshot;
}

test('the snapshots of two processes, sent as JSON, merge into their sum', async () => {
  const a = await childSnapshot({ loginsAccepted: 3, octetsSent: 1000, smtpAccepted: 1 }, 2);
  const b = await childSnapshot({ loginsAccepted: 4, loginsFailed: 1, octetsSent: 24 }, 1);
  const merged = mergeCounterSnapshots(a, b);
  assert.equal(merged.processes, 2);
  assert.equal(merged.sessionsCurrent, 3);
  assert.deepEqual(
    { loginsAccepted: merged.totals.loginsAccepted, loginsFailed: merged.totals.loginsFailed, octetsSent: merged.totals.octetsSent, smtpAccepted: merged.totals.smtpAccepted, sessions: merged.totals.sessions },
    { loginsAccepted: 7, loginsFailed: 1, octetsSent: 1024, smtpAccepted: 1, sessions: 3 },
  );
  assert.equal(merged.since, Math.min(a.since, b.since));
  const report = countersReport(merged);
  for (const name of COUNTER_NAMES) {
    assert.equal(report.minutes.counts[name].reduce((x, y) => x + y, 0), merged.totals[name], `${name}: the merged last hour holds every count`);
  }
  // Order does not matter, and a merge merges again (the lead sums N workers one after another).
  assert.deepEqual(mergeCounterSnapshots(b, a).totals, merged.totals);
  const c = await childSnapshot({ messagesDeleted: 5 }, 0);
  assert.equal(mergeCounterSnapshots(merged, c).totals.messagesDeleted, 5);
  assert.equal(mergeCounterSnapshots(merged, c).processes, 3);
});

test('buckets merge by wall-clock time, whenever each process was read', () => {
  const start = Date.UTC(2026, 0, 1, 12, 0, 0);
  let nowA = start;
  let nowB = start + 30_000;
  const a = new Counters(() => nowA);
  const b = new Counters(() => nowB);
  a.add('sessions', 1); // 12:00:00
  nowA = start + 61_000;
  a.add('sessions', 2); // 12:01:01
  b.add('sessions', 10); // 12:00:30
  nowB = start + 61_500;
  b.add('sessions', 20); // 12:01:01.5
  const snapA = a.snapshot(); // read at 12:01:01
  nowB = start + 62_000;
  const snapB = b.snapshot(); // read a second later
  const report = countersReport(mergeCounterSnapshots(snapA, snapB));
  assert.equal(report.at, new Date(start + 62_000).toISOString());
  const minutes = report.minutes.counts.sessions;
  assert.deepEqual(minutes.slice(-2), [11, 22], 'minute 12:00 holds 1 + 10, minute 12:01 holds 2 + 20');
  assert.equal(report.perSecond.sessions, 22, 'the last whole second (12:01:01) holds both processes\' counts');
  assert.equal(report.perMinute.sessions, 32, 'the last 60 whole seconds: 12:00:02 to 12:01:01');
  assert.equal(report.totals.sessions, 33);
  assert.equal(report.since, new Date(start).toISOString());
});

test('an hour later the old minutes are gone from the history, not from the totals', () => {
  let now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const counters = new Counters(() => now);
  counters.add('loginsFailed', 4);
  now += 60 * 60_000;
  counters.add('loginsFailed', 1);
  const report = countersReport(counters.snapshot());
  assert.equal(report.totals.loginsFailed, 5);
  assert.equal(report.minutes.counts.loginsFailed.reduce((x, y) => x + y, 0), 1);
  assert.equal(report.perSecond.loginsFailed, 0, 'counted in the current second, not a whole one yet');
});
