/**
 * The toolbar under the menu bar: navigation, then the same actions as the
 * Action menu for the current selection. One tab stop; Left/Right move
 * between buttons (the ARIA toolbar pattern).
 */

import { useRef, useState, type KeyboardEvent, type ReactElement, type ReactNode } from 'react';
import {
  DeleteIcon,
  EndSessionIcon,
  HelpIcon,
  LockIcon,
  NewIcon,
  PropertiesIcon,
  RefreshIcon,
  TreeToggleIcon,
  UnlockIcon,
  UpIcon,
} from '../icons/Icons.js';
import { useData } from '../state/data-store.js';
import { refreshAll } from '../state/loaders.js';
import { selectNode } from '../state/navigation.js';
import { useSelection } from '../state/selection-store.js';
import { useSessions } from '../state/session-store.js';
import { openDialog, showHint } from '../state/ui-store.js';
import { useView, type TreeNode } from '../state/view-store.js';
import { contextForNode, currentContext } from './action-context.js';
import { actionsFor } from './actions.js';
import { findCommand, type MenuCommand } from './menu-model.js';

interface ToolButton {
  readonly id: string;
  readonly label: string;
  readonly icon: ReactNode;
  readonly enabled: boolean;
  readonly reason?: string;
  readonly pressed?: boolean;
  readonly run: () => void;
  readonly groupStart?: boolean;
}

function fromCommand(id: string, command: MenuCommand | undefined, label: string, icon: ReactNode, groupStart = false): ToolButton {
  return {
    id,
    label,
    icon,
    enabled: command?.enabled ?? false,
    ...(command?.reason ? { reason: command.reason } : {}),
    run: () => command?.run(),
    groupStart,
  };
}

/** Up from a Sessions node: to its computer. */
function sessionsParent(node: TreeNode): TreeNode | null {
  if (node.kind !== 'sessions') return null;
  return node.computer === undefined ? { kind: 'computer' } : { kind: 'remote', computer: node.computer };
}

export function Toolbar(): ReactElement {
  // Re-render when anything the buttons depend on changes.
  const view = useView();
  useSelection((s) => s.selected);
  useData((s) => s.domains);
  useData((s) => s.mailboxes);
  useSessions((s) => s.list);

  const actions = actionsFor(currentContext());
  // "New" follows the tree node, not the row selection: in a domain it always adds a mailbox there.
  const nodeActions = actionsFor(contextForNode(view.node));
  const newDomain = findCommand(nodeActions, 'new-domain');
  const newMailbox = findCommand(nodeActions, 'new-mailbox');
  const parent = sessionsParent(view.node) ?? (view.node.kind === 'domain' ? { kind: 'computer' as const } : view.node.kind === 'computer' ? { kind: 'root' as const } : null);
  // Only where there are sessions to end: elsewhere the button would only ever be disabled.
  const endSession = view.node.kind === 'sessions' ? findCommand(actions, 'end-session') : undefined;

  const buttons: ToolButton[] = [
    {
      id: 'up',
      label: 'Up One Level',
      icon: <UpIcon />,
      enabled: parent !== null,
      run: () => parent && selectNode(parent),
    },
    {
      id: 'toggle-tree',
      label: 'Show/Hide Console Tree',
      icon: <TreeToggleIcon />,
      enabled: true,
      pressed: view.treeVisible,
      run: () => useView.setState((s) => ({ treeVisible: !s.treeVisible })),
    },
    { id: 'refresh', label: 'Refresh (F5)', icon: <RefreshIcon />, enabled: true, run: () => void refreshAll(), groupStart: true },
    fromCommand('properties', findCommand(actions, 'properties'), 'Properties', <PropertiesIcon />),
    newMailbox
      ? fromCommand('new', newMailbox, 'New Mailbox', <NewIcon />, true)
      : fromCommand('new', newDomain, 'New Domain', <NewIcon />, true),
    fromCommand('lock', findCommand(actions, 'lock'), 'Lock', <LockIcon />),
    fromCommand('unlock', findCommand(actions, 'unlock'), 'Unlock', <UnlockIcon />),
    fromCommand('delete', findCommand(actions, 'delete'), 'Delete', <DeleteIcon />),
    ...(view.node.kind === 'sessions' ? [fromCommand('end-session', endSession, 'End Session (Del)', <EndSessionIcon />, true)] : []),
    { id: 'help', label: 'Help (F1)', icon: <HelpIcon />, enabled: true, run: () => openDialog({ kind: 'help' }), groupStart: true },
  ];

  const [focusIndex, setFocusIndex] = useState(0);
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>): void => {
    const n = buttons.length;
    let next = -1;
    if (event.key === 'ArrowRight') next = (focusIndex + 1) % n;
    else if (event.key === 'ArrowLeft') next = (focusIndex - 1 + n) % n;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = n - 1;
    if (next < 0) return;
    event.preventDefault();
    setFocusIndex(next);
    refs.current[next]?.focus();
  };

  return (
    <div role="toolbar" aria-label="Standard" className="toolbar" onKeyDown={onKeyDown}>
      {buttons.map((b, index) => (
        <span key={b.id} className={`toolbar-slot${b.groupStart ? ' group-start' : ''}`}>
          <button
            ref={(el) => {
              refs.current[index] = el;
            }}
            type="button"
            className="tool-button"
            tabIndex={index === focusIndex ? 0 : -1}
            aria-label={b.label}
            aria-disabled={b.enabled ? undefined : true}
            aria-pressed={b.pressed}
            title={b.enabled ? b.label : `${b.label}${b.reason ? ` — ${b.reason}` : ''}`}
            data-testid={`tool-${b.id}`}
            onFocus={() => {
              setFocusIndex(index);
              showHint(!b.enabled && b.reason ? `${b.label}: ${b.reason}` : null);
            }}
            onBlur={() => showHint(null)}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => b.enabled && b.run()}
          >
            {b.icon}
          </button>
        </span>
      ))}
    </div>
  );
}
