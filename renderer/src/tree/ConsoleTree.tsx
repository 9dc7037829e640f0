/**
 * The console tree: POP3 Service › this computer › its domains, with a lock
 * mark on locked domains, and its Sessions (the same under each other computer). Follows the ARIA tree pattern: one tab stop, the
 * arrows move and select (the details pane follows, as in MMC), Right and
 * Left open and close, Home/End, Enter opens, a letter jumps.
 */

import { useEffect, useRef, type KeyboardEvent, type MouseEvent, type ReactElement } from 'react';
import { ComputerIcon, DomainIcon, LockIcon, ServiceIcon, SessionsIcon } from '../icons/Icons.js';
import { contextForNode } from '../menus/action-context.js';
import { focusGrid } from '../menus/focus-targets.js';
import { computerLabel, setComputerExpanded, useComputers } from '../state/computers-store.js';
import { useData } from '../state/data-store.js';
import { selectNode } from '../state/navigation.js';
import { openContextMenu } from '../state/ui-store.js';
import { nodeKey, setFocusArea, useView, type TreeNode } from '../state/view-store.js';
import { typeAheadIndex } from '../type-ahead.js';
import { COMPUTER_STATE_WORDS, visibleNodes, type RemoteBranch, type VisibleNode } from './tree-model.js';

function iconFor(node: TreeNode): ReactElement {
  if (node.kind === 'root') return <ServiceIcon />;
  if (node.kind === 'computer' || node.kind === 'remote') return <ComputerIcon />;
  if (node.kind === 'sessions') return <SessionsIcon />;
  return <DomainIcon />;
}

function setExpanded(node: TreeNode, expanded: boolean): void {
  if (node.kind === 'root') useView.setState({ rootExpanded: expanded });
  else if (node.kind === 'computer') useView.setState({ computerExpanded: expanded });
  else if (node.kind === 'remote') setComputerExpanded(node.computer, expanded);
  // Collapsing above the selection selects the collapsed node, as MMC does.
  const selected = useView.getState().node;
  const below =
    node.kind === 'root'
      ? selected.kind !== 'root'
      : node.kind === 'remote'
        ? (selected.kind === 'domain' || selected.kind === 'sessions') && selected.computer === node.computer
        : (selected.kind === 'domain' || selected.kind === 'sessions') && selected.computer === undefined;
  if (!expanded && below) selectNode(node);
}

