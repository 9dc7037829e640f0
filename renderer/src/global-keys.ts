/**
 * Window-wide shortcuts: F5 refresh, F1 help, F10 and Alt+letter to the
 * menu bar, Ctrl+F to the filter. Keys inside a dialog never get here.
 */

import { focusFilter, focusMenuBar } from './menus/focus-targets.js';
import { openMenuByAccessKey } from './menus/MenuBar.js';
import { refreshAll } from './state/loaders.js';
import { openDialog, useUi } from './state/ui-store.js';

export function onWindowKeyDown(event: KeyboardEvent): void {
  // F5 never reloads the page (that would drop the console's state), not even behind a dialog.
  if (event.key === 'F5') event.preventDefault();
  if (useUi.getState().dialog) return;
  const plain = !event.altKey && !event.ctrlKey && !event.metaKey && !event.shiftKey;
  let handled = true;
  if (event.key === 'F5' && !event.altKey) {
    void refreshAll();
  } else if (event.key === 'F1' && plain) {
    openDialog({ kind: 'help' });
  } else if (event.key === 'F10' && plain) {
    focusMenuBar();
  } else if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'f') {
    focusFilter();
  } else if (event.altKey && !event.ctrlKey && !event.metaKey && event.key.length === 1) {
    handled = openMenuByAccessKey(event.key);
  } else {
    handled = false;
  }
  if (handled) event.preventDefault();
}
