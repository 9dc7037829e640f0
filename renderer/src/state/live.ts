/**
 * Follows the service's events so the view shows changes made anywhere (a
 * `winpop lock` in a shell, mail arriving) within a fraction of a second.
 *
 * Events are batched for a short moment: a bulk lock of a thousand
 * mailboxes repaints once, and the domain list is fetched once per batch
 * (for mail alone, at most every MAIL_RELOAD_MS).
 */

import type { AdminEvent } from '../../../shared/contract.js';
import { applyCounterEvents } from '../activity/counters-store.js';
import { localApi } from '../api.js';
import { useView } from './view-store.js';
import { applyEventsToMailboxes, loadDomains, loadInfo } from './loaders.js';
import { touchesDomainList } from './patch-rows.js';
import { applyEventsToSessions } from './session-store.js';

/** How long events gather before one repaint; well under the one second a shell lock may take to show. */
const BATCH_MS = 100;

function touchesInfo(event: AdminEvent): boolean {
  return event.type === 'sessionOpened' || event.type === 'sessionClosed' || event.type === 'sessionChanged' || event.type === 'settingsChanged';
}

/**
 * Mail arriving fetches the domain list again at most this often: its
 * totals cost the service a look at every mailbox's folders (for mail other
 * programs delivered), and a busy server sends such events all the time.
 */
const MAIL_RELOAD_MS = 3_000;

const isMail = (event: AdminEvent): boolean => event.type === 'mailArrived' || event.type === 'mailboxChanged';

let lastMailReload = -Infinity;
let mailReload: ReturnType<typeof setTimeout> | null = null;

/** Fetches the domain list for mail events: now, or once when MAIL_RELOAD_MS has passed since the last time. */
function reloadDomainsForMail(): void {
  if (mailReload !== null) return;
  const wait = lastMailReload + MAIL_RELOAD_MS - Date.now();
  const run = (): void => {
    mailReload = null;
    lastMailReload = Date.now();
    void loadDomains();
  };
  if (wait <= 0) run();
  else mailReload = setTimeout(run, wait);
}

/** Applies a batch of events to the stores. */
export function applyEvents(batch: readonly AdminEvent[]): void {
  const node = useView.getState().node;
  // Another computer's domain on screen: this computer's events are not about it.
  if (!(node.kind === 'domain' && node.computer !== undefined)) applyEventsToMailboxes(batch);
  applyEventsToSessions(undefined, batch);
  const domainEvents = batch.filter(touchesDomainList);
  if (domainEvents.some((e) => !isMail(e))) {
    // Fetched now, for a change the mail events may also be waiting for.
    if (mailReload !== null) clearTimeout(mailReload);
    mailReload = null;
    lastMailReload = Date.now();
    void loadDomains();
  } else if (domainEvents.length > 0) {
    reloadDomainsForMail();
  }
  if (batch.some(touchesInfo)) void loadInfo();
  applyCounterEvents(batch);
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
