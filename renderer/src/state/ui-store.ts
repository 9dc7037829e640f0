/**
 * Transient UI: the open dialog, the open context menu, the status line and
 * the error bar.
 */

import { create } from 'zustand';
import type { ActionContext } from '../menus/action-context.js';

export type DeleteRequest =
  | { readonly kind: 'domain'; readonly domains: readonly string[] }
  | { readonly kind: 'mailbox'; readonly addresses: readonly string[] };

export type DialogRequest =
  | { readonly kind: 'newDomain' }
  | { readonly kind: 'newMailbox'; readonly domain: string }
  | { readonly kind: 'changePassword'; readonly address: string }
  | { readonly kind: 'delete'; readonly request: DeleteRequest }
  | { readonly kind: 'properties' }
  | { readonly kind: 'lockReason'; readonly targets: readonly string[] }
  | { readonly kind: 'bulkResults'; readonly title: string; readonly summary: string; readonly items: readonly ItemOutcome[] }
  | { readonly kind: 'mailboxProperties'; readonly address: string }
  | { readonly kind: 'about' }
  /** The whole text of a message that the window shows cut. */
  | { readonly kind: 'message'; readonly title: string; readonly text: string }
  | { readonly kind: 'help' }
  /** Connect to Another Computer (no `computer`), or sign in again / confirm the certificate of a known one. */
  | { readonly kind: 'connectComputer'; readonly computer?: string };

/** What happened to one target of a bulk action. */
export interface ItemOutcome {
  readonly target: string;
  readonly ok: boolean;
  /** The result ("Locked", "Already unlocked") or why it failed. */
  readonly detail: string;
}

/** Where a context menu opens and which element gets the focus back. */
export interface ContextMenuRequest {
  readonly context: ActionContext;
  readonly x: number;
  readonly y: number;
  readonly returnFocus: HTMLElement | null;
}

export interface StatusMessage {
  readonly text: string;
  readonly tone: 'info' | 'error';
}

export interface UiError {
  readonly id: number;
  readonly text: string;
  /** The way out, offered next to the message ("Unlock domain"). */
  readonly action?: ErrorAction;
}

export interface ErrorAction {
  readonly label: string;
  readonly run: () => void;
}

export interface UiState {
  readonly dialog: DialogRequest | null;
  readonly contextMenu: ContextMenuRequest | null;
  readonly status: StatusMessage | null;
  readonly errors: readonly UiError[];
  /** Work in progress, shown in the status bar ("Locking 3 mailboxes…"). */
  readonly busy: string | null;
  /** Why the toolbar button the keyboard is on does nothing, shown in the status bar meanwhile. */
  readonly hint: string | null;
  /** The menu bar's open menu (`file`, `action`, `view`, `help`) and which item gets the focus. */
  readonly menuBar: { readonly id: string; readonly focus: 'first' | 'last' | 'none' } | null;
}

export const initialUi: UiState = { dialog: null, contextMenu: null, status: null, errors: [], busy: null, hint: null, menuBar: null };

export const useUi = create<UiState>()(() => initialUi);

let nextErrorId = 1;

export function openDialog(dialog: DialogRequest): void {
  useUi.setState({ dialog, contextMenu: null });
}

export function closeDialog(): void {
  useUi.setState({ dialog: null });
}

export function openContextMenu(request: ContextMenuRequest): void {
  useUi.setState({ contextMenu: request });
}

export function closeContextMenu(): void {
  useUi.setState({ contextMenu: null });
}

export function setMenuBarOpen(id: string | null, focus: 'first' | 'last' | 'none' = 'first'): void {
  useUi.setState({ menuBar: id ? { id, focus } : null, ...(id ? { contextMenu: null } : {}) });
}

export function showStatus(text: string, tone: StatusMessage['tone'] = 'info'): void {
  useUi.setState({ status: { text, tone } });
}

/** Shows an error in the error bar (and the status line) until dismissed, with the way out when there is one. */
export function showError(text: string, action?: ErrorAction): void {
  const error: UiError = { id: nextErrorId++, text, ...(action ? { action } : {}) };
  useUi.setState((s) => ({ errors: [...s.errors.filter((e) => e.text !== text), error].slice(-3), status: { text, tone: 'error' } }));
}

export function dismissError(id: number): void {
  useUi.setState((s) => ({ errors: s.errors.filter((e) => e.id !== id) }));
}

export function showHint(text: string | null): void {
  useUi.setState({ hint: text });
}

export function setBusy(text: string | null): void {
  useUi.setState({ busy: text });
}
