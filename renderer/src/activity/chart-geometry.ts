/**
 * The numbers behind the activity chart: the scale's top and the points of
 * each line, in the SVG's own units.
 */

/** The smallest of 1, 2, 5, 10, 20, 50, … that is at least `max` (at least 1: an idle hour still has a scale). */
export function scaleTop(max: number): number {
  let top = 1;
  for (;;) {
    for (const step of [1, 2, 5]) {
      if (top * step >= max) return top * step;
    }
    top *= 10;
  }
}

export interface PlotArea {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** The `points` of an SVG polyline: value `i` of `n` at x from the left edge to the right one, 0 on the bottom edge, `top` on the top one. */
export function linePoints(values: readonly number[], area: PlotArea, top: number): string {
  const last = Math.max(1, values.length - 1);
  return values
    .map((v, i) => {
      const x = area.left + (area.width * i) / last;
      const y = area.top + area.height - (area.height * Math.min(v, top)) / top;
      return `${round(x)},${round(y)}`;
    })
    .join(' ');
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
