/**
 * Follows the service's events so the view shows changes made anywhere (a
 * `winpop lock` in a shell, mail arriving) within a fraction of a second.
 *
 * Events are batched for a short moment: a bulk lock of a thousand
 * mailboxes repaints once, and the domain list is fetched once per batch.
 */

import type { AdminEvent } from '../../../shared/contract.js';
import { localApi } from '../api.js';
import { useView } from './view-store.js';
import { applyEventsToMailboxes, loadDomains, loadInfo } from './loaders.js';
import { touchesDomainList } from './patch-rows.js';

/** How long events gather before one repaint; well under the one second a shell lock may take to show. */
const BATCH_MS = 100;

function touchesInfo(event: AdminEvent): boolean {
  return event.type === 'sessionOpened' || event.type === 'sessionClosed' || event.type === 'settingsChanged';
}

/** Applies a batch of events to the stores. */
export function applyEvents(batch: readonly AdminEvent[]): void {
  const node = useView.getState().node;
  // Another computer's domain on screen: this computer's events are not about it.
  if (!(node.kind === 'domain' && node.computer !== undefined)) applyEventsToMailboxes(batch);
  if (batch.some(touchesDomainList)) void loadDomains();
  if (batch.some(touchesInfo)) void loadInfo();
}

/** Subscribes to the service's events; returns the unsubscribe. */
export function startLiveUpdates(): () => void {
  let queue: AdminEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = (): void => {
    timer = null;
    const batch = queue;
    queue = [];
    applyEvents(batch);
  };
  const unsubscribe = localApi().onEvent((event) => {
    queue.push(event);
    timer ??= setTimeout(flush, BATCH_MS);
  });
  return () => {
    unsubscribe();
    if (timer !== null) clearTimeout(timer);
  };
}
