import type { ReactElement } from 'react';
import { Field, FieldInput } from './Field.js';
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
      <PasswordField
        label={label}
        problem={pw}
        fieldTestId="field-password"
        inputTestId="input-password"
        value={state.password}
        disabled={disabled}
        onChange={(password) => onChange({ ...state, password, touchedPassword: true })}
      />
      <PasswordField
        label="Confirm password:"
        problem={confirm}
        fieldTestId="field-confirm"
        inputTestId="input-confirm"
        value={state.confirm}
        disabled={disabled}
        onChange={(value) => onChange({ ...state, confirm: value, touchedConfirm: true })}
      />
    </>
  );
}

/** One masked box in its Field. */
function PasswordField({
  label,
  problem,
  fieldTestId,
  inputTestId,
  value,
  disabled,
  onChange,
}: {
  readonly label: string;
  readonly problem: string | null;
  readonly fieldTestId: string;
  readonly inputTestId: string;
  readonly value: string;
  readonly disabled: boolean | undefined;
  readonly onChange: (value: string) => void;
}): ReactElement {
  return (
    <Field label={label} problem={problem} testId={fieldTestId}>
      {(ids) => (
        <FieldInput {...ids} type="password" value={value} disabled={disabled} autoComplete="new-password" testId={inputTestId} onValue={onChange} />
      )}
    </Field>
  );
}
