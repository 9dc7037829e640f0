/**
 * The details pane's row selection, filter and sort order.
 *
 * Selection is a set of row ids (domain names or addresses), so it survives
 * sorting, filtering and live updates; each visible row subscribes to its own
 * membership only, and a change repaints just the rows it touches.
 */

import type { SortingState } from '@tanstack/react-table';
import { create } from 'zustand';

export interface SelectionState {
  /** Which table the selection belongs to: `domains` or `mailboxes:<domain>`. */
  readonly table: string;
  readonly selected: ReadonlySet<string>;
  /** Where a Shift range starts. */
  readonly anchor: string | null;
  /** The row with the keyboard focus. */
  readonly active: string | null;
  readonly filter: string;
  readonly sorting: SortingState;
}

const EMPTY: ReadonlySet<string> = new Set();

export const initialSelection: SelectionState = {
  table: 'domains',
  selected: EMPTY,
  anchor: null,
  active: null,
  filter: '',
  sorting: [{ id: 'name', desc: false }],
};

export const useSelection = create<SelectionState>()(() => initialSelection);

/** Starts a fresh selection for another table (a different domain or the domain list). */
export function resetSelection(table: string): void {
  if (useSelection.getState().table === table) return;
  useSelection.setState({ ...initialSelection, table });
}

/** Selects exactly these rows. */
export function selectOnly(id: string): void {
  useSelection.setState({ selected: new Set([id]), anchor: id, active: id });
}

/** Ctrl/Cmd+click: adds or removes one row. */
export function toggleRow(id: string): void {
  const selected = new Set(useSelection.getState().selected);
  if (selected.has(id)) selected.delete(id);
  else selected.add(id);
  useSelection.setState({ selected, anchor: id, active: id });
}

/** Shift+click or Shift+arrow: selects from the anchor to `id` in the order shown. */
export function selectRange(order: readonly string[], id: string, keepOthers: boolean): void {
  const { anchor, selected } = useSelection.getState();
  const from = anchor === null ? -1 : order.indexOf(anchor);
  const to = order.indexOf(id);
  if (to < 0) return;
  const start = from < 0 ? to : Math.min(from, to);
  const end = from < 0 ? to : Math.max(from, to);
  const next = keepOthers ? new Set(selected) : new Set<string>();
  for (let i = start; i <= end; i++) next.add(order[i] as string);
  useSelection.setState({ selected: next, anchor: from < 0 ? id : anchor, active: id });
}

/** Ctrl+A: every row shown (the filter applies). */
export function selectAll(order: readonly string[]): void {
  const { active } = useSelection.getState();
  useSelection.setState({ selected: new Set(order), active: active ?? order[0] ?? null });
}

/** Moves the keyboard focus without changing the selection (Ctrl+arrow). */
export function setActive(id: string | null): void {
  useSelection.setState({ active: id });
}

export function clearSelection(): void {
  useSelection.setState({ selected: EMPTY, anchor: null });
}

/** Drops ids that no longer exist (a mailbox deleted elsewhere). */
export function pruneSelection(exists: (id: string) => boolean): void {
  const { selected, active, anchor } = useSelection.getState();
  let changed = false;
  const next = new Set<string>();
  for (const id of selected) {
    if (exists(id)) next.add(id);
    else changed = true;
  }
  const activeGone = active !== null && !exists(active);
  const anchorGone = anchor !== null && !exists(anchor);
  if (changed || activeGone || anchorGone) {
    useSelection.setState({
      selected: changed ? next : selected,
      active: activeGone ? null : active,
      anchor: anchorGone ? null : anchor,
    });
  }
}

export function setFilter(filter: string): void {
  useSelection.setState({ filter });
}

export function setSorting(sorting: SortingState): void {
  useSelection.setState({ sorting });
}