export function ConsoleTree(): ReactElement {
  const computer = useData((s) => s.info?.computer ?? 'This computer');
  const domains = useData((s) => s.domains);
  const { node: selected, rootExpanded, computerExpanded } = useView();
  const others = useComputers();
  const remotes: RemoteBranch[] = others.computers.map((info) => ({
    info,
    label: computerLabel(info),
    domains: others.domains[info.id] ?? [],
    expanded: others.expanded[info.id] ?? true,
  }));
  const nodes = visibleNodes(computer, domains, rootExpanded, computerExpanded, remotes);
  const selectedKey = nodeKey(selected);
  const items = useRef(new Map<string, HTMLDivElement>());
  const treeRef = useRef<HTMLDivElement>(null);

  // Keep DOM focus on the selected item while the tree has focus (selection can change from elsewhere).
  useEffect(() => {
    if (treeRef.current?.contains(document.activeElement)) items.current.get(selectedKey)?.focus();
  }, [selectedKey]);

  const go = (target: VisibleNode | undefined): void => {
    if (!target) return;
    selectNode(target.node);
    items.current.get(target.key)?.focus();
  };

  const openMenuFor = (target: VisibleNode, x: number, y: number): void => {
    selectNode(target.node);
    const el = items.current.get(target.key) ?? null;
    el?.focus();
    openContextMenu({ context: contextForNode(target.node), x, y, returnFocus: el });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>): void => {
    const index = nodes.findIndex((n) => n.key === selectedKey);
    const current = nodes[index];
    if (!current) return;
    let handled = true;
    if ((event.key === 'F10' && event.shiftKey) || event.key === 'ContextMenu') {
      const rect = items.current.get(current.key)?.querySelector('.tree-label')?.getBoundingClientRect();
      openMenuFor(current, (rect?.left ?? 0) + 12, (rect?.bottom ?? 0) - 2);
    } else if (event.altKey || event.ctrlKey || event.metaKey) {
      handled = false;
    } else {
      switch (event.key) {
        case 'ArrowDown':
          go(nodes[index + 1]);
          break;
        case 'ArrowUp':
          go(nodes[index - 1]);
          break;
        case 'Home':
          go(nodes[0]);
          break;
        case 'End':
          go(nodes[nodes.length - 1]);
          break;
        case 'ArrowRight':
          if (current.expanded === false) setExpanded(current.node, true);
          else if (current.expanded === true) go(nodes[index + 1]);
          break;
        case 'ArrowLeft':
          if (current.expanded === true) setExpanded(current.node, false);
          else go(nodes.find((n) => n.key === current.parentKey));
          break;
        case 'Enter':
          if (current.expanded !== null) setExpanded(current.node, !current.expanded);
          else focusGrid();
          break;
        case '*':
          setExpanded({ kind: 'root' }, true);
          setExpanded({ kind: 'computer' }, true);
          break;
        default:
          if (event.key.length === 1 && /\S/.test(event.key)) {
            const hit = typeAheadIndex(nodes, index, event.key, (n) => n.label);
            if (hit >= 0) go(nodes[hit]);
          } else {
            handled = false;
          }
      }
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  return (
    <div
      ref={treeRef}
      role="tree"
      aria-label="Console tree"
      className="tree"
      data-testid="console-tree"
      onKeyDown={onKeyDown}
      onFocus={() => setFocusArea('tree')}
    >
      {nodes.map((n) => (
        <TreeRow
          key={n.key}
          item={n}
          selected={n.key === selectedKey}
          register={(el) => {
            if (el) items.current.set(n.key, el);
            else items.current.delete(n.key);
          }}
          onSelect={() => selectNode(n.node)}
          onToggle={() => n.expanded !== null && setExpanded(n.node, !n.expanded)}
          onMenu={(e) => {
            e.preventDefault();
            openMenuFor(n, e.clientX, e.clientY);
          }}
        />
      ))}
    </div>
  );
}

interface TreeRowProps {
  readonly item: VisibleNode;
  readonly selected: boolean;
  readonly register: (el: HTMLDivElement | null) => void;
  readonly onSelect: () => void;
  readonly onToggle: () => void;
  readonly onMenu: (event: MouseEvent) => void;
}

function TreeRow({ item, selected, register, onSelect, onToggle, onMenu }: TreeRowProps): ReactElement {
  const lockText = item.domain?.lock
    ? `Locked by ${item.domain.lock.by}${item.domain.lock.reason ? `: ${item.domain.lock.reason}` : ''}`
    : undefined;
  return (
    <div
      ref={register}
      role="treeitem"
      aria-level={item.level}
      aria-expanded={item.expanded ?? undefined}
      aria-selected={selected}
      aria-label={item.locked ? `${item.label} (locked)` : item.remote ? `${item.label} (${COMPUTER_STATE_WORDS[item.remote.state]})` : item.label}
      tabIndex={selected ? 0 : -1}
      className={`tree-item level-${item.level}${selected ? ' selected' : ''}${item.locked ? ' locked' : ''}`}
      data-testid={`tree-${item.key}`}
      data-locked={item.locked || undefined}
      title={lockText ? `${item.label}\n${lockText}` : item.remote?.reason ? `${item.label}\n${item.remote.reason}` : item.label}
      data-state={item.remote?.state}
      onMouseDown={(e) => {
        if (e.button === 0) onSelect();
      }}
      onDoubleClick={onToggle}
      onContextMenu={onMenu}
    >
      <span
        className={`tree-twisty${item.expanded === null ? ' leaf' : item.expanded ? ' open' : ''}`}
        aria-hidden="true"
        onMouseDown={(e) => {
          e.stopPropagation();
          e.preventDefault();
          onToggle();
        }}
      />
      <span className="tree-icon">
        {iconFor(item.node)}
        {item.locked ? <LockIcon className="lock-badge" /> : null}
      </span>
      <span className="tree-label">{item.label}</span>
      {item.remote ? (
        <span className={`tree-state state-${item.remote.state}`} data-testid={`state-${item.key}`}>
          {' '}
          ({COMPUTER_STATE_WORDS[item.remote.state]})
        </span>
      ) : null}
    </div>
  );
}
