/**
 * Shows the dialog the UI store asks for; one at a time, modal.
 */

import type { ReactElement } from 'react';
import { useUi } from '../state/ui-store.js';
import { AboutDialog } from './AboutDialog.js';
import { BulkResultsDialog } from './BulkResultsDialog.js';
import { ChangePasswordDialog } from './ChangePasswordDialog.js';
import { ConnectComputerDialog } from './ConnectComputerDialog.js';
import { DeleteDialog } from './DeleteDialog.js';
import { HelpDialog } from './HelpDialog.js';
import { LockReasonDialog } from './LockReasonDialog.js';
import { MailboxPropertiesDialog } from './MailboxPropertiesDialog.js';
import { MessageDialog } from './MessageDialog.js';
import { NewDomainDialog } from './NewDomainDialog.js';
import { NewMailboxDialog } from './NewMailboxDialog.js';
import { ServerPropertiesDialog } from './ServerPropertiesDialog.js';

export function DialogHost(): ReactElement | null {
  const dialog = useUi((s) => s.dialog);
  if (!dialog) return null;
  switch (dialog.kind) {
    case 'newDomain':
      return <NewDomainDialog />;
    case 'newMailbox':
      return <NewMailboxDialog domain={dialog.domain} />;
    case 'changePassword':
      return <ChangePasswordDialog address={dialog.address} />;
    case 'delete':
      return <DeleteDialog request={dialog.request} />;
    case 'properties':
      return <ServerPropertiesDialog />;
    case 'lockReason':
      return <LockReasonDialog targets={dialog.targets} />;
    case 'bulkResults':
      return <BulkResultsDialog title={dialog.title} summary={dialog.summary} items={dialog.items} />;
    case 'mailboxProperties':
      return <MailboxPropertiesDialog address={dialog.address} />;
    case 'about':
      return <AboutDialog />;
    case 'message':
      return <MessageDialog title={dialog.title} text={dialog.text} />;
    case 'help':
      return <HelpDialog />;
    case 'connectComputer':
      return <ConnectComputerDialog {...(dialog.computer === undefined ? {} : { computer: dialog.computer })} />;
  }
}
