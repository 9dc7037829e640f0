/**
 * row-window: which rows of the virtual grid are in the page. Checked
 * against the geometry itself: row i is drawn at HEADER_HEIGHT + i *
 * ROW_HEIGHT in the scroll area, the sticky header covers the top
 * HEADER_HEIGHT px of the view, and a row is in view when any of it shows.
 */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EMPTY_WINDOW, HEADER_HEIGHT, nextWindow, OVERSCAN, ROW_HEIGHT, scrollTopToReveal, type RowWindow } from '../../src/details/row-window.js';

/** The rows with at least one pixel below the header and above the view's bottom edge, computed row by row. */
function rowsInView(scrollTop: number, viewport: number, count: number): number[] {
  const rows: number[] = [];
  for (let i = 0; i < count; i++) {
    const top = HEADER_HEIGHT + i * ROW_HEIGHT;
    if (top + ROW_HEIGHT > scrollTop + HEADER_HEIGHT && top < scrollTop + viewport) rows.push(i);
  }
  return rows;
}

/** The largest scrollTop of a grid: the header and every row fill the scroll area. */
function maxScrollTop(viewport: number, count: number): number {
  return Math.max(0, HEADER_HEIGHT + count * ROW_HEIGHT - viewport);
}

const VIEW = 400;
/** Rows a 400 px view shows: (400 - 24) / 22 = 17.1, so 18 with the last one in part. */
const ROWS_IN_VIEW = 18;

