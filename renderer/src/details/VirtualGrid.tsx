/**
 * A virtualized, multi-select data grid: a fixed scroll area with a sticky
 * header, and only the rows in view (plus a few) in the DOM. A domain of
 * 100,000 mailboxes scrolls like one of ten.
 *
 * The rows arrive already filtered and sorted (see row-order.ts). TanStack
 * Table keeps the columns and the sort state and draws the header; the rows
 * are plain memoised components (GridRows, GridRow) that a scroll updates in
 * place, so a frame costs little more than the text that changed.
 *
 * Keyboard (ARIA grid, Windows list view): Up/Down, PageUp/PageDown,
 * Home/End move and select; with Shift they extend, with Ctrl they only
 * move; Space selects (Ctrl+Space toggles); Ctrl+A selects all shown; Enter
 * opens; Delete deletes; Shift+F10 or the Menu key opens the context menu;
 * typing jumps to a name. The grid keeps DOM focus and points at the active
 * row with aria-activedescendant, so virtualization never loses the focus.
 */

import { getCoreRowModel, useReactTable, type ColumnDef, type SortingState, type Updater } from '@tanstack/react-table';
import { useMemo, useRef, type KeyboardEvent, type MouseEvent, type ReactElement } from 'react';
import {
  clearSelection,
  selectAll,
  selectOnly,
  selectRange,
  setActive,
  setSorting,
  toggleRow,
  useSelection,
} from '../state/selection-store.js';
import { setFocusArea } from '../state/view-store.js';
import { GridHeader } from './GridHeader.js';
import type { CellRenderers } from './GridRow.js';
import { GridRows, type RowsControl } from './GridRows.js';
import { HEADER_HEIGHT, ROW_HEIGHT, scrollTopToReveal } from './row-window.js';

const TYPEAHEAD_RESET_MS = 800;
/** The table never sees the rows: it only keeps the columns and the sort state. */
const NO_DATA: never[] = [];

export interface VirtualGridProps<T> {
  /** The rows in the order shown (filtered and sorted). */
  readonly rows: readonly T[];
  /** The columns: id, header text and sorting (their cells are drawn by `cells`). */
  readonly columns: ColumnDef<T, unknown>[];
  /** What each column shows for a row, by column id. */
  readonly cells: CellRenderers<T>;
  readonly rowId: (row: T) => string;
  readonly label: string;
  /** The CSS class that sets the column template. */
  readonly layoutClass: string;
  readonly testId: string;
  readonly emptyText: string;
  /** The text typed to jump to a row. */
  readonly nameOf: (row: T) => string;
  readonly rowClass?: (row: T) => string;
  /** Enter or double-click. */
  readonly onOpen: (row: T) => void;
  readonly onDelete: () => void;
  /** Opens the context menu; the selection is already what it acts on. */
  readonly onMenu: (x: number, y: number, returnFocus: HTMLElement) => void;
}

