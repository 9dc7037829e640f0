/**
 * The Sessions view's rows kept current by events: `sessionChanged` adds a
 * session or replaces its row, or (with no session) takes it away.
 */

import type { AdminEvent, SessionInfo } from '../../../shared/contract.js';

/** Whether an event changes the list of sessions. */
export function touchesSessions(event: AdminEvent): event is Extract<AdminEvent, { type: 'sessionChanged' }> {
  return event.type === 'sessionChanged';
}

/**
 * The rows after a batch of events, in the order given: a new session goes
 * last (the list is oldest first), a changed one keeps its place. The same
 * array when nothing changed, so a view does not repaint for nothing.
 */
export function applySessionEvents(rows: readonly SessionInfo[], events: readonly AdminEvent[]): readonly SessionInfo[] {
  let next: SessionInfo[] | null = null;
  for (const event of events) {
    if (!touchesSessions(event)) continue;
    const current: readonly SessionInfo[] = next ?? rows;
    const at = current.findIndex((row) => row.id === event.id);
    if (event.session === null) {
      if (at < 0) continue;
      next = current.filter((_, i) => i !== at);
    } else if (at < 0) {
      next = [...current, event.session];
    } else {
      next = current.map((row, i) => (i === at ? (event.session as SessionInfo) : row));
    }
  }
  return next ?? rows;
}
