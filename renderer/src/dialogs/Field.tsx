/**
 * A labelled form field with its validation message, linked for screen
 * readers (aria-invalid, aria-describedby).
 */

import { useId, type ReactElement, type ReactNode } from 'react';

export interface FieldProps {
  readonly label: string;
  /** Shown under the field when not null. */
  readonly problem: string | null;
  readonly hint?: ReactNode;
  readonly children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ReactNode;
  readonly testId?: string;
}

export function Field({ label, problem, hint, children, testId }: FieldProps): ReactElement {
  const id = useId();
  const problemId = `${id}-problem`;
  const hintId = `${id}-hint`;
  const describedBy = [problem ? problemId : null, hint ? hintId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${problem ? ' invalid' : ''}`} data-testid={testId}>
      <label htmlFor={id}>{label}</label>
      <div className="field-control">
        {children({ id, describedBy, invalid: problem !== null })}
        {hint ? (
          <div id={hintId} className="field-hint">
            {hint}
          </div>
        ) : null}
        {problem ? (
          <div id={problemId} className="field-problem" role="alert" data-testid="field-problem">
            {problem}
          </div>
        ) : null}
      </div>
    </div>
  );
}
