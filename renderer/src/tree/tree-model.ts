/**
 * The console tree as a flat list of the nodes on screen, in order, which is
 * what keyboard navigation walks.
 */

import type { ComputerInfo, DomainSummary } from '../../../shared/contract.js';
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
  /** Another computer's state, on its node. */
  readonly remote?: ComputerInfo;
}

/** The label of each computer's Sessions node. */
export const SESSIONS_LABEL = 'Sessions';

/** Another computer as the tree shows it, with its domains when it is connected and open. */
export interface RemoteBranch {
  readonly info: ComputerInfo;
  readonly label: string;
  readonly domains: readonly DomainSummary[];
  readonly expanded: boolean;
}

/** The words for another computer's state, shown beside its name. */
export const COMPUTER_STATE_WORDS: Readonly<Record<ComputerInfo['state'], string>> = {
  connected: 'connected',
  connecting: 'connecting…',
  unreachable: 'unreachable',
  loginFailed: 'log-in failed',
  unconfirmed: 'certificate not confirmed',
  fingerprintChanged: 'CERTIFICATE CHANGED',
  signedOut: 'not connected',
};

export function visibleNodes(
  computer: string,
  domains: readonly DomainSummary[],
  rootExpanded: boolean,
  computerExpanded: boolean,
  remotes: readonly RemoteBranch[] = [],
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
    // Its Sessions node is always there to open.
    expanded: computerExpanded,
    parentKey: 'root',
    locked: false,
  });
  if (computerExpanded) {
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
    // After the domains: the domains keep the places they always had.
    nodes.push({ node: { kind: 'sessions' }, key: 'sessions', label: SESSIONS_LABEL, level: 3, expanded: null, parentKey: 'computer', locked: false });
  }
  for (const remote of remotes) {
    const key = `remote:${remote.info.id}`;
    const showDomains = remote.info.state === 'connected';
    nodes.push({
      node: { kind: 'remote', computer: remote.info.id },
      key,
      label: remote.label,
      level: 2,
      expanded: showDomains ? remote.expanded : null,
      parentKey: 'root',
      locked: false,
      remote: remote.info,
    });
    if (!showDomains || !remote.expanded) continue;
    for (const domain of remote.domains) {
      nodes.push({
        node: { kind: 'domain', domain: domain.name, computer: remote.info.id },
        key: `domain:${remote.info.id}:${domain.name}`,
        label: domain.name,
        level: 3,
        expanded: null,
        parentKey: key,
        locked: domain.lock !== null,
        domain,
      });
    }
    nodes.push({
      node: { kind: 'sessions', computer: remote.info.id },
      key: `sessions:${remote.info.id}`,
      label: SESSIONS_LABEL,
      level: 3,
      expanded: null,
      parentKey: key,
      locked: false,
    });
  }
  return nodes;
}

