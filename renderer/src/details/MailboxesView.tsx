/**
 * A domain's details: its mailboxes in the 2003 console's columns, Mailbox |
 * Size (KB) | Messages | State (locked itself, or through its domain; Error
 * when a state file is damaged, with the file and the repair in the
 * tooltip). Virtualized for 100,000 rows.
 */

import { createColumnHelper, type ColumnDef } from '@tanstack/react-table';
import type { ReactElement } from 'react';
import type { MailboxSummary } from '../../../shared/contract.js';
import { MailboxIcon } from '../icons/Icons.js';
import { contextForSelection } from '../menus/action-context.js';
import type { MailboxList } from '../state/data-store.js';
import { useSelection } from '../state/selection-store.js';
import { openContextMenu, openDialog } from '../state/ui-store.js';
import { formatCount, formatSize, mailboxState, mailboxStateTitle, stateRank, type MailboxState } from './format.js';
import type { CellRenderers } from './GridRow.js';
import { nameCell } from './name-cell.js';
import type { OrderSpec } from './row-order.js';
import { useViewRows } from './use-view-rows.js';
import { VirtualGrid } from './VirtualGrid.js';

const col = createColumnHelper<MailboxSummary>();

const columns = [
  col.accessor('name', { header: 'Mailbox' }),
  col.accessor('bytes', { header: 'Size (KB)' }),
  col.accessor('messages', { header: 'Messages' }),
  col.accessor(stateRank, { id: 'state', header: 'State' }),
] as ColumnDef<MailboxSummary, unknown>[];

// One element for every row: React skips it when a row element shows another mailbox.
const MAILBOX_ICON = <MailboxIcon />;

const STATE_CLASS: Record<MailboxState, string> = { Error: 'error', Locked: 'locked', 'Locked (domain)': 'locked', Unlocked: 'unlocked' };

const cells: CellRenderers<MailboxSummary> = {
  name: (m) => nameCell(MAILBOX_ICON, m.name),
  bytes: (m) => formatSize(m.bytes),
  messages: (m) => formatCount(m.messages),
  state: (m) => {
    const state = mailboxState(m);
    return (
      <span className={`state ${STATE_CLASS[state]}`} title={mailboxStateTitle(m)} data-testid="mailbox-state">
        {state}
      </span>
    );
  },
};

// `is-locked` shows the padlock badge (grid.css).
const rowClass = (m: MailboxSummary): string => (m.locked ? 'is-locked' : '');
const rowId = (m: MailboxSummary): string => m.address;
const nameOf = (m: MailboxSummary): string => m.name;

const order: OrderSpec<MailboxSummary> = {
  nameOf,
  keys: { name: nameOf, bytes: (m) => m.bytes, messages: (m) => m.messages, state: stateRank },
};

export function MailboxesView({ list }: { readonly list: MailboxList }): ReactElement {
  const rows = useViewRows(list.rows, order, rowId);
  const filtering = useSelection((s) => s.filter !== '');
  const empty = list.loading
    ? 'Loading mailboxes…'
    : filtering
      ? 'No mailbox matches the filter.'
      : 'This domain has no mailboxes. Use Action › New › Mailbox to add one.';
  return (
    <VirtualGrid
      rows={rows}
      columns={columns}
      cells={cells}
      rowId={rowId}
      label={`Mailboxes of ${list.domain}`}
      layoutClass="layout-mailboxes"
      testId="mailboxes-grid"
      emptyText={empty}
      nameOf={nameOf}
      rowClass={rowClass}
      onOpen={(m) => openDialog({ kind: 'mailboxProperties', address: m.address })}
      onDelete={() => {
        const selected = useSelection.getState().selected;
        const addresses = list.rows.filter((m) => selected.has(m.address)).map((m) => m.address);
        openDialog({ kind: 'delete', request: { kind: 'mailbox', addresses } });
      }}
      onMenu={(x, y, returnFocus) => openContextMenu({ context: contextForSelection(), x, y, returnFocus })}
    />
  );
}
