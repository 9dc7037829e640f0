/**
 * The snap-in root's details: what this console administers and how.
 */

import type { ReactElement } from 'react';
import { ComputerIcon } from '../icons/Icons.js';
import { useData } from '../state/data-store.js';
import { selectNode } from '../state/navigation.js';
import { describeMode } from '../status/mode.js';
import { formatCount, formatSizeLong } from './format.js';

export function RootOverview(): ReactElement {
  const info = useData((s) => s.info);
  const domains = useData((s) => s.domains);
  const mailboxes = domains.reduce((n, d) => n + d.mailboxes, 0);
  const messages = domains.reduce((n, d) => n + d.messages, 0);
  const bytes = domains.reduce((n, d) => n + d.bytes, 0);
  return (
    <div className="overview" data-testid="root-overview">
      <p>
        The POP3 Service lets users download their mail with any POP3 client. Mail for hosted domains arrives over SMTP and
        is kept in the mail store; each mailbox can be locked, which stops its user from logging on while mail is still
        delivered.
      </p>
      <button type="button" className="overview-computer" onClick={() => selectNode({ kind: 'computer' })}>
        <ComputerIcon />
        <span>{info?.computer ?? 'This computer'}</span>
      </button>
      <dl className="facts">
        <dt>Mode</dt>
        <dd>{info ? describeMode(info.mode) : '…'}</dd>
        <dt>Mail root</dt>
        <dd className="mono">{info?.mailroot ?? '…'}</dd>
        <dt>Version</dt>
        <dd>{info?.version ?? '…'}</dd>
        <dt>Domains</dt>
        <dd>{formatCount(domains.length)}</dd>
        <dt>Mailboxes</dt>
        <dd>{formatCount(mailboxes)}</dd>
        <dt>Messages</dt>
        <dd>
          {formatCount(messages)} ({formatSizeLong(bytes)})
        </dd>
        <dt>Open sessions</dt>
        <dd>{info ? formatCount(info.sessions) : '…'}</dd>
      </dl>
    </div>
  );
}