describe('nextWindow', () => {
  test('a view of 400 px shows 18 rows (the geometry the other tests rely on)', () => {
    assert.equal(rowsInView(0, VIEW, 1000).length, ROWS_IN_VIEW);
    assert.equal(ROW_HEIGHT, 22, 'the CSS row height (grid.css) must change with this');
    assert.equal(HEADER_HEIGHT, 24, 'the CSS header height (grid.css) must change with this');
  });

  test('an empty list has an empty window, and a list emptied under a window shrinks it to nothing', () => {
    assert.equal(nextWindow(EMPTY_WINDOW, 0, VIEW, 0, 0), EMPTY_WINDOW, 'no new object: nothing to render');
    assert.deepEqual(nextWindow({ start: 0, end: 24 }, 0, VIEW, 0, 0), { start: 0, end: 0 });
    // Emptied while scrolled down: the scroll position is stale until the page clamps it.
    assert.deepEqual(nextWindow({ start: 400, end: 424 }, 9000, VIEW, 0, 1), { start: 0, end: 0 });
  });

  test('a list shorter than the view has every row in the page, and no row past the end', () => {
    assert.deepEqual(nextWindow(EMPTY_WINDOW, 0, VIEW, 1, 0), { start: 0, end: 1 });
    assert.deepEqual(nextWindow(EMPTY_WINDOW, 0, VIEW, 5, 0), { start: 0, end: 5 });
    assert.deepEqual(nextWindow(EMPTY_WINDOW, 0, VIEW, ROWS_IN_VIEW, 0), { start: 0, end: ROWS_IN_VIEW });
  });

  test('at the top, the overscan goes below the view only (clamped at row 0)', () => {
    // Direction unknown (first render, a resize): half the overscan each side; the half above is clamped away.
    assert.deepEqual(nextWindow(EMPTY_WINDOW, 0, VIEW, 1000, 0), { start: 0, end: ROWS_IN_VIEW + OVERSCAN / 2 });
    // Scrolling up to the top: all the overscan would go above, and none is left there.
    assert.deepEqual(nextWindow({ start: 40, end: 64 }, 0, VIEW, 1000, -1), { start: 0, end: ROWS_IN_VIEW });
  });

  test('scrolled to the end, the last row is in the page and the overscan stops at the last row', () => {
    const count = 1000;
    const top = maxScrollTop(VIEW, count);
    const view = rowsInView(top, VIEW, count);
    assert.equal(view[view.length - 1], count - 1);
    const down = nextWindow({ start: 900, end: 924 }, top, VIEW, count, 1);
    assert.equal(down.end, count, 'no rows past the end, however large the overscan');
    assert.equal(down.start, (view[0] as number) & ~1);
    const unknown = nextWindow(EMPTY_WINDOW, top, VIEW, count, 0);
    assert.equal(unknown.end, count);
    assert.equal(unknown.start, ((view[0] as number) - OVERSCAN / 2) & ~1);
  });

  test('the overscan goes where the scroll heads: below when scrolling down, above when scrolling up', () => {
    const count = 1000;
    const top = 100 * ROW_HEIGHT; // row 100 at the top of the view
    assert.deepEqual(nextWindow(EMPTY_WINDOW, top, VIEW, count, 1), { start: 100, end: 100 + ROWS_IN_VIEW + OVERSCAN });
    assert.deepEqual(nextWindow(EMPTY_WINDOW, top, VIEW, count, -1), { start: 100 - OVERSCAN, end: 100 + ROWS_IN_VIEW });
    assert.deepEqual(nextWindow(EMPTY_WINDOW, top, VIEW, count, 0), { start: 100 - OVERSCAN / 2 - 1, end: 100 + ROWS_IN_VIEW + OVERSCAN / 2 });
  });

  test('start is even, so each row element keeps its stripe: an odd first row starts the page one row earlier', () => {
    const top = 7 * ROW_HEIGHT;
    assert.deepEqual(nextWindow(EMPTY_WINDOW, top, VIEW, 1000, 1), { start: 6, end: 7 + ROWS_IN_VIEW + OVERSCAN });
  });

  test('a row under the header counts only while a pixel of it shows below the header; likewise at the bottom edge', () => {
    // Row 3 has its last pixel below the header.
    assert.equal(nextWindow(EMPTY_WINDOW, 3 * ROW_HEIGHT + ROW_HEIGHT - 1, VIEW, 1000, 1).start, 2);
    // Row 3 is wholly under the header: the page starts at row 4.
    assert.equal(nextWindow(EMPTY_WINDOW, 4 * ROW_HEIGHT, VIEW, 1000, 1).start, 4);
    // A view that shows 10 rows and one pixel of the 11th.
    const tall = HEADER_HEIGHT + 10 * ROW_HEIGHT + 1;
    assert.deepEqual(nextWindow(EMPTY_WINDOW, 0, tall, 1000, -1), { start: 0, end: 11 });
    assert.deepEqual(nextWindow(EMPTY_WINDOW, 0, tall - 1, 1000, -1), { start: 0, end: 10 });
  });

  test('a scroll that stays inside the window renders nothing (the same window comes back)', () => {
    const count = 1000;
    const current = nextWindow(EMPTY_WINDOW, 100 * ROW_HEIGHT, VIEW, count, 1);
    for (let rows = 0; rows <= OVERSCAN; rows++) {
      assert.equal(nextWindow(current, (100 + rows) * ROW_HEIGHT, VIEW, count, 1), current, `${rows} rows down`);
    }
    assert.notEqual(nextWindow(current, (100 + OVERSCAN + 1) * ROW_HEIGHT, VIEW, count, 1), current, 'one row past the overscan');
    assert.notEqual(nextWindow(current, 99 * ROW_HEIGHT, VIEW, count, -1), current, 'one row up, above the window');
  });

  test('rows removed under the window: a window reaching past the new end is replaced, even when it covers the view', () => {
    const current: RowWindow = { start: 0, end: 24 };
    assert.equal(nextWindow(current, 0, VIEW, 24, 0), current);
    assert.deepEqual(nextWindow(current, 0, VIEW, 20, 0), { start: 0, end: 20 });
    // Rows added: the window stays while the view is covered.
    assert.equal(nextWindow(current, 0, VIEW, 5000, 0), current);
  });

  test('no layout yet (a view 0 px tall) or a view shorter than the header: no row in view, nothing negative', () => {
    assert.equal(nextWindow(EMPTY_WINDOW, 0, 0, 1000, 0), EMPTY_WINDOW, 'nothing to show, nothing to render');
    assert.equal(nextWindow(EMPTY_WINDOW, 0, HEADER_HEIGHT - 4, 1000, 0), EMPTY_WINDOW);
    // A window left from elsewhere: replaced by the overscan around the top.
    assert.deepEqual(nextWindow({ start: 40, end: 64 }, 0, 0, 1000, 0), { start: 0, end: OVERSCAN / 2 });
    // Rubber-band scrolling above the top.
    assert.deepEqual(nextWindow(EMPTY_WINDOW, -40, VIEW, 1000, -1), { start: 0, end: rowsInView(-40, VIEW, 1000).length });
  });

  test('over a sweep of lists, views and scroll paths: every row in view is in the page, the page stays small, start is even', () => {
    let checks = 0;
    for (const count of [0, 1, 2, 3, 17, 18, 19, 20, 101, 1000]) {
      for (const viewport of [0, 30, HEADER_HEIGHT + ROW_HEIGHT, 245, VIEW, 401, 799]) {
        const max = maxScrollTop(viewport, count);
        // Down the whole list in steps of 7 px, then back up in steps of 13 px, then jumps: the path a wheel, a drag and the keyboard take.
        const path: number[] = [];
        for (let top = 0; top <= max; top += 7) path.push(top);
        path.push(max);
        for (let top = max; top >= 0; top -= 13) path.push(top);
        path.push(0, max, Math.floor(max / 2), 0);
        let current: RowWindow = EMPTY_WINDOW;
        let last = 0;
        for (const top of path) {
          const direction = Math.sign(top - last);
          const next = nextWindow(current, top, viewport, count, direction);
          const where = `count ${count}, view ${viewport}, scrollTop ${top}, direction ${direction}`;
          assert.ok(next.start % 2 === 0, `start even (${where})`);
          assert.ok(0 <= next.start && next.start <= next.end && next.end <= count, `within the list: ${JSON.stringify(next)} (${where})`);
          const view = rowsInView(top, viewport, count);
          for (const row of view) assert.ok(next.start <= row && row < next.end, `row ${row} in view is in the page ${JSON.stringify(next)} (${where})`);
          // The most rows this view can show, the overscan, and one for the even start: a window kept from a
          // position where one more row showed in part may be one row longer than this position needs.
          const most = Math.ceil(Math.max(0, viewport - HEADER_HEIGHT) / ROW_HEIGHT) + 1;
          assert.ok(next.end - next.start <= most + OVERSCAN + 1, `page ${JSON.stringify(next)} too large for a view of ${most} rows at most (${where})`);
          if (next !== current) {
            // A new window puts the overscan where the scroll heads.
            const first = view[0] ?? Math.min(count, Math.floor(Math.max(0, top) / ROW_HEIGHT));
            const end = view.length > 0 ? (view[view.length - 1] as number) + 1 : first;
            if (direction > 0) assert.deepEqual(next, { start: first & ~1, end: Math.min(count, end + OVERSCAN) }, where);
            if (direction < 0) assert.deepEqual(next, { start: Math.max(0, first - OVERSCAN) & ~1, end }, where);
          }
          current = next;
          last = top;
          checks++;
        }
      }
    }
    assert.ok(checks > 10_000, `${checks} positions checked`);
  });
});

