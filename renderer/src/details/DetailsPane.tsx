/**
 * The right-hand pane: what the selected tree node contains.
 */

import type { ReactElement } from 'react';
import { ActivityChart } from '../activity/ActivityChart.js';
import { ComputerIcon, DomainIcon, ServiceIcon, SessionsIcon } from '../icons/Icons.js';
import { computerLabel, useComputers } from '../state/computers-store.js';
import { useData } from '../state/data-store.js';
import { COMPUTER_STATE_WORDS } from '../tree/tree-model.js';
import { useSelection } from '../state/selection-store.js';
import { setFocusArea, useView } from '../state/view-store.js';
import { DomainLockBanner, ErrorBar, ListenerAlerts } from '../status/Alerts.js';
import { DetailsHeader } from './DetailsHeader.js';
import { DomainsView } from './DomainsView.js';
import { formatCount } from './format.js';
import { MailboxesView } from './MailboxesView.js';
import { sessionMailbox } from './session-format.js';
import { SessionsView } from './SessionsView.js';
import { useSessions } from '../state/session-store.js';
import { RootOverview } from './RootOverview.js';

function countText(total: number, shown: number, noun: string, nouns: string, filtering: boolean): string {
  const base = `${formatCount(total)} ${total === 1 ? noun : nouns}`;
  return filtering ? `${base}, ${formatCount(shown)} shown` : base;
}

function Body(): ReactElement {
  const node = useView((s) => s.node);
  const info = useData((s) => s.info);
  const domains = useData((s) => s.domains);
  const list = useData((s) => s.mailboxes);
  const filter = useSelection((s) => s.filter.trim().toLowerCase());

  if (node.kind === 'root') {
    return (
      <>
        <DetailsHeader icon={<ServiceIcon />} title="POP3 Service" />
        <RootOverview />
      </>
    );
  }
  if (node.kind === 'computer') {
    const shown = filter ? domains.filter((d) => d.name.includes(filter)).length : domains.length;
    return (
      <>
        <DetailsHeader
          icon={<ComputerIcon />}
          title={info?.computer ?? 'This computer'}
          summary={countText(domains.length, shown, 'domain', 'domains', filter !== '')}
          filterWhat="domains"
        />
        <ActivityChart />
        <DomainsView />
      </>
    );
  }
  if (node.kind === 'remote') return <RemoteComputerView computer={node.computer} />;
  if (node.kind === 'sessions') return <SessionsBody computer={node.computer} />;
  const rows = list?.domain === node.domain ? list.rows : [];
  const shown = filter ? rows.filter((m) => m.name.includes(filter)).length : rows.length;
  return (
    <>
      <DetailsHeader
        icon={<DomainIcon />}
        title={node.domain}
        summary={list?.loading && rows.length === 0 ? 'Loading…' : countText(rows.length, shown, 'mailbox', 'mailboxes', filter !== '')}
        filterWhat="mailboxes"
      />
      <DomainLockBanner />
      {list?.domain === node.domain ? <MailboxesView list={list} /> : null}
    </>
  );
}

export function DetailsPane(): ReactElement {
  return (
    <section className="details" aria-label="Details" data-testid="details-pane" onFocus={() => setFocusArea('details')}>
      <ListenerAlerts />
      <ErrorBar />
      <Body />
    </section>
  );
}

/** A computer's Sessions node: its open POP3 sessions. */
function SessionsBody({ computer }: { readonly computer: string | undefined }): ReactElement {
  const list = useSessions((s) => (s.list !== null && s.list.computer === computer ? s.list : null));
  const filter = useSelection((s) => s.filter.trim().toLowerCase());
  const localName = useData((s) => s.info?.computer ?? 'this computer');
  const remote = useComputers((s) => (computer === undefined ? undefined : s.computers.find((c) => c.id === computer)));
  const rows = list?.rows ?? [];
  const shown = filter ? rows.filter((s) => sessionMailbox(s).toLowerCase().includes(filter)).length : rows.length;
  const where = computer === undefined ? localName : remote ? computerLabel(remote) : 'another computer';
  return (
    <>
      <DetailsHeader
        icon={<SessionsIcon />}
        title={`Sessions on ${where}`}
        summary={list === null || (list.loading && rows.length === 0) ? 'Loading…' : countText(rows.length, shown, 'POP3 session', 'POP3 sessions', filter !== '')}
        filterWhat="sessions"
      />
      {list !== null ? <SessionsView list={list} /> : null}
    </>
  );
}

/** Another computer's node: its state and why, and its domains once connected. */
function RemoteComputerView({ computer }: { readonly computer: string }): ReactElement {
  const info = useComputers((s) => s.computers.find((c) => c.id === computer));
  const domains = useComputers((s) => s.domains[computer] ?? []);
  if (!info) return <DetailsHeader icon={<ComputerIcon />} title="Removed computer" />;
  return (
    <>
      <DetailsHeader icon={<ComputerIcon />} title={computerLabel(info)} summary={COMPUTER_STATE_WORDS[info.state]} />
      <div className="remote-computer" data-testid="remote-computer">
        <p data-testid="remote-state">
          State: <strong>{COMPUTER_STATE_WORDS[info.state]}</strong>
          {info.reason ? ` — ${info.reason}` : ''}
        </p>
        <p>
          Signed in as {info.admin}; certificate {info.fingerprint ?? 'not confirmed yet'}.
        </p>
        {info.state === 'connected' ? <p>{domains.length === 1 ? '1 domain' : `${domains.length} domains`}: open one in the tree to see its mailboxes.</p> : null}
      </div>
      {info.state === 'connected' ? <ActivityChart computer={computer} /> : null}
    </>
  );
}
