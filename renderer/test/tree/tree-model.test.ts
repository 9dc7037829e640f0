/**
 * tree-model: the console tree's nodes on screen, in the order the keyboard
 * walks them (Up/Down go to the neighbour, Left to the parent, Right opens).
 */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DomainSummary, LockInfo } from '../../../shared/contract.js';
import { visibleNodes, type VisibleNode } from '../../src/tree/tree-model.js';
import { nodeKey } from '../../src/state/view-store.js';

const LOCK: LockInfo = { by: 'admin', at: '2024-05-01T10:00:00.000Z' };

function domain(name: string, extra: Partial<DomainSummary> = {}): DomainSummary {
  return { name, mailboxes: 1, messages: 0, bytes: 0, lock: null, ...extra };
}

/** Each node as one line: indented by level, with its open state (+ open, - closed, . nothing to open) and a lock mark. */
function drawn(nodes: readonly VisibleNode[]): string[] {
  return nodes.map((n) => `${'  '.repeat(n.level - 1)}${n.expanded === null ? '.' : n.expanded ? '+' : '-'} ${n.label}${n.locked ? ' [locked]' : ''}`);
}

const DOMAINS = [domain('a.example'), domain('b.example', { lock: LOCK }), domain('c.example', { problem: 'damaged state file' })];

describe('visibleNodes', () => {
  test('everything open: the service, the computer, then its domains in the order given, with lock marks', () => {
    assert.deepEqual(drawn(visibleNodes('MAILHOST', DOMAINS, true, true)), [
      '+ POP3 Service',
      '  + MAILHOST',
      '    . a.example',
      '    . b.example [locked]',
      // A damaged state file reads as unlocked (the details pane shows it as Error).
      '    . c.example',
    ]);
  });

  test('the computer closed hides the domains; the service closed hides the computer too, whatever it was', () => {
    assert.deepEqual(drawn(visibleNodes('MAILHOST', DOMAINS, true, false)), ['+ POP3 Service', '  - MAILHOST']);
    assert.deepEqual(drawn(visibleNodes('MAILHOST', DOMAINS, false, true)), ['- POP3 Service']);
    assert.deepEqual(drawn(visibleNodes('MAILHOST', DOMAINS, false, false)), ['- POP3 Service']);
  });

  test('no domains: the computer has nothing to open, open or not', () => {
    assert.deepEqual(drawn(visibleNodes('MAILHOST', [], true, true)), ['+ POP3 Service', '  . MAILHOST']);
    assert.deepEqual(drawn(visibleNodes('MAILHOST', [], true, false)), ['+ POP3 Service', '  . MAILHOST']);
  });

  test('each node names its parent, which comes before it (Left walks up), and the domain nodes carry their summary', () => {
    const nodes = visibleNodes('MAILHOST', DOMAINS, true, true);
    const seenKeys = new Set<string>();
    for (const n of nodes) {
      if (n.parentKey === null) assert.equal(n.key, 'root');
      else assert.ok(seenKeys.has(n.parentKey), `${n.key}'s parent ${n.parentKey} comes before it`);
      seenKeys.add(n.key);
    }
    assert.deepEqual(
      nodes.map((n) => [n.key, n.level, n.parentKey]),
      [
        ['root', 1, null],
        ['computer', 2, 'root'],
        ['domain:a.example', 3, 'computer'],
        ['domain:b.example', 3, 'computer'],
        ['domain:c.example', 3, 'computer'],
      ],
    );
    assert.equal(nodes[3]?.domain, DOMAINS[1]);
    assert.deepEqual(nodes[3]?.node, { kind: 'domain', domain: 'b.example' });
  });

  test('keys are what the view store calls the selected node, and stay unique for domains named like the other nodes', () => {
    const tricky = [domain('computer'), domain('root'), domain('domain:root')];
    const nodes = visibleNodes('root', tricky, true, true);
    // The tree finds the selected item by nodeKey(selected): the two must agree for every node.
    for (const n of nodes) assert.equal(n.key, nodeKey(n.node));
    assert.equal(new Set(nodes.map((n) => n.key)).size, nodes.length, `unique keys: ${nodes.map((n) => n.key).join(', ')}`);
  });
});
