/**
 * A labelled form field with its validation message, linked for screen
 * readers (aria-invalid, aria-describedby).
 */

import { useId, type InputHTMLAttributes, type ReactElement, type ReactNode } from 'react';

/** What a field hands its control so the label and messages point at it. */
export interface FieldIds {
  readonly id: string;
  readonly describedBy: string | undefined;
  readonly invalid: boolean;
}

export interface FieldProps {
  readonly label: string;
  /** Shown under the field when not null. */
  readonly problem: string | null;
  /** More about the problem, shown with it (a list of the characters not allowed). */
  readonly problemDetail?: ReactNode;
  readonly hint?: ReactNode;
  readonly children: (ids: FieldIds) => ReactNode;
  readonly testId?: string;
}

export function Field({ label, problem, problemDetail, hint, children, testId }: FieldProps): ReactElement {
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
            {problemDetail}
          </div>
        ) : null}
      </div>
    </div>
  );
}

/**
 * A text or password box wired to its Field: the field's ids become its id,
 * aria-invalid and aria-describedby, and changes arrive as the new value.
 */
export function FieldInput({
  id,
  describedBy,
  invalid,
  testId,
  onValue,
  ...input
}: FieldIds &
  Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'onChange'> & {
    readonly testId: string;
    readonly onValue: (value: string) => void;
  }): ReactElement {
  return (
    <input
      id={id}
      {...input}
      aria-invalid={invalid}
      aria-describedby={describedBy}
      data-testid={testId}
      onChange={(e) => onValue(e.target.value)}
    />
  );
}