export function VirtualGrid<T>(props: VirtualGridProps<T>): ReactElement {
  const { rows, columns, cells, rowId, label, layoutClass, testId, emptyText, nameOf, rowClass, onOpen, onDelete, onMenu } = props;
  const scrollRef = useRef<HTMLDivElement>(null);
  const rowsControl = useRef<RowsControl>(null);
  const pointerDown = useRef(false);
  const typeahead = useRef({ text: '', at: 0 });

  const order = useMemo(() => rows.map(rowId), [rows, rowId]);
  const indexById = useMemo(() => new Map(order.map((id, i) => [id, i])), [order]);
  const active = useSelection((s) => s.active);
  const activeIndex = active === null ? -1 : (indexById.get(active) ?? -1);

  const sorting = useSelection((s) => s.sorting);
  const table = useReactTable<T>({
    data: NO_DATA,
    columns,
    state: { sorting },
    onSortingChange: (updater: Updater<SortingState>) => {
      setSorting(typeof updater === 'function' ? updater(useSelection.getState().sorting) : updater);
    },
    // The rows come sorted; the table only keeps the sort state and draws the header.
    manualSorting: true,
    enableSortingRemoval: false,
    // Every column sorts ascending first, as list views on Windows do.
    sortDescFirst: false,
    getCoreRowModel: getCoreRowModel(),
  });
  const headers = table.getHeaderGroups()[0]?.headers ?? [];
  const columnKey = headers.map((header) => header.column.id).join(' ');
  const columnIds = useMemo(() => columnKey.split(' '), [columnKey]);

  const rowDomId = (index: number): string => `${testId}-row-${index}`;
  const pageSize = Math.max(1, Math.floor(((scrollRef.current?.clientHeight ?? 400) - HEADER_HEIGHT) / ROW_HEIGHT) - 1);

  const reveal = (index: number): void => {
    const grid = scrollRef.current;
    if (!grid) return;
    const top = scrollTopToReveal(index, grid.scrollTop, grid.clientHeight);
    if (top !== null) grid.scrollTop = top;
    // The rows follow now, not at the scroll event of the next frame: aria-activedescendant must name a row in the page.
    rowsControl.current?.sync();
  };

  const moveTo = (index: number, mode: 'select' | 'extend' | 'focus'): void => {
    if (order.length === 0) return;
    const clamped = Math.max(0, Math.min(order.length - 1, index));
    const id = order[clamped] as string;
    if (mode === 'select') selectOnly(id);
    else if (mode === 'extend') selectRange(order, id, false);
    else setActive(id);
    reveal(clamped);
  };

  const openMenuAtActive = (): void => {
    const grid = scrollRef.current;
    if (!grid) return;
    const { selected } = useSelection.getState();
    if (activeIndex >= 0 && !selected.has(order[activeIndex] as string)) selectOnly(order[activeIndex] as string);
    const rowEl = activeIndex >= 0 ? document.getElementById(rowDomId(activeIndex)) : null;
    const rect = (rowEl ?? grid).getBoundingClientRect();
    onMenu(rect.left + 24, rowEl ? rect.bottom - 4 : rect.top + HEADER_HEIGHT + 4, grid);
  };

  const jumpToName = (key: string): void => {
    const now = Date.now();
    const state = typeahead.current;
    state.text = now - state.at > TYPEAHEAD_RESET_MS ? key : state.text + key;
    state.at = now;
    const text = state.text.toLowerCase();
    const start = state.text.length > 1 ? Math.max(0, activeIndex) : activeIndex + 1;
    for (let k = 0; k < rows.length; k++) {
      const i = (start + k) % rows.length;
      if (nameOf(rows[i] as T).toLowerCase().startsWith(text)) {
        moveTo(i, 'select');
        return;
      }
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>): void => {
    const ctrl = event.ctrlKey || event.metaKey;
    const mode = event.shiftKey ? 'extend' : ctrl ? 'focus' : 'select';
    const at = activeIndex < 0 ? -1 : activeIndex;
    let handled = true;
    if ((event.key === 'F10' && event.shiftKey) || event.key === 'ContextMenu') {
      openMenuAtActive();
    } else if (ctrl && !event.altKey && event.key.toLowerCase() === 'a') {
      selectAll(order);
    } else {
      switch (event.key) {
        case 'ArrowDown':
          moveTo(at + 1, mode);
          break;
        case 'ArrowUp':
          moveTo(at < 0 ? 0 : at - 1, mode);
          break;
        case 'PageDown':
          moveTo(at + pageSize, mode);
          break;
        case 'PageUp':
          moveTo(at - pageSize, mode);
          break;
        case 'Home':
          moveTo(0, mode);
          break;
        case 'End':
          moveTo(order.length - 1, mode);
          break;
        case ' ':
          if (at >= 0) {
            if (ctrl) toggleRow(order[at] as string);
            else if (event.shiftKey) selectRange(order, order[at] as string, false);
            else selectOnly(order[at] as string);
          }
          break;
        case 'Enter': {
          const row = at >= 0 ? rows[at] : undefined;
          if (row) onOpen(row);
          break;
        }
        case 'Delete':
          if (useSelection.getState().selected.size > 0) onDelete();
          break;
        case 'Escape':
          if (useSelection.getState().selected.size > 0) clearSelection();
          else handled = false;
          break;
        default:
          if (event.key.length === 1 && /\S/.test(event.key) && !ctrl && !event.altKey) jumpToName(event.key);
          else handled = false;
      }
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  const rowFromEvent = (event: MouseEvent): { id: string; index: number } | null => {
    const el = (event.target as Element).closest<HTMLElement>('[data-row-id]');
    const id = el?.dataset.rowId;
    if (id === undefined) return null;
    const index = indexById.get(id);
    return index === undefined ? null : { id, index };
  };

  const onMouseDown = (event: MouseEvent<HTMLDivElement>): void => {
    pointerDown.current = true;
    if ((event.target as Element).closest('[role="columnheader"]')) return;
    const hit = rowFromEvent(event);
    if (event.button === 2) {
      if (hit && !useSelection.getState().selected.has(hit.id)) selectOnly(hit.id);
      if (!hit) clearSelection();
      return;
    }
    if (event.button !== 0) return;
    if (!hit) {
      if (!event.ctrlKey && !event.metaKey && !event.shiftKey) clearSelection();
      return;
    }
    if (event.shiftKey) selectRange(order, hit.id, event.ctrlKey || event.metaKey);
    else if (event.ctrlKey || event.metaKey) toggleRow(hit.id);
    else selectOnly(hit.id);
  };

  const onFocus = (): void => {
    setFocusArea('details');
    const fromPointer = pointerDown.current;
    pointerDown.current = false;
    if (fromPointer || order.length === 0) return;
    // Arriving by keyboard: put the focus on a row, as Windows list views do.
    const { active: current, selected } = useSelection.getState();
    if (current !== null && indexById.has(current)) return;
    const firstSelected = order.find((id) => selected.has(id));
    if (firstSelected) setActive(firstSelected);
    else selectOnly(order[0] as string);
  };

  return (
    <div
      ref={scrollRef}
      role="grid"
      aria-label={label}
      aria-multiselectable="true"
      aria-rowcount={rows.length + 1}
      aria-colcount={headers.length}
      aria-activedescendant={activeIndex >= 0 ? rowDomId(activeIndex) : undefined}
      tabIndex={0}
      className={`grid ${layoutClass}`}
      data-testid={testId}
      data-row-count={rows.length}
      onKeyDown={onKeyDown}
      onMouseDown={onMouseDown}
      onFocus={onFocus}
      onDoubleClick={(e) => {
        const hit = rowFromEvent(e);
        const row = hit ? rows[hit.index] : undefined;
        if (row) onOpen(row);
      }}
      onContextMenu={(e) => {
        e.preventDefault();
        const grid = scrollRef.current;
        if (grid) onMenu(e.clientX, e.clientY, grid);
      }}
    >
      <GridHeader headers={headers} />
      <GridRows
        rows={rows}
        rowId={rowId}
        rowClass={rowClass}
        columnIds={columnIds}
        cells={cells}
        idPrefix={testId}
        control={rowsControl}
      />
      {rows.length === 0 ? <div className="grid-empty">{emptyText}</div> : null}
    </div>
  );
}
