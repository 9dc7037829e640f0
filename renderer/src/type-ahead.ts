/**
 * Type-ahead for keyboard lists (tree, menus): a printable key jumps to the
 * next item whose label starts with it, wrapping round, as in Windows.
 */

/**
 * The index of the first item after `from` (wrapping round, ending on `from`
 * itself) whose label starts with `typed`, ignoring case; -1 when none does.
 * `labelOf` returns null for items that cannot be jumped to.
 */
export function typeAheadIndex<T>(items: readonly T[], from: number, typed: string, labelOf: (item: T) => string | null): number {
  const key = typed.toLowerCase();
  const n = items.length;
  for (let k = 1; k <= n; k++) {
    const i = (from + k) % n;
    const item = items[i];
    if (item === undefined) continue;
    if (labelOf(item)?.toLowerCase().startsWith(key)) return i;
  }
  return -1;
}
