/**
 * The commands on another computer's node: each asks the main process,
 * which holds the connection, and says what happened in the status bar.
 */

import { computersApi } from '../api.js';
import { failureText } from '../words/failures.js';
import { computerById, computerLabel, dropComputer, putComputer } from './computers-store.js';
import { showError, showStatus } from './ui-store.js';
import { useView } from './view-store.js';

export async function disconnectComputer(id: string): Promise<void> {
  const computers = computersApi();
  if (!computers) return;
  try {
    const info = await computers.disconnectComputer({ computer: id });
    putComputer(info);
    showStatus(`Disconnected from ${computerLabel(info)}.`);
  } catch (err) {
    showError(`Could not disconnect: ${failureText(err)}`);
  }
}

export async function removeComputer(id: string): Promise<void> {
  const computers = computersApi();
  if (!computers) return;
  const info = computerById(id);
  try {
    await computers.removeComputer({ computer: id });
    dropComputer(id);
    const node = useView.getState().node;
    if ((node.kind === 'remote' || node.kind === 'domain' || node.kind === 'sessions') && node.computer === id) useView.setState({ node: { kind: 'root' } });
    showStatus(`Removed ${info ? computerLabel(info) : 'the computer'} from the console.`);
  } catch (err) {
    showError(`Could not remove the computer: ${failureText(err)}`);
  }
}
