import type { ReactElement } from 'react';
import { closeDialog } from '../state/ui-store.js';
import { Dialog } from './Dialog.js';

/** The whole text of a message the window shows cut (the error bar, the status bar), wrapped to fit and selectable. */
export function MessageDialog({ title, text }: { readonly title: string; readonly text: string }): ReactElement {
  return (
    <Dialog title={title} testId="dialog-message" onCancel={closeDialog} wide>
      <p className="message-full" data-testid="message-full">
        {text}
      </p>
    </Dialog>
  );
}
