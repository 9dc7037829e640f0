/**
 * The one context menu of the window, opened by a right-click, Shift+F10 or
 * the Menu key on the tree or the details pane.
 */

import { useMemo, type ReactElement } from 'react';
import { closeContextMenu, useUi } from '../state/ui-store.js';
import type { ActionContext } from './action-context.js';
import { actionsFor } from './actions.js';
import { MenuPopup } from './MenuPopup.js';
import { useDismiss } from './use-dismiss.js';

function describe(context: ActionContext): string {
  switch (context.kind) {
    case 'root':
      return 'POP3 Service';
    case 'computer':
      return 'this computer';
    case 'remote':
      return 'another computer';
    case 'domains':
      return context.domains.length === 1 ? (context.domains[0]?.name ?? 'domain') : `${context.domains.length} domains`;
    case 'mailboxes':
      return context.mailboxes.length === 1 ? (context.mailboxes[0]?.address ?? 'mailbox') : `${context.mailboxes.length} mailboxes`;
    case 'sessions':
      if (context.sessions.length === 0) return 'Sessions';
      return context.sessions.length === 1 ? `the session of ${context.sessions[0]?.address ?? 'a connection not logged in'}` : `${context.sessions.length} sessions`;
  }
}

export function ContextMenuHost(): ReactElement | null {
  const request = useUi((s) => s.contextMenu);
  const entries = useMemo(() => (request ? actionsFor(request.context) : []), [request]);
  const close = (): void => {
    const target = request?.returnFocus;
    closeContextMenu();
    if (target?.isConnected) target.focus();
  };
  useDismiss(request !== null, close, '.menu');
  if (!request) return null;
  return (
    <MenuPopup
      key={`${request.x},${request.y},${describe(request.context)}`}
      entries={entries}
      label={`Actions for ${describe(request.context)}`}
      x={request.x}
      y={request.y}
      testId="context-menu"
      onActivate={(command) => {
        close();
        command.run();
      }}
      onClose={close}
      onCloseAll={close}
    />
  );
}
