import { flexRender, type Header } from '@tanstack/react-table';
import type { ReactElement } from 'react';

/** The sticky header row: one column header per column, a click sorts (again: the other way). */
export function GridHeader<T>({ headers }: { readonly headers: readonly Header<T, unknown>[] }): ReactElement {
  return (
    <div role="row" aria-rowindex={1} className="grid-row grid-header">
      {headers.map((header) => {
        const sorted = header.column.getIsSorted();
        return (
          <div
            key={header.id}
            role="columnheader"
            aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none'}
            className={`cell cell-${header.column.id}${sorted ? ' sorted' : ''}`}
            data-testid={`column-${header.column.id}`}
            onClick={header.column.getToggleSortingHandler()}
          >
            <span className="header-label">{flexRender(header.column.columnDef.header, header.getContext())}</span>
            <span className={`sort-mark${sorted ? ` ${sorted}` : ''}`} aria-hidden="true" />
          </div>
        );
      })}
    </div>
  );
}
