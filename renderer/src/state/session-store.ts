/**
 * The open POP3 sessions of the computer whose Sessions node is selected:
 * listed when the node is opened, then kept current by its events.
 */

import { create } from 'zustand';
import type { AdminEvent, SessionInfo } from '../../../shared/contract.js';
import { localApi, remoteApi } from '../api.js';
import { failureText } from '../words/failures.js';
import { applySessionEvents } from './session-rows.js';
import { pruneSelection } from './selection-store.js';
import { showError } from './ui-store.js';

export interface SessionList {
  /** The other computer's id; undefined for this computer. */
  readonly computer: string | undefined;
  readonly rows: readonly SessionInfo[];
  readonly loading: boolean;
  readonly error: string | null;
}

export const useSessions = create<{ readonly list: SessionList | null }>()(() => ({ list: null }));

/** Events for the list being fetched, applied once it arrives. */
let eventsDuringLoad: AdminEvent[] = [];
let loadToken = 0;

/** Lists the sessions of this computer (no `computer`) or of another one, for the Sessions view. */
export async function loadSessions(computer?: string): Promise<void> {
  const token = ++loadToken;
  eventsDuringLoad = [];
  const previous = useSessions.getState().list;
  const rows = previous !== null && previous.computer === computer ? previous.rows : [];
  useSessions.setState({ list: { computer, rows, loading: true, error: null } });
  try {
    const api = computer === undefined ? localApi() : remoteApi(computer);
    const listed = applySessionEvents(await api.listSessions({}), eventsDuringLoad);
    if (token !== loadToken) return;
    eventsDuringLoad = [];
    useSessions.setState({ list: { computer, rows: listed, loading: false, error: null } });
    const ids = new Set(listed.map((s) => s.id));
    pruneSelection((id) => ids.has(id));
  } catch (err) {
    if (token !== loadToken) return;
    const message = failureText(err, { op: 'listSessions' });
    useSessions.setState({ list: { computer, rows, loading: false, error: message } });
    showError(`Could not list the POP3 sessions: ${message}`);
  }
}

/** Forgets the list when the Sessions node is left: the next visit lists afresh. */
export function dropSessions(): void {
  loadToken++;
  eventsDuringLoad = [];
  if (useSessions.getState().list !== null) useSessions.setState({ list: null });
}

/** Applies events of one computer (undefined: this one) to the sessions on screen, if they are that computer's. */
export function applyEventsToSessions(computer: string | undefined, events: readonly AdminEvent[]): void {
  const list = useSessions.getState().list;
  if (list === null || list.computer !== computer) return;
  if (list.loading) {
    eventsDuringLoad.push(...events);
    return;
  }
  const rows = applySessionEvents(list.rows, events);
  if (rows === list.rows) return;
  useSessions.setState({ list: { ...list, rows } });
  if (rows.length < list.rows.length) {
    const ids = new Set(rows.map((s) => s.id));
    pruneSelection((id) => ids.has(id));
  }
}
