/**
 * Which rows of a virtual grid are in the page: the rows in view plus a few
 * more where the scroll is heading, from the scroll position with plain
 * arithmetic (every row is ROW_HEIGHT tall, nothing is measured).
 */

/** Every row's height in px; the CSS sets the same. */
export const ROW_HEIGHT = 22;
/** The sticky header's height in px; it covers the top of the scroll area. */
export const HEADER_HEIGHT = 24;
/**
 * Rows kept in the page beyond the view's edge the scroll is heading to, so
 * a scroll of a few rows needs no new render, and rows are there when the
 * compositor scrolls before the page has caught up.
 */
export const OVERSCAN = 6;

/** The rows in the page: positions `start` (inclusive) to `end` (exclusive) in the order shown. */
export interface RowWindow {
  readonly start: number;
  readonly end: number;
}

export const EMPTY_WINDOW: RowWindow = { start: 0, end: 0 };

/**
 * The window for a scroll position, or `current` itself while it still
 * covers every row in view (so a scroll of a few rows renders nothing).
 *
 * `direction` is where the scroll is going (1 down, -1 up, 0 unknown): the
 * extra rows go on that side (half on each when unknown).
 *
 * `start` is always even: each row element then keeps the same parity, and
 * the striping class never changes on the rows that stay in the page.
 */
export function nextWindow(current: RowWindow, scrollTop: number, viewport: number, count: number, direction: number): RowWindow {
  const first = Math.min(count, Math.max(0, Math.floor(scrollTop / ROW_HEIGHT)));
  const last = Math.min(count, Math.max(first, Math.ceil((scrollTop + viewport - HEADER_HEIGHT) / ROW_HEIGHT)));
  if (current.start <= first && last <= current.end && current.end <= count) return current;
  const before = direction > 0 ? 0 : direction < 0 ? OVERSCAN : OVERSCAN / 2;
  const after = OVERSCAN - before;
  const start = Math.max(0, first - before) & ~1;
  return { start, end: Math.min(count, last + after) };
}

/** The scrollTop that brings row `index` fully into view with the least movement ("nearest"), or null when it already is. */
export function scrollTopToReveal(index: number, scrollTop: number, viewport: number): number | null {
  const top = index * ROW_HEIGHT;
  const visible = viewport - HEADER_HEIGHT;
  if (top < scrollTop) return top;
  if (top + ROW_HEIGHT > scrollTop + visible) return top + ROW_HEIGHT - visible;
  return null;
}
