/**
 * The status bar: the last thing done (or being done), how many items the
 * details pane shows, how this console reaches the service, and where the
 * service listens.
 */

import type { ReactElement } from 'react';
import { formatCount } from '../details/format.js';
import { ErrorIcon } from '../icons/Icons.js';
import { useData } from '../state/data-store.js';
import { useSelection } from '../state/selection-store.js';
import { useSessions } from '../state/session-store.js';
import { useUi } from '../state/ui-store.js';
import { useView } from '../state/view-store.js';
import { listenerProblemText } from '../words/service-text.js';
import { MessageText } from './MessageText.js';
import { describeMode, protocolName } from './mode.js';

function useCounts(): string {
  const node = useView((s) => s.node);
  const domains = useData((s) => s.domains);
  const list = useData((s) => s.mailboxes);
  const selected = useSelection((s) => s.selected.size);
  const sessions = useSessions((s) => s.list?.rows.length ?? 0);
  if (node.kind === 'root') return '';
  if (node.kind === 'sessions') return `${formatCount(sessions)} ${sessions === 1 ? 'session' : 'sessions'}${selected > 0 ? `, ${formatCount(selected)} selected` : ''}`;
  const total = node.kind === 'computer' ? domains.length : (list?.rows.length ?? 0);
  const noun = node.kind === 'computer' ? (total === 1 ? 'domain' : 'domains') : total === 1 ? 'mailbox' : 'mailboxes';
  return `${formatCount(total)} ${noun}${selected > 0 ? `, ${formatCount(selected)} selected` : ''}`;
}

export function StatusBar(): ReactElement {
  const status = useUi((s) => s.status);
  const busy = useUi((s) => s.busy);
  const hint = useUi((s) => s.hint);
  const info = useData((s) => s.info);
  const infoError = useData((s) => s.infoError);
  const counts = useCounts();
  const listeners = (info?.listeners ?? []).filter((l) => l.protocol !== 'control');
  const modeText = infoError ? `Service not reachable: ${infoError}` : info ? describeMode(info.mode) : 'Connecting…';

  return (
    <footer className="statusbar" data-testid="status-bar">
      <div className={`status-cell status-message${!hint && !busy && status?.tone === 'error' ? ' error' : ''}`}>
        <MessageText text={hint ?? busy ?? status?.text ?? 'Ready'} detailsTitle="Status Message" testId="status-message" live />
      </div>
      <div className="status-cell status-counts" data-testid="status-counts">
        {counts}
      </div>
      <div className="status-cell status-mode" data-testid="status-mode" data-mode={info?.mode} title={modeText}>
        {modeText}
      </div>
      {listeners.map((l) => (
        <div
          key={l.protocol}
          className={`status-cell status-listener${l.listening ? '' : ' error'}`}
          data-testid={`status-${l.protocol}`}
          title={l.listening ? `${protocolName(l)} listening on ${l.address}` : listenerProblemText(l, protocolName(l))}
        >
          {l.listening ? null : <ErrorIcon />}
          {protocolName(l)} {l.listening ? l.address : 'not listening'}
        </div>
      ))}
    </footer>
  );
}
