import type { ReactElement } from 'react';
import { closeDialog } from '../state/ui-store.js';
import { Dialog } from './Dialog.js';

const KEYS: readonly [string, string][] = [
  ['Arrow keys', 'Move in the tree or the list; the details follow the tree'],
  ['Shift+arrows, Shift+click', 'Select a range of mailboxes'],
  ['Ctrl+click, Ctrl+Space', 'Add or remove one mailbox from the selection'],
  ['Ctrl+A', 'Select every mailbox shown'],
  ['Shift+F10, Menu key', 'Open the actions for the selection'],
  ['Enter', 'Open a domain, or show a mailbox\u2019s properties'],
  ['Delete', 'Delete the selection (asks first)'],
  ['F5', 'Refresh'],
  ['Ctrl+F', 'Filter the list by name'],
  ['F10, Alt+letter', 'Go to the menu bar'],
];

/** How to do the common tasks, and the keyboard. */
export function HelpDialog(): ReactElement {
  return (
    <Dialog title="POP3 Service Help" testId="dialog-help" onCancel={closeDialog} wide>
      <h3>Lock a mailbox</h3>
      <p>
        In the console tree, select the domain. In the details pane, right-click the mailbox and click <strong>Lock</strong>. Its
        user can no longer log on; mail is still delivered. From a command prompt: <span className="mono">winpop lock user@domain</span>.
      </p>
      <h3>See who is connected</h3>
      <p>
        In the console tree, select <strong>Sessions</strong> under the computer: one row per open POP3 connection. Right-click one
        and click <strong>End Session</strong> (or press Delete) to close it; what it marked for deletion stays, and its user may
        log on again. From a command prompt: <span className="mono">winpop sessions</span> and{' '}
        <span className="mono">winpop kick user@domain</span>.
      </p>
      <h3>Keyboard</h3>
      <dl className="facts keys">
        {KEYS.map(([key, what]) => (
          <div key={key} className="fact">
            <dt>{key}</dt>
            <dd>{what}</dd>
          </div>
        ))}
      </dl>
    </Dialog>
  );
}
