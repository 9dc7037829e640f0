/**
 * Moving the keyboard focus between the window's parts, for shortcuts and
 * for giving focus back after a menu or dialog closes.
 */

/** Focuses the details pane's filter box (Ctrl+F). */
export function focusFilter(): void {
  document.querySelector<HTMLInputElement>('[data-testid="filter"]')?.focus();
}

/** Focuses the details grid (its active row). */
export function focusGrid(): boolean {
  const grid = document.querySelector<HTMLElement>('[role="grid"]');
  grid?.focus();
  return grid !== null;
}

/** Focuses the tree's selected item. */
export function focusTree(): void {
  document.querySelector<HTMLElement>('[role="tree"] [role="treeitem"][aria-selected="true"]')?.focus();
}

/** Focuses the first menu of the menu bar (F10). */
export function focusMenuBar(): void {
  document.querySelector<HTMLElement>('[role="menubar"] [role="menuitem"]')?.focus();
}
