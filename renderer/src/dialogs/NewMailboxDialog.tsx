import { useEffect, useState, type ReactElement } from 'react';
import { AUTH_METHODS, PASSWORD_FILE_AUTH, type AuthMethod } from '../../../shared/contract.js';
import { mailboxNameProblem } from '../../../shared/names.js';
import { errorMessage } from '../api.js';
import { addMailbox, fetchSettings } from '../state/operations.js';
import { closeDialog } from '../state/ui-store.js';
import { Dialog } from './Dialog.js';
import { Field } from './Field.js';
import { NameInput } from './NameInput.js';
import { EMPTY_PASSWORDS, PasswordFields, passwordsValid, type PasswordState } from './PasswordFields.js';
import { useSubmit } from './use-submit.js';

/**
 * Action › New › Mailbox: the mailbox name, its password, and the original
 * console's "Create associated user for this mailbox" box. With the
 * Encrypted Password File method the user is the mailbox itself, so the box
 * is checked and cannot be cleared; the dialog says why.
 */
export function NewMailboxDialog({ domain }: { readonly domain: string }): ReactElement {
  const [name, setName] = useState('');
  const [touched, setTouched] = useState(false);
  const [passwords, setPasswords] = useState<PasswordState>(EMPTY_PASSWORDS);
  const [auth, setAuth] = useState<AuthMethod | null>(null);
  const [settingsError, setSettingsError] = useState<string | null>(null);
  const [createUser, setCreateUser] = useState(true);

  useEffect(() => {
    fetchSettings().then(
      (s) => setAuth(s.auth),
      (err: unknown) => setSettingsError(`Could not read the authentication method: ${errorMessage(err)}`),
    );
  }, []);

  const trimmed = name.trim();
  const problem = mailboxNameProblem(trimmed);
  const passwordFile = auth === null || auth === PASSWORD_FILE_AUTH;
  const needsPassword = passwordFile || createUser;
  const valid = problem === null && (!needsPassword || passwordsValid(passwords));
  const address = `${trimmed.toLowerCase() || 'name'}@${domain}`;
  const { busy, error, submit, clearError } = useSubmit(() => addMailbox(`${trimmed}@${domain}`, passwords.password));

  return (
    <Dialog
      title="Add Mailbox"
      testId="dialog-new-mailbox"
      onCancel={closeDialog}
      onSubmit={submit}
      canSubmit={valid}
      busy={busy}
      error={error ?? settingsError}
    >
      <p className="dialog-intro">
        Add a mailbox to <strong>{domain}</strong>. Its user logs on as <span className="mono">{address}</span>.
      </p>
      <Field label="Mailbox name:" problem={touched ? problem : null} testId="field-mailbox">
        {(ids) => (
          <span className="input-with-suffix">
            <NameInput
              {...ids}
              value={name}
              testId="input-mailbox"
              onValue={(value) => {
                setName(value);
                setTouched(true);
                clearError();
              }}
            />
            <span className="suffix">@{domain}</span>
          </span>
        )}
      </Field>
      <label className="checkbox" data-testid="field-create-user">
        <input
          type="checkbox"
          checked={passwordFile || createUser}
          disabled={passwordFile}
          aria-describedby="create-user-note"
          data-testid="input-create-user"
          onChange={(e) => setCreateUser(e.target.checked)}
        />
        Create associated user for this mailbox
      </label>
      <p id="create-user-note" className="field-note">
        {passwordFile
          ? `Required with the ${AUTH_METHODS[PASSWORD_FILE_AUTH]} authentication method: the user is kept with the mailbox, and logs on with the full address and the password below.`
          : `With the ${AUTH_METHODS[auth]} method the user can come from the system's accounts; create one here to give the mailbox its own password.`}
      </p>
      <PasswordFields
        state={passwords}
        disabled={!needsPassword}
        onChange={(next) => {
          setPasswords(next);
          clearError();
        }}
      />
    </Dialog>
  );
}
