/**
 * What a menu shows, independent of where: the context menu, the Action menu
 * and the toolbar all render the same entries.
 */

export interface MenuCommand {
  readonly type: 'command';
  /** Stable id, also the test id suffix (`menu-lock`). */
  readonly id: string;
  readonly label: string;
  readonly enabled: boolean;
  /** Why it is disabled; shown as the tooltip. */
  readonly reason?: string;
  readonly shortcut?: string;
  /** Present for toggles (View › Console Tree). */
  readonly checked?: boolean;
  /** The default action (Enter or double-click), shown bold as Windows does. */
  readonly isDefault?: boolean;
  readonly run: () => void;
}

export interface MenuSubmenu {
  readonly type: 'submenu';
  readonly id: string;
  readonly label: string;
  readonly enabled: boolean;
  readonly children: readonly MenuEntry[];
}

export interface MenuSeparator {
  readonly type: 'separator';
}

export type MenuEntry = MenuCommand | MenuSubmenu | MenuSeparator;

export const SEPARATOR: MenuSeparator = { type: 'separator' };

/** Drops separators at the ends and doubled ones, so optional groups leave no gaps. */
export function tidy(entries: readonly MenuEntry[]): MenuEntry[] {
  const out: MenuEntry[] = [];
  for (const entry of entries) {
    if (entry.type === 'separator' && (out.length === 0 || out[out.length - 1]?.type === 'separator')) continue;
    out.push(entry);
  }
  while (out[out.length - 1]?.type === 'separator') out.pop();
  return out;
}

/** Finds a command by id, looking into submenus. */
export function findCommand(entries: readonly MenuEntry[], id: string): MenuCommand | undefined {
  for (const entry of entries) {
    if (entry.type === 'command' && entry.id === id) return entry;
    if (entry.type === 'submenu') {
      const found = findCommand(entry.children, id);
      if (found) return found;
    }
  }
  return undefined;
}
