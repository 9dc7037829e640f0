import { Fragment, useEffect, useState, type ReactElement } from 'react';
import { AUTH_METHODS, PASSWORD_FILE_AUTH, type AuthMethod } from '../../../shared/contract.js';
import { MAILBOX_FORBIDDEN, mailboxNameProblem } from '../../../shared/names.js';
import { errorMessage } from '../api.js';
import { addMailbox, fetchSettings } from '../state/operations.js';
import { closeDialog } from '../state/ui-store.js';
import { Dialog } from './Dialog.js';
import { Field } from './Field.js';
import { NameInput } from './NameInput.js';
import { EMPTY_PASSWORDS, PasswordFields, passwordsValid, type PasswordState } from './PasswordFields.js';
import { useSubmit } from './use-submit.js';

/** The characters not allowed in a mailbox name, one box each, so that none is lost in a line of punctuation. */
function ForbiddenCharacters(): ReactElement {
  return (
    <span className="char-list" data-testid="forbidden-characters">
      <span className="char-list-label">Not allowed:</span>
      {[...MAILBOX_FORBIDDEN].map((ch) => (
        <Fragment key={ch}>
          {' '}
          <kbd className="char">{ch}</kbd>
        </Fragment>
      ))}
    </span>
  );
}

/**
 * Action › New › Mailbox: the mailbox name, its password, and the original
 * console's "Create associated user for this mailbox" box. With the
 * Encrypted Password File method the user is the mailbox itself, so the box
 * is checked and cannot be cleared; the dialog says why.
 *
 * Names and domains can be long (64 and 253 characters, with no place to
 * wrap): the dialog is wide, the domain after the name box is cut (whole in
 * its tooltip and in the log-on address above, which wraps anywhere).
 */
export function NewMailboxDialog({ domain }: { readonly domain: string }): ReactElement {
  const [name, setName] = useState('');
  const [touched, setTouched] = useState(false);
  const [passwords, setPasswords] = useState<PasswordState>(EMPTY_PASSWORDS);
  const [auth, setAuth] = useState<AuthMethod | null>(null);
  const [settingsError, setSettingsError] = useState<string | null>(null);

  useEffect(() => {
    fetchSettings().then(
      (s) => setAuth(s.auth),
      (err: unknown) => setSettingsError(`Could not read the authentication method: ${errorMessage(err)}`),
    );
  }, []);

  const trimmed = name.trim();
  const problem = mailboxNameProblem(trimmed);
  const passwordFile = auth === null || auth === PASSWORD_FILE_AUTH;
  // With another method the password lives in the directory or the system: the mailbox is made without one.
  const needsPassword = passwordFile;
  const valid = problem === null && (!needsPassword || passwordsValid(passwords));
  const address = `${trimmed.toLowerCase() || 'name'}@${domain}`;
  const forbidden = [...trimmed].find((ch) => MAILBOX_FORBIDDEN.includes(ch));
  // The shared rule lists the characters in its sentence; here they come as a list of boxes under it.
  const listsForbidden = forbidden !== undefined && problem?.startsWith(`A mailbox name cannot contain "${forbidden}"`) === true;
  const shownProblem = listsForbidden ? `A mailbox name cannot contain "${forbidden}".` : problem;
  const { busy, error, submit, clearError } = useSubmit(() => addMailbox(`${trimmed}@${domain}`, needsPassword ? passwords.password : undefined));

  return (
    <Dialog
      title="Add Mailbox"
      testId="dialog-new-mailbox"
      wide
      onCancel={closeDialog}
      onSubmit={submit}
      canSubmit={valid}
      busy={busy}
      error={error ?? settingsError}
    >
      <p className="dialog-intro long-names">
        Add a mailbox to <strong>{domain}</strong>. Its user logs on as{' '}
        <span className="mono" data-testid="logon-address">
          {address}
        </span>
        .
      </p>
      <Field
        label="Mailbox name:"
        problem={touched ? shownProblem : null}
        problemDetail={touched && listsForbidden ? <ForbiddenCharacters /> : undefined}
        testId="field-mailbox"
      >
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
            <span className="suffix" title={`@${domain}`}>
              @{domain}
            </span>
          </span>
        )}
      </Field>
      <label className="checkbox" data-testid="field-create-user">
        <input
          type="checkbox"
          checked={passwordFile}
          disabled
          aria-describedby="create-user-note"
          data-testid="input-create-user"
          readOnly
        />
        Create associated user for this mailbox
      </label>
      <p id="create-user-note" className="field-note">
        {passwordFile
          ? `Required with the ${AUTH_METHODS[PASSWORD_FILE_AUTH]} authentication method: the user is kept with the mailbox, and logs on with the full address and the password below.`
          : `With the ${AUTH_METHODS[auth]} method the user and its password are kept there: the user logs on with the full address and that password, and no password is set here.`}
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
