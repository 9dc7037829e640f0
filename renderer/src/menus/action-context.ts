/**
 * What the Action menu, the toolbar and a context menu act on: the rows
 * selected in the details pane when it has focus, else the tree's node.
 */

import type { DomainSummary, MailboxSummary, SessionInfo } from '../../../shared/contract.js';
import { useComputers } from '../state/computers-store.js';
import { useData } from '../state/data-store.js';
import { useSelection } from '../state/selection-store.js';
import { useSessions } from '../state/session-store.js';
import { useView, type TreeNode } from '../state/view-store.js';

export type ActionContext =
  | { readonly kind: 'root' }
  | { readonly kind: 'computer' }
  /** Another computer's node. */
  | { readonly kind: 'remote'; readonly computer: string }
  /** One or more domains: the tree's domain node, or rows of the computer's domain list. */
  | { readonly kind: 'domains'; readonly domains: readonly DomainSummary[]; readonly fromTree: boolean }
  /** One or more mailboxes of one domain. */
  | { readonly kind: 'mailboxes'; readonly domain: string; readonly mailboxes: readonly MailboxSummary[] }
  /** A computer's Sessions node (no session) or sessions selected in it; `computer` undefined for this computer. */
  | { readonly kind: 'sessions'; readonly computer: string | undefined; readonly sessions: readonly SessionInfo[] };

/** The context of a tree node. */
export function contextForNode(node: TreeNode): ActionContext {
  if (node.kind === 'root') return { kind: 'root' };
  if (node.kind === 'computer') return { kind: 'computer' };
  if (node.kind === 'remote') return { kind: 'remote', computer: node.computer };
  if (node.kind === 'sessions') return { kind: 'sessions', computer: node.computer, sessions: [] };
  const known = node.computer === undefined ? useData.getState().domains : (useComputers.getState().domains[node.computer] ?? []);
  const summary = known.find((d) => d.name === node.domain) ?? {
    name: node.domain,
    mailboxes: 0,
    messages: 0,
    bytes: 0,
    lock: null,
  };
  return { kind: 'domains', domains: [summary], fromTree: true };
}

/** The context of the details pane's selection; the node's context when nothing is selected. */
export function contextForSelection(): ActionContext {
  const { node } = useView.getState();
  const { selected } = useSelection.getState();
  if (selected.size > 0) {
    if (node.kind === 'computer') {
      const domains = useData.getState().domains.filter((d) => selected.has(d.name));
      if (domains.length > 0) return { kind: 'domains', domains, fromTree: false };
    } else if (node.kind === 'sessions') {
      const list = useSessions.getState().list;
      const sessions = list !== null && list.computer === node.computer ? list.rows.filter((s) => selected.has(s.id)) : [];
      if (sessions.length > 0) return { kind: 'sessions', computer: node.computer, sessions };
    } else if (node.kind === 'domain') {
      const list = useData.getState().mailboxes;
      if (list?.domain === node.domain) {
        const mailboxes = list.rows.filter((r) => selected.has(r.address));
        if (mailboxes.length > 0) return { kind: 'mailboxes', domain: node.domain, mailboxes };
      }
    }
  }
  return contextForNode(node);
}

/** The context of whichever pane had focus last. */
export function currentContext(): ActionContext {
  const { node, focusArea } = useView.getState();
  return focusArea === 'details' ? contextForSelection() : contextForNode(node);
}
