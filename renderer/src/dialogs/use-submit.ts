import { useState } from 'react';
import { errorMessage } from '../api.js';
import { closeDialog } from '../state/ui-store.js';

/**
 * Runs a dialog's command: shows "Working…" meanwhile, closes the dialog on
 * success, and keeps it open with the service's error otherwise.
 */
export function useSubmit(run: () => Promise<void>): { busy: boolean; error: string | null; submit: () => void; clearError: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = (): void => {
    setBusy(true);
    setError(null);
    run().then(
      () => closeDialog(),
      (err: unknown) => {
        setBusy(false);
        setError(errorMessage(err));
      },
    );
  };
  return { busy, error, submit, clearError: () => setError(null) };
}
