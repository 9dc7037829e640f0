/**
 * One level of a popup menu (context menu, menu bar menu, or a submenu).
 *
 * Keyboard as in Windows and the ARIA menu pattern: Up/Down (wrapping),
 * Home/End, Right opens a submenu, Left or Esc closes one level, Enter or
 * Space runs the item, a letter jumps to the next item starting with it.
 * Disabled items stay focusable, and say why: as their tooltip for the
 * mouse, as their accessible description for a screen reader, and at the
 * foot of the menu while the keyboard is on them.
 */

import { useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactElement } from 'react';
import { CheckIcon, ChevronIcon } from '../icons/Icons.js';
import { typeAheadIndex } from '../type-ahead.js';
import type { MenuCommand, MenuEntry } from './menu-model.js';

export interface MenuPopupProps {
  readonly entries: readonly MenuEntry[];
  readonly label: string;
  /** Top-left corner in viewport pixels. */
  readonly x: number;
  readonly y: number;
  /** Where the menu's right edge goes when it does not fit to the right (a submenu flips to its parent's left). */
  readonly flipX?: number;
  readonly testId?: string;
  readonly initialFocus?: 'first' | 'last' | 'none';
  /** Runs a command: the owner closes every level first. */
  readonly onActivate: (command: MenuCommand) => void;
  /** Esc (or Left in a submenu): close this level. */
  readonly onClose: () => void;
  /** Tab or a click elsewhere: close every level. */
  readonly onCloseAll: () => void;
  /** Left/Right at the top level: the menu bar moves to its neighbour. */
  readonly onNeighbor?: (direction: -1 | 1) => void;
  readonly isSubmenu?: boolean;
}

const focusable = (entry: MenuEntry | undefined): boolean => entry !== undefined && entry.type !== 'separator';

function step(entries: readonly MenuEntry[], from: number, direction: 1 | -1): number {
  const n = entries.length;
  for (let k = 1; k <= n; k++) {
    const i = (((from + direction * k) % n) + n) % n;
    if (focusable(entries[i])) return i;
  }
  return from;
}

function firstIndex(entries: readonly MenuEntry[]): number {
  return step(entries, -1, 1);
}

function lastIndex(entries: readonly MenuEntry[]): number {
  return step(entries, entries.length, -1);
}

