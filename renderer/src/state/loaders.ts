/**
 * Fetching from the service into the data store.
 *
 * Each loader has at most one call in flight; a request made meanwhile runs
 * once more after it, so a burst of events costs two fetches, not fifty.
 */

import type { AdminEvent } from '../../../shared/contract.js';
import { api, localApi } from '../api.js';
import { failureText } from '../words/failures.js';
import { useData } from './data-store.js';
import { applyMailboxEvents, domainRows, type DomainRows } from './patch-rows.js';
import { pruneSelection } from './selection-store.js';
import { setBusy, showError, useUi } from './ui-store.js';
import { loadRemoteDomains } from './computers-store.js';
import { loadSessions } from './session-store.js';
import { computerOf, useView } from './view-store.js';

/** Runs `task` now, or once more after the run in flight ends. */
function coalesced(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await task();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}

export const loadInfo = coalesced(async () => {
  try {
    const info = await localApi().serverInfo({});
    useData.setState({ info, infoError: null });
  } catch (err) {
    useData.setState({ infoError: failureText(err, { op: 'serverInfo' }) });
  }
});

export const loadDomains = coalesced(async () => {
  try {
    const domains = await localApi().listDomains({});
    const sorted = [...domains].sort((a, b) => a.name.localeCompare(b.name));
    useData.setState({ domains: sorted, domainsLoaded: true, domainsError: null });
    const { node } = useView.getState();
    if (node.kind === 'domain' && node.computer === undefined && !sorted.some((d) => d.name === node.domain)) {
      // The domain on screen was deleted (here or from a shell): go up to the computer.
      useView.setState({ node: { kind: 'computer' } });
    }
    if (useView.getState().node.kind === 'computer') {
      const names = new Set(sorted.map((d) => d.name));
      pruneSelection((id) => names.has(id));
    }
  } catch (err) {
    useData.setState({ domainsError: failureText(err, { op: 'listDomains' }), domainsLoaded: true });
  }
});

/**
 * Marks a step of showing a domain on the page's performance timeline, where
 * the benchmark reads how a domain click's time divides; one mark per name.
 */
function markPhase(name: string): void {
  performance.clearMarks(name);
  performance.mark(name);
}

/** Events for the domain being fetched, applied once its list arrives. */
let eventsDuringLoad: AdminEvent[] = [];
let loadToken = 0;

/**
 * Fetches a domain's mailboxes for the details pane.
 *
 * As a table in columns, expanded into rows here: a domain of 100,000
 * mailboxes is then a few arrays to cross IPC instead of 100,000 objects.
 */
export async function loadMailboxes(domain: string): Promise<void> {
  const token = ++loadToken;
  eventsDuringLoad = [];
  const previous = useData.getState().mailboxes;
  const keep: DomainRows = previous?.domain === domain ? previous : { domain, rows: [], domainLocked: false, domainProblem: null };
  useData.setState({ mailboxes: { ...keep, loading: true, error: null } });
  const busy = `Listing the mailboxes of ${domain}…`;
  if (useUi.getState().busy === null) setBusy(busy);
  try {
    const table = await api().listMailboxTable({ domain });
    if (token !== loadToken) return;
    markPhase('mailboxes-fetched');
    const list = applyMailboxEvents({ ...domainRows(table), domain, loading: false, error: null }, eventsDuringLoad);
    const { rows } = list;
    eventsDuringLoad = [];
    useData.setState({ mailboxes: list });
    markPhase('mailboxes-stored');
    // Built only when something is selected: a set of 100,000 addresses costs tens of milliseconds, and a new domain starts with no selection.
    let addresses: ReadonlySet<string> | null = null;
    pruneSelection((id) => (addresses ??= new Set(rows.map((r) => r.address))).has(id));
  } catch (err) {
    if (token !== loadToken) return;
    const message = failureText(err, { op: 'listMailboxTable', target: domain });
    useData.setState({ mailboxes: { ...keep, loading: false, error: message } });
    showError(`Could not list the mailboxes of ${domain}: ${message}`);
  } finally {
    if (useUi.getState().busy === busy) setBusy(null);
  }
}

/** Applies a batch of events to the mailboxes on screen (or keeps them for the list being fetched). */
export function applyEventsToMailboxes(events: readonly AdminEvent[]): void {
  const list = useData.getState().mailboxes;
  if (!list) return;
  if (list.loading) {
    eventsDuringLoad.push(...events);
    return;
  }
  const next = applyMailboxEvents(list, events);
  if (next === list) return;
  useData.setState({ mailboxes: next });
  const { rows } = next;
  if (rows.length < list.rows.length) {
    const addresses = new Set(rows.map((r) => r.address));
    pruneSelection((id) => addresses.has(id));
  }
}

/** Reloads whatever the selected node shows, and the server info (F5, Refresh). */
export async function refreshAll(): Promise<void> {
  const { node } = useView.getState();
  const work: Promise<void>[] = [loadInfo(), loadDomains()];
  const computer = computerOf(node);
  if (computer !== undefined) work.push(loadRemoteDomains(computer));
  if (node.kind === 'domain') work.push(loadMailboxes(node.domain));
  if (node.kind === 'sessions') work.push(loadSessions(node.computer));
  await Promise.all(work);
}
