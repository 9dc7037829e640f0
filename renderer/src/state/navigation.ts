/**
 * Moving around the console tree: what selecting a node loads and shows.
 */

import { useData } from './data-store.js';
import { loadRemoteDomains } from './computers-store.js';
import { loadMailboxes } from './loaders.js';
import { resetSelection } from './selection-store.js';
import { dropSessions, loadSessions, useSessions } from './session-store.js';
import { sameNode, useView, type TreeNode } from './view-store.js';

/** The selection table that belongs to a tree node's details. */
export function tableFor(node: TreeNode): string {
  if (node.kind === 'domain') return node.computer === undefined ? `mailboxes:${node.domain}` : `mailboxes:${node.computer}:${node.domain}`;
  if (node.kind === 'sessions') return node.computer === undefined ? 'sessions' : `sessions:${node.computer}`;
  return node.kind === 'computer' ? 'domains' : node.kind === 'remote' ? `remote:${node.computer}` : 'root';
}

/** Selects a tree node and loads what its details pane shows. */
export function selectNode(node: TreeNode): void {
  const current = useView.getState().node;
  if (sameNode(current, node) && (node.kind !== 'domain' || useData.getState().mailboxes?.domain === node.domain) && (node.kind !== 'sessions' || useSessions.getState().list !== null)) return;
  useView.setState({ node, ...(node.kind === 'domain' && node.computer === undefined ? { computerExpanded: true } : {}) });
  // Another computer's mailboxes replace whatever list was on screen, even one of a domain with the same name here.
  if (node.kind === 'domain' && !sameNode(current, node)) useData.setState({ mailboxes: null });
  resetSelection(tableFor(node));
  if (node.kind === 'domain') void loadMailboxes(node.domain);
  else useData.setState({ mailboxes: null });
  if (node.kind === 'remote') void loadRemoteDomains(node.computer);
  if (node.kind === 'sessions') void loadSessions(node.computer);
  else dropSessions();
}

/** Opens a domain from the computer's domain list (Enter or double-click on its row). */
export function openDomain(domain: string): void {
  selectNode({ kind: 'domain', domain });
}
