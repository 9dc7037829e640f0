/**
 * session-format: a session's columns in the console's words and the order
 * each column sorts in.
 */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SessionInfo } from '../../../shared/contract.js';
import { orderRows, type OrderSpec } from '../../src/details/row-order.js';
import { clientSortKey, encryptedWords, sessionMailbox, sessionStateRank, sessionStateWords } from '../../src/details/session-format.js';

function session(id: string, extra: Partial<SessionInfo> = {}): SessionInfo {
  return { id, address: null, client: '127.0.0.1:4000', since: '2026-12-06T06:00:00.000Z', encrypted: false, state: 'authorization', listener: 'pop3', ...extra };
}

describe('a session in words', () => {
  test('the mailbox, or that it has not logged in', () => {
    assert.equal(sessionMailbox(session('1-1', { address: 'ann@example.com' })), 'ann@example.com');
    assert.equal(sessionMailbox(session('1-1')), '(not logged in)');
  });

  test('encrypted: how, by the port it came in on', () => {
    assert.deepEqual(
      [session('1-1'), session('1-2', { encrypted: true }), session('1-3', { encrypted: true, listener: 'pop3s' })].map(encryptedWords),
      ['No', 'Yes (STLS)', 'Yes (POP3S)'],
    );
  });

  test('the states in the order a session goes through them', () => {
    const states: SessionInfo['state'][] = ['update', 'authorization', 'transaction'];
    const rows = states.map((state, i) => session(`1-${i}`, { state }));
    assert.deepEqual(rows.map(sessionStateWords), ['Quitting', 'Logging in', 'Logged in']);
    assert.deepEqual([...rows].sort((a, b) => sessionStateRank(a) - sessionStateRank(b)).map((r) => r.state), ['authorization', 'transaction', 'update']);
  });
});

describe('sorting the Sessions view', () => {
  const spec: OrderSpec<SessionInfo> = { nameOf: sessionMailbox, keys: { name: sessionMailbox, client: clientSortKey, since: (s) => s.since } };
  const rows = [
    session('1-1', { address: 'bob@example.com', client: '127.0.0.1:10', since: '2026-12-06T06:00:02.000Z' }),
    session('1-2', { address: 'ann@example.com', client: '127.0.0.1:9', since: '2026-12-06T06:00:03.000Z' }),
    session('1-3', { client: '::1:20', since: '2026-12-06T06:00:01.000Z' }),
  ];
  const sorted = (id: string, desc = false): string[] => orderRows(rows, spec, [{ id, desc }], '').map((i) => rows[i]?.id as string);

  test('by client, ports as numbers (:9 before :10)', () => {
    assert.deepEqual(sorted('client'), ['1-2', '1-1', '1-3']);
  });

  test('by mailbox (the ones not logged in together) and by time', () => {
    assert.deepEqual(sorted('name'), ['1-3', '1-2', '1-1']);
    assert.deepEqual(sorted('since'), ['1-3', '1-1', '1-2']);
    assert.deepEqual(sorted('since', true), ['1-2', '1-1', '1-3']);
  });

  test('the filter matches the mailbox', () => {
    assert.deepEqual(orderRows(rows, spec, [], 'ann').map((i) => rows[i]?.id), ['1-2']);
  });
});
