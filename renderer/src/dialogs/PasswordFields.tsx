import type { ReactElement } from 'react';
import { Field } from './Field.js';
import { confirmProblem, passwordProblem } from './validation.js';

export interface PasswordState {
  readonly password: string;
  readonly confirm: string;
  readonly touchedPassword: boolean;
  readonly touchedConfirm: boolean;
}

export const EMPTY_PASSWORDS: PasswordState = { password: '', confirm: '', touchedPassword: false, touchedConfirm: false };

export function passwordsValid(state: PasswordState): boolean {
  return passwordProblem(state.password) === null && confirmProblem(state.password, state.confirm) === null;
}

/** Password and confirmation, checked as typed; the mismatch shows once the confirmation is being typed. */
export function PasswordFields({
  state,
  onChange,
  disabled,
  label = 'Password:',
}: {
  readonly state: PasswordState;
  readonly onChange: (next: PasswordState) => void;
  readonly disabled?: boolean;
  readonly label?: string;
}): ReactElement {
  const pw = state.touchedPassword ? passwordProblem(state.password) : null;
  const confirm = state.touchedConfirm ? confirmProblem(state.password, state.confirm) : null;
  return (
    <>
      <Field label={label} problem={pw} testId="field-password">
        {({ id, describedBy, invalid }) => (
          <input
            id={id}
            type="password"
            value={state.password}
            disabled={disabled}
            autoComplete="new-password"
            aria-invalid={invalid}
            aria-describedby={describedBy}
            data-testid="input-password"
            onChange={(e) => onChange({ ...state, password: e.target.value, touchedPassword: true })}
          />
        )}
      </Field>
      <Field label="Confirm password:" problem={confirm} testId="field-confirm">
        {({ id, describedBy, invalid }) => (
          <input
            id={id}
            type="password"
            value={state.confirm}
            disabled={disabled}
            autoComplete="new-password"
            aria-invalid={invalid}
            aria-describedby={describedBy}
            data-testid="input-confirm"
            onChange={(e) => onChange({ ...state, confirm: e.target.value, touchedConfirm: true })}
          />
        )}
      </Field>
    </>
  );
}
