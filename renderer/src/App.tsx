/**
 * The console window: menu bar, toolbar, the tree and details panes, and the
 * status bar, laid out like the Microsoft Management Console.
 */

import { useEffect, useState, type ReactElement } from 'react';
import { DetailsPane } from './details/DetailsPane.js';
import { DialogHost } from './dialogs/DialogHost.js';
import { onWindowKeyDown } from './global-keys.js';
import { ContextMenuHost } from './menus/ContextMenuHost.js';
import { MenuBar } from './menus/MenuBar.js';
import { Toolbar } from './menus/Toolbar.js';
import { Splitter } from './Splitter.js';
import { startComputerUpdates } from './state/computers-live.js';
import { startLiveUpdates } from './state/live.js';
import { refreshAll } from './state/loaders.js';
import { showError } from './state/ui-store.js';
import { useView } from './state/view-store.js';
import { StatusBar } from './status/StatusBar.js';
import { ConsoleTree } from './tree/ConsoleTree.js';
import { failureText } from './words/failures.js';

export function App(): ReactElement {
  const treeVisible = useView((s) => s.treeVisible);
  const statusBarVisible = useView((s) => s.statusBarVisible);
  const [treeWidth, setTreeWidth] = useState(240);

  useEffect(() => {
    let stop: (() => void) | undefined;
    try {
      stop = startLiveUpdates();
    } catch (err) {
      showError(`Live updates are off: ${failureText(err)}`);
    }
    const stopComputers = startComputerUpdates();
    void refreshAll();
    window.addEventListener('keydown', onWindowKeyDown);
    return () => {
      stop?.();
      stopComputers();
      window.removeEventListener('keydown', onWindowKeyDown);
    };
  }, []);

  return (
    <div className="app" data-testid="console">
      <header className="chrome">
        <MenuBar />
        <Toolbar />
      </header>
      <main className="panes">
        {treeVisible ? (
          <>
            <nav className="tree-pane" aria-label="Console tree" style={{ width: `${treeWidth}px` }}>
              <ConsoleTree />
            </nav>
            <Splitter width={treeWidth} onWidth={setTreeWidth} />
          </>
        ) : null}
        <DetailsPane />
      </main>
      {statusBarVisible ? <StatusBar /> : null}
      <ContextMenuHost />
      <DialogHost />
    </div>
  );
}