describe('scrollTopToReveal', () => {
  const count = 1000;

  test('a row in view needs no scroll', () => {
    assert.equal(scrollTopToReveal(0, 0, VIEW), null);
    assert.equal(scrollTopToReveal(16, 0, VIEW), null, 'row 16 is the last one wholly in a 400 px view');
    assert.equal(scrollTopToReveal(100, 100 * ROW_HEIGHT, VIEW), null);
  });

  test('a row above the view, or partly under the header, comes to the top, just below the header', () => {
    assert.equal(scrollTopToReveal(5, 50 * ROW_HEIGHT, VIEW), 5 * ROW_HEIGHT);
    assert.equal(scrollTopToReveal(50, 50 * ROW_HEIGHT + 1, VIEW), 50 * ROW_HEIGHT, 'one pixel of it under the header');
  });

  test('a row below the view, or cut at the bottom edge, comes to the bottom', () => {
    // Row 17 shows 2 of its 22 px in a 400 px view at the top: scroll it fully in, by the 20 px missing.
    assert.equal(scrollTopToReveal(17, 0, VIEW), HEADER_HEIGHT + 18 * ROW_HEIGHT - VIEW);
    assert.equal(scrollTopToReveal(count - 1, 0, VIEW), maxScrollTop(VIEW, count), 'the last row: scrolled to the end');
  });

  test('after revealing any row from any position, that row is wholly in view and in the page (aria-activedescendant names a row in the page)', () => {
    for (const viewport of [HEADER_HEIGHT + ROW_HEIGHT, 245, VIEW, 401]) {
      for (let from = 0; from <= maxScrollTop(viewport, count); from += 97) {
        for (const index of [0, 1, 2, 17, 18, 19, 500, count - 2, count - 1]) {
          const top = scrollTopToReveal(index, from, viewport) ?? from;
          const where = `row ${index}, view ${viewport}, from ${from}`;
          const rowTop = HEADER_HEIGHT + index * ROW_HEIGHT;
          assert.ok(rowTop >= top + HEADER_HEIGHT && rowTop + ROW_HEIGHT <= top + viewport, `wholly in view at ${top} (${where})`);
          assert.ok(top >= 0 && top <= maxScrollTop(viewport, count), `a scrollTop the page can take: ${top} (${where})`);
          const page = nextWindow(EMPTY_WINDOW, top, viewport, count, Math.sign(top - from));
          assert.ok(page.start <= index && index < page.end, `in the page ${JSON.stringify(page)} (${where})`);
          if (scrollTopToReveal(index, from, viewport) !== null) assert.equal(scrollTopToReveal(index, top, viewport), null, `stays put once revealed (${where})`);
        }
      }
    }
  });
});
