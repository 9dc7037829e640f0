/**
 * A modal dialog in the Windows style: title bar, content, OK/Cancel.
 *
 * role=dialog with aria-modal; the focus starts on the first field (or the
 * element marked data-autofocus), stays inside (Tab and Shift+Tab wrap), and
 * returns where it was when the dialog closes. Esc cancels; Enter submits
 * (the form's default button), unless the form is not valid yet.
 */

import { useEffect, useId, useRef, type FormEvent, type KeyboardEvent, type ReactElement, type ReactNode } from 'react';
import { focusGrid, focusTree } from '../menus/focus-targets.js';
import { useView } from '../state/view-store.js';
import { ErrorIcon } from '../icons/Icons.js';

export interface DialogProps {
  readonly title: string;
  readonly testId: string;
  readonly children: ReactNode;
  readonly onCancel: () => void;
  /** Absent for dialogs with only a Close button. */
  readonly onSubmit?: () => void;
  readonly submitLabel?: string;
  readonly cancelLabel?: string;
  readonly canSubmit?: boolean;
  readonly busy?: boolean;
  /** An error from the service, shown above the buttons. */
  readonly error?: string | null;
  readonly danger?: boolean;
  readonly wide?: boolean;
  /** Id of the element that describes the dialog (the warning of a confirmation). */
  readonly describedBy?: string;
}

const FOCUSABLE = 'input:not([disabled]), select:not([disabled]), textarea:not([disabled]), button:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function Dialog(props: DialogProps): ReactElement {
  const { title, testId, children, onCancel, onSubmit, submitLabel = 'OK', cancelLabel = 'Cancel', canSubmit = true, busy, error, danger, wide, describedBy } = props;
  const titleId = useId();
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const form = formRef.current;
    const first =
      form?.querySelector<HTMLElement>('[data-autofocus]') ?? [...(form?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? [])].find((el) => el.tabIndex >= 0);
    first?.focus();
    return () => {
      // Give the focus back where it was; if that is gone (a menu item), to the pane that had it.
      if (previous?.isConnected && previous !== document.body) previous.focus();
      else if (useView.getState().focusArea === 'details') focusGrid();
      else focusTree();
    };
  }, []);

  const onKeyDown = (event: KeyboardEvent<HTMLFormElement>): void => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      if (!busy) onCancel();
      return;
    }
    if (event.key === 'Tab') {
      const focusables = [...(formRef.current?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? [])].filter(
        (el) => el.tabIndex >= 0 && el.offsetParent !== null,
      );
      const first = focusables[0];
      const last = focusables[focusables.length - 1];
      if (!first || !last) return;
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
    // Keys stay in the dialog: the window's shortcuts (F5, Delete) must not act behind it, nor reload it.
    if (event.key === 'F5') event.preventDefault();
    event.stopPropagation();
  };

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (onSubmit && canSubmit && !busy) onSubmit();
  };

  return (
    <div className="dialog-backdrop" data-testid="dialog-backdrop">
      <form
        ref={formRef}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={describedBy}
        aria-busy={busy || undefined}
        className={`dialog${wide ? ' wide' : ''}`}
        data-testid={testId}
        noValidate
        onSubmit={submit}
        onKeyDown={onKeyDown}
      >
        <div className="dialog-titlebar">
          <h2 id={titleId}>{title}</h2>
          <button type="button" className="dialog-close" aria-label="Close" tabIndex={-1} onClick={() => !busy && onCancel()}>
            ×
          </button>
        </div>
        <div className="dialog-body">{children}</div>
        {error ? (
          <div className="dialog-error" role="alert" data-testid="dialog-error">
            <ErrorIcon />
            <span>{error}</span>
          </div>
        ) : null}
        <div className="dialog-buttons">
          {onSubmit ? (
            <>
              <button
                type="submit"
                className={`button primary${danger ? ' danger' : ''}`}
                disabled={!canSubmit || busy}
                data-testid="dialog-submit"
                {...(danger ? { 'data-autofocus': true } : {})}
              >
                {busy ? 'Working…' : submitLabel}
              </button>
              <button type="button" className="button" onClick={onCancel} disabled={busy} data-testid="dialog-cancel">
                {cancelLabel}
              </button>
            </>
          ) : (
            <button type="button" className="button primary" onClick={onCancel} data-autofocus data-testid="dialog-close">
              {cancelLabel === 'Cancel' ? 'Close' : cancelLabel}
            </button>
          )}
        </div>
      </form>
    </div>
  );
}