/** A popup menu level; renders its open submenu as a nested MenuPopup. */
export function MenuPopup(props: MenuPopupProps): ReactElement {
  const { entries, label, x, y, flipX, testId, onActivate, onClose, onCloseAll, onNeighbor, isSubmenu } = props;
  const initial = props.initialFocus ?? 'first';
  const [focusIndex, setFocusIndex] = useState(() =>
    initial === 'first' ? firstIndex(entries) : initial === 'last' ? lastIndex(entries) : -1,
  );
  const [submenu, setSubmenu] = useState<{ index: number; focus: 'first' | 'none' } | null>(null);
  const menuRef = useRef<HTMLDivElement>(null);
  const itemRefs = useRef<(HTMLDivElement | null)[]>([]);
  const menuId = useId();
  const focused = entries[focusIndex];
  const focusedReason = focused?.type === 'command' && !focused.enabled ? focused.reason : undefined;

  // Keep the menu inside the window: flip left, or shift up, when it would overflow.
  useLayoutEffect(() => {
    const menu = menuRef.current;
    if (!menu) return;
    const { width, height } = menu.getBoundingClientRect();
    let left = x;
    let top = y;
    if (left + width > window.innerWidth - 2) left = flipX !== undefined ? flipX - width : window.innerWidth - width - 2;
    if (top + height > window.innerHeight - 2) top = Math.max(2, window.innerHeight - height - 2);
    menu.style.left = `${Math.max(2, left)}px`;
    menu.style.top = `${top}px`;
    menu.style.visibility = 'visible';
    // Again when a disabled item's reason shows at the foot: the menu grows.
  }, [x, y, flipX, focusedReason]);

  useEffect(() => {
    if (submenu?.focus === 'first') return;
    if (focusIndex >= 0) itemRefs.current[focusIndex]?.focus();
    // A menu opened by the mouse takes the focus without marking an item, so the arrows work at once;
    // a submenu opened by hovering leaves the focus on its parent item.
    else if (!isSubmenu || initial !== 'none') menuRef.current?.focus();
  }, [focusIndex, submenu, initial, isSubmenu]);

  const openSubmenu = (index: number, focus: 'first' | 'none'): void => {
    const entry = entries[index];
    if (entry?.type === 'submenu' && entry.enabled) setSubmenu({ index, focus });
  };

  const activate = (index: number): void => {
    const entry = entries[index];
    if (!entry || entry.type === 'separator' || !entry.enabled) return;
    if (entry.type === 'submenu') openSubmenu(index, 'first');
    else onActivate(entry);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>): void => {
    let handled = true;
    switch (event.key) {
      case 'ArrowDown':
        setFocusIndex((i) => step(entries, i, 1));
        break;
      case 'ArrowUp':
        setFocusIndex((i) => step(entries, i < 0 ? entries.length : i, -1));
        break;
      case 'Home':
      case 'PageUp':
        setFocusIndex(firstIndex(entries));
        break;
      case 'End':
      case 'PageDown':
        setFocusIndex(lastIndex(entries));
        break;
      case 'ArrowRight':
        if (entries[focusIndex]?.type === 'submenu') openSubmenu(focusIndex, 'first');
        else if (onNeighbor) onNeighbor(1);
        break;
      case 'ArrowLeft':
        if (isSubmenu) onClose();
        else if (onNeighbor) onNeighbor(-1);
        break;
      case 'Enter':
      case ' ':
        activate(focusIndex);
        break;
      case 'Escape':
        onClose();
        break;
      case 'Tab':
        onCloseAll();
        break;
      case 'F10':
      case 'ContextMenu':
        onCloseAll();
        break;
      default:
        if (event.key.length === 1 && /\S/.test(event.key) && !event.ctrlKey && !event.metaKey && !event.altKey) {
          const i = typeAheadIndex(entries, focusIndex, event.key, (entry) => (entry.type === 'separator' ? null : entry.label));
          if (i >= 0) setFocusIndex(i);
        } else {
          handled = false;
        }
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  const sub = submenu ? entries[submenu.index] : undefined;
  const subRect = submenu ? itemRefs.current[submenu.index]?.getBoundingClientRect() : undefined;

  return (
    <div
      ref={menuRef}
      role="menu"
      aria-label={label}
      aria-orientation="vertical"
      className="menu"
      tabIndex={-1}
      data-testid={testId}
      onKeyDown={onKeyDown}
      onContextMenu={(e) => e.preventDefault()}
    >
      {entries.map((entry, index) => {
        if (entry.type === 'separator') return <div key={`sep-${index}`} role="separator" className="menu-separator" />;
        const isSub = entry.type === 'submenu';
        const checked = entry.type === 'command' ? entry.checked : undefined;
        const role = checked === undefined ? 'menuitem' : 'menuitemcheckbox';
        const reason = entry.type === 'command' && !entry.enabled ? entry.reason : undefined;
        const reasonId = `${menuId}-reason-${index}`;
        return (
          <div
            key={entry.id}
            ref={(el) => {
              itemRefs.current[index] = el;
            }}
            role={role}
            aria-label={entry.label}
            tabIndex={index === focusIndex ? 0 : -1}
            aria-disabled={entry.enabled ? undefined : true}
            aria-haspopup={isSub ? 'menu' : undefined}
            aria-expanded={isSub ? submenu?.index === index : undefined}
            aria-checked={checked}
            aria-keyshortcuts={entry.type === 'command' && entry.shortcut ? entry.shortcut.replace('Del', 'Delete') : undefined}
            title={reason}
            aria-describedby={reason ? reasonId : undefined}
            data-testid={`menu-${entry.id}`}
            className={`menu-item${entry.enabled ? '' : ' disabled'}${entry.type === 'command' && entry.isDefault ? ' default' : ''}`}
            onMouseEnter={() => {
              setFocusIndex(index);
              if (isSub) openSubmenu(index, 'none');
              else setSubmenu(null);
            }}
            onClick={(e) => {
              e.stopPropagation();
              activate(index);
            }}
          >
            <span className="menu-check">{checked ? <CheckIcon /> : null}</span>
            <span className="menu-label">{entry.label}</span>
            <span className="menu-shortcut">{entry.type === 'command' ? entry.shortcut : null}</span>
            <span className="menu-arrow">{isSub ? <ChevronIcon /> : null}</span>
            {reason ? (
              <span id={reasonId} hidden>
                {reason}
              </span>
            ) : null}
          </div>
        );
      })}
      {focusedReason ? (
        // Shown, not read: the item's description already says it to a screen reader.
        <div className="menu-reason" aria-hidden="true" data-testid="menu-reason">
          {focusedReason}
        </div>
      ) : null}
      {sub?.type === 'submenu' && subRect ? (
        <MenuPopup
          key={`${sub.id}-${submenu?.focus ?? 'first'}`}
          entries={sub.children}
          label={sub.label}
          x={subRect.right - 2}
          y={subRect.top - 3}
          flipX={subRect.left + 2}
          testId={`submenu-${sub.id}`}
          initialFocus={submenu?.focus ?? 'first'}
          isSubmenu
          onActivate={onActivate}
          onClose={() => {
            const index = submenu?.index ?? -1;
            setSubmenu(null);
            setFocusIndex(index);
            itemRefs.current[index]?.focus();
          }}
          onCloseAll={onCloseAll}
        />
      ) : null}
    </div>
  );
}
