/**
 * Where the administrator is: the node selected in the console tree, which
 * pane has focus, and which parts of the window are shown.
 */

import { create } from 'zustand';

/**
 * `computer` is this computer; `remote` another one the main process connected
 * to, named by the id it gave out. A domain with `computer` is one of that
 * remote computer's domains.
 */
export type TreeNode =
  | { readonly kind: 'root' }
  | { readonly kind: 'computer' }
  | { readonly kind: 'remote'; readonly computer: string }
  | { readonly kind: 'domain'; readonly domain: string; readonly computer?: string }
  /** The open POP3 sessions of this computer, or of another one (`computer`). */
  | { readonly kind: 'sessions'; readonly computer?: string };

export type FocusArea = 'tree' | 'details';

export interface ViewState {
  readonly node: TreeNode;
  readonly rootExpanded: boolean;
  readonly computerExpanded: boolean;
  /** The pane that had focus last: the Action menu and toolbar act on its selection. */
  readonly focusArea: FocusArea;
  readonly treeVisible: boolean;
  readonly statusBarVisible: boolean;
}

export const initialView: ViewState = {
  node: { kind: 'computer' },
  rootExpanded: true,
  computerExpanded: true,
  focusArea: 'tree',
  treeVisible: true,
  statusBarVisible: true,
};

export const useView = create<ViewState>()(() => initialView);

/** A stable key for a tree node, used for DOM ids and comparisons. */
export function nodeKey(node: TreeNode): string {
  if (node.kind === 'domain') return node.computer === undefined ? `domain:${node.domain}` : `domain:${node.computer}:${node.domain}`;
  if (node.kind === 'sessions') return node.computer === undefined ? 'sessions' : `sessions:${node.computer}`;
  return node.kind === 'remote' ? `remote:${node.computer}` : node.kind;
}

/** The other computer a node belongs to; undefined for this computer's nodes (and the root). */
export function computerOf(node: TreeNode): string | undefined {
  return node.kind === 'domain' || node.kind === 'remote' || node.kind === 'sessions' ? node.computer : undefined;
}

export function sameNode(a: TreeNode, b: TreeNode): boolean {
  return nodeKey(a) === nodeKey(b);
}

export function setFocusArea(area: FocusArea): void {
  if (useView.getState().focusArea !== area) useView.setState({ focusArea: area });
}
