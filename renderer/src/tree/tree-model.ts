/**
 * The console tree as a flat list of the nodes on screen, in order, which is
 * what keyboard navigation walks.
 */

import type { DomainSummary } from '../../../shared/contract.js';
import type { TreeNode } from '../state/view-store.js';

export interface VisibleNode {
  readonly node: TreeNode;
  readonly key: string;
  readonly label: string;
  readonly level: number;
  /** null when the node has no children to show or hide. */
  readonly expanded: boolean | null;
  readonly parentKey: string | null;
  readonly locked: boolean;
  readonly domain?: DomainSummary;
}

export function visibleNodes(
  computer: string,
  domains: readonly DomainSummary[],
  rootExpanded: boolean,
  computerExpanded: boolean,
): VisibleNode[] {
  const nodes: VisibleNode[] = [
    { node: { kind: 'root' }, key: 'root', label: 'POP3 Service', level: 1, expanded: rootExpanded, parentKey: null, locked: false },
  ];
  if (!rootExpanded) return nodes;
  nodes.push({
    node: { kind: 'computer' },
    key: 'computer',
    label: computer,
    level: 2,
    expanded: domains.length > 0 ? computerExpanded : null,
    parentKey: 'root',
    locked: false,
  });
  if (!computerExpanded) return nodes;
  for (const domain of domains) {
    nodes.push({
      node: { kind: 'domain', domain: domain.name },
      key: `domain:${domain.name}`,
      label: domain.name,
      level: 3,
      expanded: null,
      parentKey: 'computer',
      locked: domain.lock !== null,
      domain,
    });
  }
  return nodes;
}
