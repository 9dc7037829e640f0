/**
 * The computer's details: its domains with mailbox count, size, message
 * count and state, in the order of the mailbox list (the 2003 console's).
 * Enter or double-click opens a domain.
 */

import { createColumnHelper, type ColumnDef } from '@tanstack/react-table';
import type { ReactElement } from 'react';
import type { DomainSummary } from '../../../shared/contract.js';
import { DomainIcon } from '../icons/Icons.js';
import { contextForSelection } from '../menus/action-context.js';
import { useData } from '../state/data-store.js';
import { openDomain } from '../state/navigation.js';
import { useSelection } from '../state/selection-store.js';
import { openContextMenu, openDialog } from '../state/ui-store.js';
import { domainProblemText } from '../words/service-text.js';
import { describeLock, domainState, formatCount, formatSize } from './format.js';
import type { CellRenderers } from './GridRow.js';
import { nameCell } from './name-cell.js';
import type { OrderSpec } from './row-order.js';
import { useViewRows } from './use-view-rows.js';
import { VirtualGrid } from './VirtualGrid.js';

const col = createColumnHelper<DomainSummary>();

/** Sort rank of a state: unlocked, locked, damaged. */
function domainRank(d: DomainSummary): number {
  return d.problem !== undefined ? 2 : d.lock ? 1 : 0;
}

const columns = [
  col.accessor('name', { header: 'Domain Name' }),
  col.accessor('mailboxes', { header: 'Mailboxes' }),
  col.accessor('bytes', { header: 'Size (KB)' }),
  col.accessor('messages', { header: 'Messages' }),
  col.accessor(domainRank, { id: 'state', header: 'State' }),
] as ColumnDef<DomainSummary, unknown>[];

// One element for every row: React skips it when a row element shows another domain.
const DOMAIN_ICON = <DomainIcon />;

const cells: CellRenderers<DomainSummary> = {
  name: (d) => nameCell(DOMAIN_ICON, d.name, d.lock ? describeLock(d.lock) : undefined),
  mailboxes: (d) => formatCount(d.mailboxes),
  bytes: (d) => formatSize(d.bytes),
  messages: (d) => formatCount(d.messages),
  state: (d) => {
    const state = domainState(d);
    const title = d.problem !== undefined ? domainProblemText(d.problem, d.name) : d.lock ? describeLock(d.lock) : undefined;
    return (
      <span className={`state ${state.toLowerCase()}`} title={title} data-testid="domain-state">
        {state}
      </span>
    );
  },
};

// `is-locked` shows the padlock badge (grid.css).
const rowClass = (d: DomainSummary): string => (d.lock ? 'is-locked' : '');

const nameOf = (d: DomainSummary): string => d.name;

const order: OrderSpec<DomainSummary> = {
  nameOf,
  keys: { name: nameOf, mailboxes: (d) => d.mailboxes, bytes: (d) => d.bytes, messages: (d) => d.messages, state: domainRank },
};

export function DomainsView(): ReactElement {
  const domains = useData((s) => s.domains);
  const rows = useViewRows(domains, order, nameOf);
  const filtering = useSelection((s) => s.filter !== '');
  return (
    <VirtualGrid
      rows={rows}
      columns={columns}
      cells={cells}
      rowId={nameOf}
      label="Domains"
      layoutClass="layout-domains"
      testId="domains-grid"
      emptyText={filtering ? 'No domain matches the filter.' : 'There are no domains. Use Action › New › Domain to add one.'}
      nameOf={nameOf}
      rowClass={rowClass}
      onOpen={(d) => openDomain(d.name)}
      onDelete={() => {
        const selected = useSelection.getState().selected;
        openDialog({ kind: 'delete', request: { kind: 'domain', domains: domains.filter((d) => selected.has(d.name)).map((d) => d.name) } });
      }}
      onMenu={(x, y, returnFocus) => openContextMenu({ context: contextForSelection(), x, y, returnFocus })}
    />
  );
}
