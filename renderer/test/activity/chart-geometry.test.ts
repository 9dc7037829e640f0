/**
 * chart-geometry: the activity chart's scale and line points, checked
 * against the plot area's edges.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linePoints, scaleTop } from '../../src/activity/chart-geometry.js';

test('the scale tops at the first of 1, 2, 5, 10, 20, 50, … that holds the largest value', () => {
  const cases: [number, number][] = [[0, 1], [1, 1], [2, 2], [3, 5], [5, 5], [6, 10], [11, 20], [21, 50], [51, 100], [4999, 5000], [5001, 10000]];
  for (const [max, top] of cases) assert.equal(scaleTop(max), top, `max ${max}`);
});

test('values run from the left edge to the right one, 0 on the bottom edge and the scale\'s top on the top one', () => {
  const area = { left: 10, top: 5, width: 100, height: 50 };
  const points = linePoints([0, 5, 10], area, 10)
    .split(' ')
    .map((p) => p.split(',').map(Number));
  assert.deepEqual(points, [
    [10, 55],
    [60, 30],
    [110, 5],
  ]);
  assert.equal(linePoints([20], area, 10), '10,5', 'a value over the top is drawn at the top, not outside the chart');
});
