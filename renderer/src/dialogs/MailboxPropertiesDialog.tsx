import { Fragment, type ReactElement } from 'react';
import { describeLock, formatCount, formatSizeLong, formatTime, mailboxProblems, mailboxState } from '../details/format.js';
import { useData } from '../state/data-store.js';
import { closeDialog } from '../state/ui-store.js';
import { Dialog } from './Dialog.js';

/** A mailbox's properties: its counts; when locked, who locked it, when and why; when damaged, what and how to repair it. */
export function MailboxPropertiesDialog({ address }: { readonly address: string }): ReactElement {
  const row = useData((s) => s.mailboxes?.rows.find((m) => m.address === address));
  const domain = useData((s) => (row ? s.domains.find((d) => d.name === row.domain) : undefined));
  return (
    <Dialog title={`${address} Properties`} testId="dialog-mailbox-properties" onCancel={closeDialog}>
      {row ? (
        <dl className="facts">
          <dt>Mailbox</dt>
          <dd>{row.name}</dd>
          <dt>Log-on name</dt>
          <dd className="mono">{row.address}</dd>
          <dt>Messages</dt>
          <dd>{formatCount(row.messages)}</dd>
          <dt>Size</dt>
          <dd>{formatSizeLong(row.bytes)}</dd>
          <dt>State</dt>
          <dd data-testid="properties-state">{mailboxState(row)}</dd>
          {mailboxProblems(row).map((problem) => (
            <Fragment key={problem}>
              <dt>Problem</dt>
              <dd data-testid="properties-problem">{problem}</dd>
            </Fragment>
          ))}
          {row.lock ? (
            <>
              <dt>Locked by</dt>
              <dd>{row.lock.by}</dd>
              <dt>Locked on</dt>
              <dd>{formatTime(row.lock.at)}</dd>
              <dt>Reason</dt>
              <dd data-testid="properties-reason">{row.lock.reason ?? '(none given)'}</dd>
            </>
          ) : null}
          {domain?.lock ? (
            <>
              <dt>Domain</dt>
              <dd>{describeLock(domain.lock)}</dd>
            </>
          ) : null}
        </dl>
      ) : (
        <p>This mailbox no longer exists.</p>
      )}
    </Dialog>
  );
}
