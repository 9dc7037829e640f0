import { memo, useLayoutEffect, useRef, useState, type ReactElement, type RefObject } from 'react';
import { flushSync } from 'react-dom';
import { GridRow, type CellRenderers } from './GridRow.js';
import { EMPTY_WINDOW, nextWindow, ROW_HEIGHT, type RowWindow } from './row-window.js';

/** Lets the grid bring the rows in the page up to date at once after it scrolls by script (keyboard moves). */
export interface RowsControl {
  sync(): void;
}

export interface GridRowsProps<T> {
  readonly rows: readonly T[];
  readonly rowId: (row: T) => string;
  readonly rowClass: ((row: T) => string) | undefined;
  readonly columnIds: readonly string[];
  readonly cells: CellRenderers<T>;
  /** Row element ids are `<idPrefix>-row-<index>`, for aria-activedescendant. */
  readonly idPrefix: string;
  readonly control: RefObject<RowsControl | null>;
}

/**
 * The grid's body, a child of its scroll area: a spacer as tall as every
 * row, and inside it only the rows near the view, in one block moved by a
 * single translateY (row-window.ts decides which rows).
 *
 * It owns the scroll subscription, so scrolling re-renders this component
 * and the rows whose data changed, never the grid around it. The render
 * happens inside the scroll event (flushSync), before the frame is painted,
 * so no blank rows show while scrolling.
 */
export const GridRows = memo(function GridRows<T>(props: GridRowsProps<T>): ReactElement {
  const { rows, rowId, rowClass, columnIds, cells, idPrefix, control } = props;
  const body = useRef<HTMLDivElement>(null);
  const [range, setRange] = useState<RowWindow>(EMPTY_WINDOW);
  const current = useRef(range);
  const viewport = useRef(0);
  const count = useRef(rows.length);
  count.current = rows.length;

  useLayoutEffect(() => {
    // The scroll area is the body's parent (the grid): a child's effects run before its parent's ref is set.
    const el = body.current?.parentElement;
    if (!el) return;
    let lastTop = el.scrollTop;
    const update = (flush: boolean): void => {
      const top = el.scrollTop;
      const next = nextWindow(current.current, top, viewport.current, count.current, flush ? Math.sign(top - lastTop) : 0);
      lastTop = top;
      if (next === current.current) return;
      current.current = next;
      if (flush) flushSync(() => setRange(next));
      else setRange(next);
    };
    const onScroll = (): void => update(true);
    // The view's height, read here and not on each scroll: reading it there could force a layout mid-frame.
    const resize = new ResizeObserver(() => {
      viewport.current = el.clientHeight;
      update(false);
    });
    viewport.current = el.clientHeight;
    update(false);
    el.addEventListener('scroll', onScroll, { passive: true });
    resize.observe(el);
    control.current = { sync: () => update(false) };
    return () => {
      el.removeEventListener('scroll', onScroll);
      resize.disconnect();
      control.current = null;
    };
  }, [control]);

  // Rows added, removed or filtered away: the window may now reach past the end, or not cover the view.
  useLayoutEffect(() => {
    control.current?.sync();
  }, [rows.length, control]);

  const end = Math.min(range.end, rows.length);
  const inPage: ReactElement[] = [];
  for (let index = range.start; index < end; index++) {
    const row = rows[index] as T;
    const id = rowId(row);
    inPage.push(
      <GridRow
        // Keyed by place in the page: scrolling reuses the row elements and only changes what they show.
        key={index - range.start}
        row={row}
        id={id}
        index={index}
        domId={`${idPrefix}-row-${index}`}
        extraClass={rowClass?.(row) ?? ''}
        columnIds={columnIds}
        cells={cells}
      />,
    );
  }
  return (
    <div ref={body} className="grid-body" style={{ height: `${rows.length * ROW_HEIGHT}px` }}>
      <div role="rowgroup" className="grid-window" style={{ transform: `translateY(${range.start * ROW_HEIGHT}px)` }}>
        {inPage}
      </div>
    </div>
  );
}) as <T>(props: GridRowsProps<T>) => ReactElement;
