/**
 * session-rows: the Sessions view's rows kept current by sessionChanged
 * events, in the order the service lists them (oldest first).
 */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AdminEvent, SessionInfo } from '../../../shared/contract.js';
import { applySessionEvents, touchesSessions } from '../../src/state/session-rows.js';

function session(id: string, extra: Partial<SessionInfo> = {}): SessionInfo {
  return { id, address: null, client: `127.0.0.1:${4000 + Number(id.split('-')[1])}`, since: '2026-12-06T06:00:00.000Z', encrypted: false, state: 'authorization', listener: 'pop3', ...extra };
}

const changed = (s: SessionInfo): AdminEvent => ({ type: 'sessionChanged', id: s.id, session: s });
const gone = (id: string): AdminEvent => ({ type: 'sessionChanged', id, session: null });
const ids = (rows: readonly SessionInfo[]): string[] => rows.map((r) => `${r.id}:${r.state}${r.address ? `:${r.address}` : ''}`);

describe('applySessionEvents', () => {
  test('a new session goes last, a changed one keeps its place, an ended one goes', () => {
    const rows = [session('7-1'), session('7-2')];
    const next = applySessionEvents(rows, [
      changed(session('7-3')),
      changed(session('7-1', { state: 'transaction', address: 'ann@example.com' })),
      gone('7-2'),
    ]);
    assert.deepEqual(ids(next), ['7-1:transaction:ann@example.com', '7-3:authorization']);
    assert.deepEqual(ids(rows), ['7-1:authorization', '7-2:authorization'], 'the rows given are not changed');
  });

  test('a session that opens and ends within one batch leaves no row; its events after its end do not bring it back', () => {
    const next = applySessionEvents([session('7-1')], [changed(session('7-2')), changed(session('7-2', { encrypted: true })), gone('7-2')]);
    assert.deepEqual(ids(next), ['7-1:authorization']);
  });

  test('the same array when nothing changed: other events, or the end of a session not listed', () => {
    const rows = [session('7-1')];
    const other: AdminEvent[] = [
      { type: 'sessionOpened', address: 'ann@example.com', remote: '127.0.0.1:4001' },
      { type: 'sessionClosed', address: 'ann@example.com', remote: '127.0.0.1:4001', reason: 'quit' },
      { type: 'mailArrived', address: 'ann@example.com', messages: 1, bytes: 10 },
      gone('9-9'),
    ];
    assert.equal(applySessionEvents(rows, other), rows);
    assert.equal(applySessionEvents(rows, []), rows);
  });

  test('touchesSessions picks only the session list events', () => {
    assert.equal(touchesSessions(gone('7-1')), true);
    assert.equal(touchesSessions({ type: 'sessionOpened', address: 'a@b.c', remote: '127.0.0.1:1' }), false);
  });
});
