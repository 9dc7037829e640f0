/**
 * The menu bar: File, Action, View, Help. One tab stop; Left/Right move
 * between menus, Down/Enter/Space open one, and with a menu open Left/Right
 * open the neighbour, as in Windows. F10 or Alt+letter gets here from anywhere.
 */

import { useMemo, useRef, useState, type KeyboardEvent, type ReactElement } from 'react';
import { setMenuBarOpen, useUi } from '../state/ui-store.js';
import { MENU_BAR } from './menubar-entries.js';
import { MenuPopup } from './MenuPopup.js';
import { useDismiss } from './use-dismiss.js';

export function MenuBar(): ReactElement {
  const menuBar = useUi((s) => s.menuBar);
  const open = menuBar?.id ?? null;
  const initialFocus = menuBar?.focus ?? 'first';
  const [focusIndex, setFocusIndex] = useState(0);
  const buttons = useRef<(HTMLDivElement | null)[]>([]);
  /** Where the focus was before the menu bar took it, to give it back after a command. */
  const returnFocus = useRef<HTMLElement | null>(null);

  const openIndex = MENU_BAR.findIndex((m) => m.id === open);
  const menu = openIndex >= 0 ? MENU_BAR[openIndex] : undefined;
  // Entries are computed when a menu opens, so the Action menu matches the current selection.
  const entries = useMemo(() => menu?.entries() ?? [], [menu]);

  const close = (refocus: 'button' | 'previous'): void => {
    setMenuBarOpen(null);
    if (refocus === 'button') buttons.current[openIndex >= 0 ? openIndex : focusIndex]?.focus();
    else if (returnFocus.current?.isConnected) returnFocus.current.focus();
  };
  useDismiss(open !== null, () => setMenuBarOpen(null), '.menu, [role="menubar"]');

  const openAt = (index: number, focus: 'first' | 'last' | 'none'): void => {
    const target = MENU_BAR[index];
    if (!target) return;
    setFocusIndex(index);
    setMenuBarOpen(target.id, focus);
  };

  const move = (direction: -1 | 1): void => {
    const n = MENU_BAR.length;
    const next = (((openIndex >= 0 ? openIndex : focusIndex) + direction) % n + n) % n;
    if (open) openAt(next, 'first');
    else {
      setFocusIndex(next);
      buttons.current[next]?.focus();
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>, index: number): void => {
    let handled = true;
    switch (event.key) {
      case 'ArrowLeft':
        move(-1);
        break;
      case 'ArrowRight':
        move(1);
        break;
      case 'ArrowDown':
      case 'Enter':
      case ' ':
        openAt(index, 'first');
        break;
      case 'ArrowUp':
        openAt(index, 'last');
        break;
      case 'Escape':
      case 'F10':
        if (open) close('button');
        else if (returnFocus.current?.isConnected) returnFocus.current.focus();
        break;
      default:
        handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  const anchor = openIndex >= 0 ? buttons.current[openIndex]?.getBoundingClientRect() : undefined;

  return (
    <div
      role="menubar"
      aria-label="Console menu"
      className="menubar"
      onFocus={(e) => {
        const from = e.relatedTarget as HTMLElement | null;
        if (from && !e.currentTarget.contains(from) && !from.closest('.menu')) returnFocus.current = from;
      }}
    >
      {MENU_BAR.map((m, index) => (
        <div
          key={m.id}
          ref={(el) => {
            buttons.current[index] = el;
          }}
          role="menuitem"
          aria-haspopup="menu"
          aria-expanded={open === m.id}
          aria-label={m.label}
          tabIndex={index === focusIndex ? 0 : -1}
          className={`menubar-item${open === m.id ? ' open' : ''}`}
          data-testid={`menubar-${m.id}`}
          onKeyDown={(e) => onKeyDown(e, index)}
          onMouseDown={(e) => {
            e.preventDefault();
            if (open === m.id) close('previous');
            else {
              if (!e.currentTarget.parentElement?.contains(document.activeElement)) {
                returnFocus.current = document.activeElement as HTMLElement | null;
              }
              openAt(index, 'none');
            }
          }}
          onMouseEnter={() => {
            if (open && open !== m.id) openAt(index, 'none');
          }}
        >
          <span className="access-key">{m.label.slice(0, 1)}</span>
          {m.label.slice(1)}
        </div>
      ))}
      {menu && anchor ? (
        <MenuPopup
          key={`${menu.id}-${initialFocus}`}
          entries={entries}
          label={menu.label}
          x={anchor.left}
          y={anchor.bottom}
          testId={`menu-popup-${menu.id}`}
          initialFocus={initialFocus}
          onActivate={(command) => {
            close('previous');
            command.run();
          }}
          onClose={() => close('button')}
          onCloseAll={() => close('previous')}
          onNeighbor={move}
        />
      ) : null}
    </div>
  );
}

/** Opens a menu of the menu bar from a shortcut (Alt+letter). */
export function openMenuByAccessKey(key: string): boolean {
  const menu = MENU_BAR.find((m) => m.accessKey === key.toLowerCase());
  if (!menu) return false;
  setMenuBarOpen(menu.id, 'first');
  return true;
}
