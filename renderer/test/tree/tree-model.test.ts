/**
 * tree-model: the console tree's nodes on screen, in the order the keyboard
 * walks them (Up/Down go to the neighbour, Left to the parent, Right opens).
 */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ComputerInfo, DomainSummary, LockInfo } from '../../../shared/contract.js';
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
  test('everything open: the service, the computer, then its domains in the order given, with lock marks, then its Sessions', () => {
    assert.deepEqual(drawn(visibleNodes('MAILHOST', DOMAINS, true, true)), [
      '+ POP3 Service',
      '  + MAILHOST',
      '    . a.example',
      '    . b.example [locked]',
      // A damaged state file reads as unlocked (the details pane shows it as Error).
      '    . c.example',
      '    . Sessions',
    ]);
  });

  test('the computer closed hides the domains; the service closed hides the computer too, whatever it was', () => {
    assert.deepEqual(drawn(visibleNodes('MAILHOST', DOMAINS, true, false)), ['+ POP3 Service', '  - MAILHOST']);
    assert.deepEqual(drawn(visibleNodes('MAILHOST', DOMAINS, false, true)), ['- POP3 Service']);
    assert.deepEqual(drawn(visibleNodes('MAILHOST', DOMAINS, false, false)), ['- POP3 Service']);
  });

  test('no domains: the computer still opens, to its Sessions', () => {
    assert.deepEqual(drawn(visibleNodes('MAILHOST', [], true, true)), ['+ POP3 Service', '  + MAILHOST', '    . Sessions']);
    assert.deepEqual(drawn(visibleNodes('MAILHOST', [], true, false)), ['+ POP3 Service', '  - MAILHOST']);
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
        ['sessions', 3, 'computer'],
      ],
    );
    assert.equal(nodes[3]?.domain, DOMAINS[1]);
    assert.deepEqual(nodes[3]?.node, { kind: 'domain', domain: 'b.example' });
  });

  test('keys are what the view store calls the selected node, and stay unique for domains named like the other nodes', () => {
    const tricky = [domain('computer'), domain('root'), domain('domain:root'), domain('sessions')];
    const nodes = visibleNodes('root', tricky, true, true);
    // The tree finds the selected item by nodeKey(selected): the two must agree for every node.
    for (const n of nodes) assert.equal(n.key, nodeKey(n.node));
    assert.equal(new Set(nodes.map((n) => n.key)).size, nodes.length, `unique keys: ${nodes.map((n) => n.key).join(', ')}`);
  });
});

describe('visibleNodes with other computers', () => {
  const info = (id: string, state: ComputerInfo['state']): ComputerInfo => ({ id, host: '192.0.2.7', port: 8443, admin: 'alice', state, fingerprint: null, saved: false });
  const ID = 'c-0123456789abcdef';

  test('each other computer after this one, with its domains when connected and open; keys keep equal names apart', () => {
    const nodes = visibleNodes('MAILHOST', [domain('a.example')], true, true, [{ info: info(ID, 'connected'), label: 'far (192.0.2.7:8443)', domains: [domain('a.example', { lock: LOCK })], expanded: true }]);
    assert.deepEqual(drawn(nodes), ['+ POP3 Service', '  + MAILHOST', '    . a.example', '    . Sessions', '  + far (192.0.2.7:8443)', '    . a.example [locked]', '    . Sessions']);
    assert.deepEqual(
      nodes.map((n) => [n.key, n.parentKey]),
      [
        ['root', null],
        ['computer', 'root'],
        ['domain:a.example', 'computer'],
        ['sessions', 'computer'],
        [`remote:${ID}`, 'root'],
        [`domain:${ID}:a.example`, `remote:${ID}`],
        [`sessions:${ID}`, `remote:${ID}`],
      ],
    );
    for (const n of nodes) assert.equal(nodeKey(n.node), n.key, 'the tree key is the node key');
  });

  test('a computer that is not connected shows no domains nor Sessions (the last ones known would mislead), and a closed one hides them', () => {
    const domains = [domain('a.example')];
    assert.deepEqual(drawn(visibleNodes('MAILHOST', [], true, false, [{ info: info(ID, 'unreachable'), label: 'far', domains, expanded: true }])), ['+ POP3 Service', '  - MAILHOST', '  . far']);
    assert.deepEqual(drawn(visibleNodes('MAILHOST', [], true, false, [{ info: info(ID, 'connected'), label: 'far', domains, expanded: false }])), ['+ POP3 Service', '  - MAILHOST', '  - far']);
  });

  test('a connected computer without domains still opens, to its Sessions', () => {
    assert.deepEqual(drawn(visibleNodes('MAILHOST', [], true, false, [{ info: info(ID, 'connected'), label: 'far', domains: [], expanded: true }])), [
      '+ POP3 Service',
      '  - MAILHOST',
      '  + far',
      '    . Sessions',
    ]);
  });
});
