import { memo, type ReactElement, type ReactNode } from 'react';
import { useSelection } from '../state/selection-store.js';

/** What each column shows for a row, by column id: plain text, or a small element. */
export type CellRenderers<T> = Readonly<Record<string, (row: T) => ReactNode>>;

export interface GridRowProps<T> {
  readonly row: T;
  readonly id: string;
  /** Position in the order shown. */
  readonly index: number;
  readonly domId: string;
  readonly extraClass: string;
  readonly columnIds: readonly string[];
  readonly cells: CellRenderers<T>;
}

/**
 * One row in the page. The grid keys rows by their place in the page, so
 * while scrolling a row element stays and shows another data row: React
 * only rewrites its text and attributes.
 *
 * Its selection state is its own subscription, so a click repaints only the
 * rows it changes.
 */
export const GridRow = memo(function GridRow<T>({ row, id, index, domId, extraClass, columnIds, cells }: GridRowProps<T>): ReactElement {
  const selected = useSelection((s) => s.selected.has(id));
  const active = useSelection((s) => s.active === id);
  return (
    <div
      id={domId}
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      className={`grid-row${index % 2 ? ' odd' : ''}${selected ? ' selected' : ''}${active ? ' active' : ''}${extraClass ? ` ${extraClass}` : ''}`}
      data-row-id={id}
      data-testid="grid-row"
    >
      {columnIds.map((column) => (
        <div key={column} role="gridcell" className={`cell cell-${column}`}>
          {cells[column]?.(row)}
        </div>
      ))}
    </div>
  );
}) as <T>(props: GridRowProps<T>) => ReactElement;
