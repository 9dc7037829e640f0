import { useState, type ReactElement } from 'react';
import { domainNameProblem } from '../../../shared/names.js';
import { addDomain } from '../state/operations.js';
import { closeDialog } from '../state/ui-store.js';
import { Dialog } from './Dialog.js';
import { Field } from './Field.js';
import { NameInput } from './NameInput.js';
import { useSubmit } from './use-submit.js';

/** Action › New › Domain: a fully qualified domain name. */
export function NewDomainDialog(): ReactElement {
  const [name, setName] = useState('');
  const [touched, setTouched] = useState(false);
  const problem = domainNameProblem(name.trim());
  const { busy, error, submit, clearError } = useSubmit(() => addDomain(name.trim()));
  return (
    <Dialog
      title="Add Domain"
      testId="dialog-new-domain"
      onCancel={closeDialog}
      onSubmit={submit}
      canSubmit={problem === null}
      busy={busy}
      error={error}
    >
      <p className="dialog-intro">Type the fully qualified name of a domain this server receives mail for, such as example.com.</p>
      <Field label="Domain name:" problem={touched ? problem : null} testId="field-domain">
        {(ids) => (
          <NameInput
            {...ids}
            value={name}
            testId="input-domain"
            onValue={(value) => {
              setName(value);
              setTouched(true);
              clearError();
            }}
          />
        )}
      </Field>
    </Dialog>
  );
}
