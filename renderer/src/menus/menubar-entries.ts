/**
 * The menu bar's menus: File, Action, View, Help.
 */

import { refreshAll } from '../state/loaders.js';
import { openDialog } from '../state/ui-store.js';
import { useView } from '../state/view-store.js';
import { currentContext } from './action-context.js';
import { actionsFor } from './actions.js';
import { focusFilter } from './focus-targets.js';
import { SEPARATOR, type MenuEntry } from './menu-model.js';

export interface MenuBarMenu {
  readonly id: string;
  readonly label: string;
  /** The letter after Alt that opens it. */
  readonly accessKey: string;
  readonly entries: () => readonly MenuEntry[];
}

export const MENU_BAR: readonly MenuBarMenu[] = [
  {
    id: 'file',
    label: 'File',
    accessKey: 'f',
    entries: () => [
      { type: 'command', id: 'refresh-all', label: 'Refresh', enabled: true, shortcut: 'F5', run: () => void refreshAll() },
      SEPARATOR,
      { type: 'command', id: 'exit', label: 'Exit', enabled: true, run: () => window.close() },
    ],
  },
  { id: 'action', label: 'Action', accessKey: 'a', entries: () => actionsFor(currentContext()) },
  {
    id: 'view',
    label: 'View',
    accessKey: 'v',
    entries: () => {
      const view = useView.getState();
      return [
        {
          type: 'command',
          id: 'toggle-tree',
          label: 'Console Tree',
          enabled: true,
          checked: view.treeVisible,
          run: () => useView.setState((s) => ({ treeVisible: !s.treeVisible })),
        },
        {
          type: 'command',
          id: 'toggle-status',
          label: 'Status Bar',
          enabled: true,
          checked: view.statusBarVisible,
          run: () => useView.setState((s) => ({ statusBarVisible: !s.statusBarVisible })),
        },
        SEPARATOR,
        { type: 'command', id: 'filter', label: 'Filter…', enabled: view.node.kind !== 'root', shortcut: 'Ctrl+F', run: focusFilter },
        { type: 'command', id: 'refresh-view', label: 'Refresh', enabled: true, shortcut: 'F5', run: () => void refreshAll() },
      ];
    },
  },
  {
    id: 'help',
    label: 'Help',
    accessKey: 'h',
    entries: () => [
      { type: 'command', id: 'help-topics', label: 'Help Topics', enabled: true, shortcut: 'F1', run: () => openDialog({ kind: 'help' }) },
      SEPARATOR,
      { type: 'command', id: 'about', label: 'About POP3 Service', enabled: true, run: () => openDialog({ kind: 'about' }) },
    ],
  },
];
