/**
 * The computer's activity: POP3 sessions and log-ins per minute over the
 * last hour, drawn in SVG, live from the service's `counters` events.
 *
 * The same figures are in words beside it (and are the SVG's accessible
 * name), so a screen reader or a glance gets them without reading a line.
 */

import { useEffect, type ReactElement } from 'react';
import type { CountersReport } from '../../../shared/contract.js';
import { formatCount } from '../details/format.js';
import { linePoints, scaleTop, sum, type PlotArea } from './chart-geometry.js';
import { loadCounters, THIS_COMPUTER, useCounters } from './counters-store.js';

const WIDTH = 600;
const HEIGHT = 120;
const AREA: PlotArea = { left: 34, top: 8, width: WIDTH - 34 - 8, height: HEIGHT - 8 - 22 };

function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** The chart's figures in one sentence: its text alternative. */
export function activitySummary(report: CountersReport): string {
  const sessions = report.minutes.counts.sessions;
  const logins = report.minutes.counts.loginsAccepted;
  const failed = sum(report.minutes.counts.loginsFailed);
  return (
    `Last hour: ${plural(sum(sessions), 'session')}, ${plural(sum(logins), 'log-in')} (${formatCount(failed)} failed). ` +
    `This minute: ${plural(sessions.at(-1) ?? 0, 'session')}, ${plural(logins.at(-1) ?? 0, 'log-in')}. ` +
    `Open now: ${plural(report.sessionsCurrent, 'session')}.`
  );
}

function Chart({ report }: { readonly report: CountersReport }): ReactElement {
  const sessions = report.minutes.counts.sessions;
  const logins = report.minutes.counts.loginsAccepted;
  const top = scaleTop(Math.max(...sessions, ...logins));
  const summary = activitySummary(report);
  const bottom = AREA.top + AREA.height;
  return (
    <figure className="activity" data-testid="activity-chart">
      <figcaption>
        <span className="activity-title">Activity per minute</span>
        <span className="activity-legend" aria-hidden="true">
          <span className="swatch sessions" /> Sessions <span className="swatch logins" /> Log-ins
        </span>
        <span className="activity-summary" data-testid="activity-summary">
          {summary}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`Sessions and log-ins per minute. ${summary}`} preserveAspectRatio="xMinYMid meet">
        <line className="grid" x1={AREA.left} x2={AREA.left + AREA.width} y1={AREA.top} y2={AREA.top} />
        <line className="grid" x1={AREA.left} x2={AREA.left + AREA.width} y1={AREA.top + AREA.height / 2} y2={AREA.top + AREA.height / 2} />
        <line className="axis" x1={AREA.left} x2={AREA.left + AREA.width} y1={bottom} y2={bottom} />
        <text className="tick" x={AREA.left - 6} y={AREA.top + 4} textAnchor="end">
          {top}
        </text>
        {top % 2 === 0 ? (
          <text className="tick" x={AREA.left - 6} y={AREA.top + AREA.height / 2 + 4} textAnchor="end">
            {top / 2}
          </text>
        ) : null}
        <text className="tick" x={AREA.left - 6} y={bottom + 4} textAnchor="end">
          0
        </text>
        <text className="tick" x={AREA.left} y={HEIGHT - 6}>
          60 min ago
        </text>
        <text className="tick" x={AREA.left + AREA.width} y={HEIGHT - 6} textAnchor="end">
          now
        </text>
        <polyline className="line sessions" data-testid="activity-line-sessions" points={linePoints(sessions, AREA, top)} />
        <polyline className="line logins" data-testid="activity-line-logins" points={linePoints(logins, AREA, top)} />
      </svg>
    </figure>
  );
}

/** A computer's chart (this one's without `computer`); a line saying why when its service counts nothing (none runs). */
export function ActivityChart({ computer = THIS_COMPUTER }: { readonly computer?: string }): ReactElement {
  const report = useCounters((s) => s.byComputer[computer]?.report ?? null);
  const error = useCounters((s) => s.byComputer[computer]?.error ?? null);
  useEffect(() => {
    void loadCounters(computer);
  }, [computer]);
  if (report !== null) return <Chart report={report} />;
  return (
    <p className="activity-note" data-testid="activity-note">
      {error === null ? 'Loading activity…' : `No activity figures: ${error}`}
    </p>
  );
}
