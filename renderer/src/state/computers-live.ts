/**
 * Follows the other computers: their state changes, and the admin events of
 * each, applied to its domain list and (when one of its domains is on
 * screen) to the mailboxes shown.
 */

import type { AdminEvent } from '../../../shared/contract.js';
import { applyCounterEvents } from '../activity/counters-store.js';
import { computersApi } from '../api.js';
import { dropComputer, loadComputers, loadRemoteDomains, putComputer } from './computers-store.js';
import { applyEventsToMailboxes } from './loaders.js';
import { touchesDomainList } from './patch-rows.js';
import { applyEventsToSessions } from './session-store.js';
import { useView } from './view-store.js';

/** Subscribes to the other computers' events; returns the unsubscribe (a no-op where the host has none). */
export function startComputerUpdates(): () => void {
  const computers = computersApi();
  if (!computers) return () => {};
  const unsubscribe = computers.onEvent((event) => {
    if (event.type === 'computerState') putComputer(event.computer);
    else if (event.type === 'computerRemoved') {
      dropComputer(event.computer);
      const node = useView.getState().node;
      if ((node.kind === 'remote' || node.kind === 'domain' || node.kind === 'sessions') && node.computer === event.computer) useView.setState({ node: { kind: 'root' } });
    } else applyRemoteEvent(event.computer, event.event);
  });
  void loadComputers();
  return unsubscribe;
}

function applyRemoteEvent(computer: string, event: AdminEvent): void {
  applyCounterEvents([event], computer);
  const node = useView.getState().node;
  if (node.kind === 'domain' && node.computer === computer) applyEventsToMailboxes([event]);
  applyEventsToSessions(computer, [event]);
  if (touchesDomainList(event) || event.type === 'locked' || event.type === 'unlocked') void loadRemoteDomains(computer);
}
