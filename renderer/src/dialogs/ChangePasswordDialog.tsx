import { useState, type ReactElement } from 'react';
import { changePassword } from '../state/operations.js';
import { closeDialog } from '../state/ui-store.js';
import { Dialog } from './Dialog.js';
import { EMPTY_PASSWORDS, PasswordFields, passwordsValid, type PasswordState } from './PasswordFields.js';
import { useSubmit } from './use-submit.js';

/** Sets a mailbox's password; works on locked mailboxes too. */
export function ChangePasswordDialog({ address }: { readonly address: string }): ReactElement {
  const [passwords, setPasswords] = useState<PasswordState>(EMPTY_PASSWORDS);
  const { busy, error, submit, clearError } = useSubmit(() => changePassword(address, passwords.password));
  return (
    <Dialog
      title="Change Password"
      testId="dialog-change-password"
      onCancel={closeDialog}
      onSubmit={submit}
      canSubmit={passwordsValid(passwords)}
      busy={busy}
      error={error}
    >
      <p className="dialog-intro">
        Type a new password for <span className="mono">{address}</span>. The user's mail client needs the new password at its next
        log-on.
      </p>
      <PasswordFields
        state={passwords}
        label="New password:"
        onChange={(next) => {
          setPasswords(next);
          clearError();
        }}
      />
    </Dialog>
  );
}
