import type { ReactElement } from 'react';
import { CheckIcon, ErrorIcon } from '../icons/Icons.js';
import { closeDialog, type ItemOutcome } from '../state/ui-store.js';
import { Dialog } from './Dialog.js';

/** The outcome of a bulk lock, unlock or delete: failures first, each with why. */
export function BulkResultsDialog({ title, summary, items }: { readonly title: string; readonly summary: string; readonly items: readonly ItemOutcome[] }): ReactElement {
  const ordered = [...items.filter((i) => !i.ok), ...items.filter((i) => i.ok)];
  return (
    <Dialog title={title} testId="dialog-bulk-results" onCancel={closeDialog} wide>
      <p className="dialog-intro" data-testid="bulk-summary">
        {summary}
      </p>
      <div className="results" role="table" aria-label="Result per item">
        <div role="row" className="results-row header">
          <span role="columnheader">Item</span>
          <span role="columnheader">Result</span>
        </div>
        {ordered.map((item) => (
          <div
            role="row"
            key={item.target}
            className={`results-row ${item.ok ? 'ok' : 'failed'}`}
            data-testid="bulk-result"
            data-target={item.target}
            data-ok={item.ok}
          >
            <span role="cell" className="mono">
              {item.ok ? <CheckIcon /> : <ErrorIcon />}
              {item.target}
            </span>
            <span role="cell">{item.detail}</span>
          </div>
        ))}
      </div>
    </Dialog>
  );
}
