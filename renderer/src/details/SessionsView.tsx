/**
 * A computer's Sessions node: one row per open POP3 session, Mailbox |
 * Client | Since | Encrypted | State, kept current by the service's events.
 * Delete or the End Session action closes the selected sessions.
 */

import { createColumnHelper, type ColumnDef } from '@tanstack/react-table';
import type { ReactElement } from 'react';
import type { SessionInfo } from '../../../shared/contract.js';
import { SessionsIcon } from '../icons/Icons.js';
import { contextForSelection } from '../menus/action-context.js';
import { endSessions } from '../state/operations.js';
import { useSelection } from '../state/selection-store.js';
import type { SessionList } from '../state/session-store.js';
import { openContextMenu } from '../state/ui-store.js';
import type { CellRenderers } from './GridRow.js';
import { nameCell } from './name-cell.js';
import type { OrderSpec } from './row-order.js';
import { clientSortKey, encryptedWords, formatSince, sessionMailbox, sessionStateRank, sessionStateTitle, sessionStateWords } from './session-format.js';
import { useViewRows } from './use-view-rows.js';
import { VirtualGrid } from './VirtualGrid.js';

const col = createColumnHelper<SessionInfo>();

const columns = [
  col.accessor(sessionMailbox, { id: 'name', header: 'Mailbox' }),
  col.accessor('client', { header: 'Client' }),
  col.accessor('since', { header: 'Since' }),
  col.accessor('encrypted', { header: 'Encrypted' }),
  col.accessor(sessionStateRank, { id: 'state', header: 'State' }),
] as ColumnDef<SessionInfo, unknown>[];

const SESSION_ICON = <SessionsIcon />;

const cells: CellRenderers<SessionInfo> = {
  name: (s) => nameCell(SESSION_ICON, sessionMailbox(s), `Session ${s.id}`),
  client: (s) => s.client,
  since: (s) => <time dateTime={s.since}>{formatSince(s.since)}</time>,
  encrypted: (s) => (
    <span className="state" data-testid="session-encrypted">
      {encryptedWords(s)}
    </span>
  ),
  state: (s) => (
    <span className="state" title={sessionStateTitle(s)} data-testid="session-state">
      {sessionStateWords(s)}
    </span>
  ),
};

const rowId = (s: SessionInfo): string => s.id;
const nameOf = (s: SessionInfo): string => sessionMailbox(s);

const order: OrderSpec<SessionInfo> = {
  nameOf,
  keys: { name: nameOf, client: clientSortKey, since: (s) => s.since, encrypted: (s) => (s.encrypted ? 1 : 0), state: sessionStateRank },
};

export function SessionsView({ list }: { readonly list: SessionList }): ReactElement {
  const rows = useViewRows(list.rows, order, rowId, false);
  const filtering = useSelection((s) => s.filter !== '');
  const empty = list.loading
    ? 'Listing the sessions…'
    : list.error !== null
      ? `The sessions could not be listed: ${list.error}`
      : filtering
        ? 'No session matches the filter.'
        : 'No POP3 session is open.';
  const selectedSessions = (): SessionInfo[] => {
    const selected = useSelection.getState().selected;
    return list.rows.filter((s) => selected.has(s.id));
  };
  return (
    <VirtualGrid
      rows={rows}
      columns={columns}
      cells={cells}
      rowId={rowId}
      label="POP3 sessions"
      layoutClass="layout-sessions"
      testId="sessions-grid"
      emptyText={empty}
      nameOf={nameOf}
      // A session has nothing to open: its columns are all there is; Shift+F10 or the Menu key shows what can be done.
      onOpen={() => undefined}
      onDelete={() => void endSessions(list.computer, selectedSessions())}
      onMenu={(x, y, returnFocus) => openContextMenu({ context: contextForSelection(), x, y, returnFocus })}
    />
  );
}
