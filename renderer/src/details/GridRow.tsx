import { flexRender, type Row } from '@tanstack/react-table';
import { memo, type ReactElement } from 'react';
import { useSelection } from '../state/selection-store.js';

export interface GridRowProps<T> {
  readonly row: Row<T>;
  readonly index: number;
  readonly top: number;
  readonly domId: string;
  readonly extraClass: string;
}

/** One row in view; its selection state is its own subscription, so a click repaints only the rows it changes. */
export const GridRow = memo(function GridRow<T>({ row, index, top, domId, extraClass }: GridRowProps<T>): ReactElement {
  const selected = useSelection((s) => s.selected.has(row.id));
  const active = useSelection((s) => s.active === row.id);
  return (
    <div
      id={domId}
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      className={`grid-row${selected ? ' selected' : ''}${active ? ' active' : ''}${index % 2 ? ' odd' : ''} ${extraClass}`}
      data-row-id={row.id}
      data-testid="grid-row"
      style={{ transform: `translateY(${top}px)` }}
    >
      {row.getVisibleCells().map((cell) => (
        <div key={cell.id} role="gridcell" className={`cell cell-${cell.column.id}`}>
          {flexRender(cell.column.columnDef.cell, cell.getContext())}
        </div>
      ))}
    </div>
  );
}) as <T>(props: GridRowProps<T>) => ReactElement;
