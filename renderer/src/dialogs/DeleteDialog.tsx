import { useId, type ReactElement } from 'react';
import { formatCount, formatSizeLong } from '../details/format.js';
import { WarningIcon } from '../icons/Icons.js';
import { useData } from '../state/data-store.js';
import { deleteTargets } from '../state/operations.js';
import { closeDialog, type DeleteRequest } from '../state/ui-store.js';
import { Dialog } from './Dialog.js';
import { useSubmit } from './use-submit.js';

function plural(n: number, one: string, many: string): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** What will be lost, in words, from what the console knows. */
function useWarning(request: DeleteRequest): { title: string; what: string; loss: string } {
  const domains = useData((s) => s.domains);
  const list = useData((s) => s.mailboxes);
  if (request.kind === 'domain') {
    const chosen = domains.filter((d) => request.domains.includes(d.name));
    const mailboxes = chosen.reduce((n, d) => n + d.mailboxes, 0);
    const messages = chosen.reduce((n, d) => n + d.messages, 0);
    const bytes = chosen.reduce((n, d) => n + d.bytes, 0);
    const what = request.domains.length === 1 ? `the domain ${request.domains[0]}` : `${request.domains.length} domains`;
    return {
      title: request.domains.length === 1 ? 'Delete Domain' : 'Delete Domains',
      what,
      loss: `Deleting ${what} also deletes all its mailboxes (${plural(mailboxes, 'mailbox', 'mailboxes')}) and all their mail (${plural(messages, 'message', 'messages')}, ${formatSizeLong(bytes)}).`,
    };
  }
  const wanted = new Set(request.addresses);
  const chosen = list?.rows.filter((m) => wanted.has(m.address)) ?? [];
  const messages = chosen.reduce((n, m) => n + m.messages, 0);
  const bytes = chosen.reduce((n, m) => n + m.bytes, 0);
  const what = request.addresses.length === 1 ? `the mailbox ${request.addresses[0]}` : `${formatCount(request.addresses.length)} mailboxes`;
  return {
    title: request.addresses.length === 1 ? 'Delete Mailbox' : 'Delete Mailboxes',
    what,
    loss: `Deleting ${what} deletes all ${request.addresses.length === 1 ? 'its' : 'their'} mail (${plural(messages, 'message', 'messages')}, ${formatSizeLong(bytes)}) and the user's password.`,
  };
}

/** Confirms a deletion and says plainly that the mail goes with it. */
export function DeleteDialog({ request }: { readonly request: DeleteRequest }): ReactElement {
  const warningId = useId();
  const { title, what, loss } = useWarning(request);
  const { busy, error, submit } = useSubmit(() => deleteTargets(request));
  return (
    <Dialog
      title={title}
      testId="dialog-delete"
      onCancel={closeDialog}
      onSubmit={submit}
      submitLabel="Delete"
      danger
      busy={busy}
      error={error}
      describedBy={warningId}
    >
      <div className="confirm" id={warningId}>
        <WarningIcon className="big" />
        <div>
          <p>
            Are you sure you want to delete <strong>{what}</strong>?
          </p>
          <p data-testid="delete-warning">{loss}</p>
          <p>This cannot be undone.</p>
        </div>
      </div>
    </Dialog>
  );
}
