import { useState, type ReactElement } from 'react';
import { REASON_MAX_LENGTH } from '../../../shared/validate.js';
import { lockTargets } from '../state/operations.js';
import { closeDialog } from '../state/ui-store.js';
import { Dialog } from './Dialog.js';
import { Field, FieldInput } from './Field.js';

/**
 * Lock with a reason: the reason goes to the audit log and the properties,
 * for the next administrator; mail clients are never told it.
 */
export function LockReasonDialog({ targets }: { readonly targets: readonly string[] }): ReactElement {
  const [reason, setReason] = useState('');
  const what = targets.length === 1 ? targets[0] : `${targets.length.toLocaleString('en-US')} items`;
  const problem = reason.length > REASON_MAX_LENGTH ? `A reason can have at most ${REASON_MAX_LENGTH} characters.` : null;
  return (
    <Dialog
      title="Lock"
      testId="dialog-lock-reason"
      onCancel={closeDialog}
      onSubmit={() => {
        closeDialog();
        void lockTargets(targets, reason.trim() || undefined);
      }}
      submitLabel="Lock"
      canSubmit={problem === null}
    >
      <p className="dialog-intro">
        Lock <strong>{what}</strong>. Its users cannot log on until it is unlocked; mail is still delivered.
      </p>
      <Field label="Reason (optional):" problem={problem} hint="Kept with the lock and in the audit log; mail clients never see it." testId="field-reason">
        {(ids) => <FieldInput {...ids} type="text" value={reason} testId="input-reason" onValue={setReason} />}
      </Field>
    </Dialog>
  );
}
