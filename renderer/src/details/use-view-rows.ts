import { useMemo, useRef } from 'react';
import { useSelection } from '../state/selection-store.js';
import { orderRows, type OrderSpec } from './row-order.js';

interface Cached {
  readonly ids: readonly string[];
  readonly sortId: string | undefined;
  readonly desc: boolean | undefined;
  readonly filter: string;
  readonly positions: number[];
}

/**
 * The rows as the grid shows them: filtered by the filter box, in the
 * selected column's order.
 *
 * Sorted by name, the order depends only on which rows exist, so a live
 * update that changes counts or locks reuses the last order instead of
 * sorting 100,000 rows again. That holds where a row's name never changes
 * (`namesFixed`, a domain's or a mailbox's); a session's turns from "not
 * logged in" into its mailbox, so its rows are always sorted again.
 */
export function useViewRows<T>(rows: readonly T[], spec: OrderSpec<T>, rowId: (row: T) => string, namesFixed = true): readonly T[] {
  const sorting = useSelection((s) => s.sorting);
  const filter = useSelection((s) => s.filter);
  const cache = useRef<Cached | null>(null);
  return useMemo(() => {
    const ids = rows.map(rowId);
    const sort = sorting[0];
    const last = cache.current;
    const nameOnly = namesFixed && (sort === undefined || sort.id === 'name');
    const reusable =
      nameOnly &&
      last !== null &&
      last.sortId === sort?.id &&
      last.desc === sort?.desc &&
      last.filter === filter &&
      last.ids.length === ids.length &&
      last.ids.every((id, i) => id === ids[i]);
    const positions = reusable ? last.positions : orderRows(rows, spec, sorting, filter);
    cache.current = { ids, sortId: sort?.id, desc: sort?.desc, filter, positions };
    return positions.map((i) => rows[i] as T);
  }, [rows, spec, rowId, sorting, filter, namesFixed]);
}
