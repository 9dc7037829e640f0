/**
 * The administrator's commands: each calls one operation of the admin API,
 * then says what happened in the status bar (or a results dialog for bulk
 * work). Commands started from a dialog throw, so the dialog can show the
 * error next to the fields; commands started from a menu show it in the
 * error bar. Nothing is swallowed.
 */

import type { AdminEvent, BulkItemResult, DirectoryPatch, DirectoryTestResult, LockResult, SessionInfo, Settings, SettingsPatch } from '../../../shared/contract.js';
import { api, localApi, remoteApi } from '../api.js';
import { failureText, lockedDomainOf, type FailedCall } from '../words/failures.js';
import { applyEvents } from './live.js';
import { loadDomains, loadInfo } from './loaders.js';
import { selectNode } from './navigation.js';
import { applyEventsToSessions } from './session-store.js';
import { openDialog, setBusy, showError, showStatus, type DeleteRequest, type ItemOutcome } from './ui-store.js';
import { useView } from './view-store.js';

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

function kindOf(targets: readonly string[]): string {
  const mailboxes = targets.filter((t) => t.includes('@')).length;
  if (mailboxes === targets.length) return 'mailbox';
  if (mailboxes === 0) return 'domain';
  return 'item';
}

function nounFor(targets: readonly string[]): string {
  const kind = kindOf(targets);
  return plural(targets.length, kind, kind === 'mailbox' ? 'mailboxes' : `${kind}s`);
}

function sessionsNote(results: readonly LockResult[]): string {
  const closed = results.reduce((n, r) => n + r.sessionsClosed, 0);
  return closed > 0 ? ` Closed ${plural(closed, 'open POP3 session')}.` : '';
}

function describeResult(result: LockResult): string {
  const state = result.locked ? 'locked' : 'unlocked';
  return result.changed ? (result.locked ? 'Locked' : 'Unlocked') : `Already ${state}`;
}

async function lockOrUnlock(verb: 'Lock' | 'Unlock', targets: readonly string[], reason?: string): Promise<void> {
  if (targets.length === 0) return;
  const ing = verb === 'Lock' ? 'Locking' : 'Unlocking';
  const done = verb === 'Lock' ? 'Locked' : 'Unlocked';
  setBusy(`${ing} ${targets.length === 1 ? targets[0] : nounFor(targets)}…`);
  try {
    if (targets.length === 1) {
      const target = targets[0] as string;
      const result =
        verb === 'Lock'
          ? await api().lock({ target, ...(reason ? { reason } : {}) })
          : await api().unlock({ target });
      // The view changes with the service's own locked/unlocked event, which comes in the order the
      // changes took effect; a reply can arrive after the event of another admin's later change.
      showStatus(result.changed ? `${done} ${result.target}.${sessionsNote([result])}` : `${result.target} was already ${done.toLowerCase()}.`);
      return;
    }
    const results: BulkItemResult[] =
      verb === 'Lock'
        ? await api().lockMany({ targets: [...targets], ...(reason ? { reason } : {}) })
        : await api().unlockMany({ targets: [...targets] });
    const ok = results.flatMap((r) => (r.ok ? [r.result] : []));
    const failed = results.length - ok.length;
    const summary =
      failed === 0
        ? `${done} ${nounFor(targets)}.${sessionsNote(ok)}`
        : `${done} ${ok.length.toLocaleString('en-US')} of ${nounFor(targets)}; ${failed.toLocaleString('en-US')} failed.${sessionsNote(ok)}`;
    showStatus(summary, failed === 0 ? 'info' : 'error');
    if (failed > 0) {
      const items: ItemOutcome[] = results.map((r) =>
        r.ok
          ? { target: r.target, ok: true, detail: describeResult(r.result) }
          : { target: r.target, ok: false, detail: failureText(r.error, { op: verb === 'Lock' ? 'lock' : 'unlock', target: r.target }) },
      );
      openDialog({ kind: 'bulkResults', title: `${verb} results`, summary, items });
    }
  } catch (err) {
    const call: FailedCall = { op: verb === 'Lock' ? 'lock' : 'unlock', ...(targets.length === 1 ? { target: targets[0] } : {}) };
    const domain = lockedDomainOf(err, call);
    showError(`${verb} failed: ${failureText(err, call)}`, domain ? { label: 'Unlock domain', run: () => void unlockTargets([domain]) } : undefined);
  } finally {
    setBusy(null);
  }
}

/** Locks mailboxes or domains: one call for one target, `lockMany` for several. */
export function lockTargets(targets: readonly string[], reason?: string): Promise<void> {
  return lockOrUnlock('Lock', targets, reason);
}

/** Unlocks mailboxes or domains: one call for one target, `unlockMany` for several. */
export function unlockTargets(targets: readonly string[]): Promise<void> {
  return lockOrUnlock('Unlock', targets);
}

/** A session as the status line names it: its mailbox (or that it had not logged in) and its client. */
function sessionWords(s: SessionInfo): string {
  return `${s.address ?? 'a connection not logged in'} (${s.client})`;
}

/**
 * Ends POP3 sessions of this computer (no `computer`) or another one, one
 * call each: closed as a lock closes them, their deletions discarded. One
 * that ended meanwhile counts as ended.
 */
export async function endSessions(computer: string | undefined, sessions: readonly SessionInfo[]): Promise<void> {
  if (sessions.length === 0) return;
  const call = computer === undefined ? localApi() : remoteApi(computer);
  setBusy(`Ending ${sessions.length === 1 ? `the session of ${sessionWords(sessions[0] as SessionInfo)}` : plural(sessions.length, 'session')}…`);
  const gone: AdminEvent[] = [];
  const failed: ItemOutcome[] = [];
  let alreadyEnded = 0;
  try {
    for (const session of sessions) {
      try {
        await call.endSession({ id: session.id });
      } catch (err) {
        if ((err as { code?: unknown } | null)?.code === 'NOT_FOUND') alreadyEnded++;
        else {
          failed.push({ target: sessionWords(session), ok: false, detail: failureText(err, { op: 'endSession' }) });
          continue;
        }
      }
      // Gone from the list at once; the service's own event says the same.
      gone.push({ type: 'sessionChanged', id: session.id, session: null });
    }
  } finally {
    setBusy(null);
  }
  applyEventsToSessions(computer, gone);
  const ended = gone.length - alreadyEnded;
  const note = alreadyEnded > 0 ? ` ${plural(alreadyEnded, 'session')} had ended already.` : '';
  if (failed.length === 0) {
    const what = sessions.length === 1 ? `the session of ${sessionWords(sessions[0] as SessionInfo)}` : plural(ended, 'session');
    showStatus(ended > 0 ? `Ended ${what}; nothing it had marked for deletion was deleted.${note}` : `The session had ended already.`);
  } else {
    const summary = `Ended ${plural(ended, 'session')} of ${sessions.length}; ${failed.length} failed.${note}`;
    if (sessions.length === 1) showError(`Could not end the session of ${sessionWords(sessions[0] as SessionInfo)}: ${failed[0]?.detail}`);
    else {
      showStatus(summary, 'error');
      openDialog({ kind: 'bulkResults', title: 'End Session results', summary, items: failed });
    }
  }
}

/** Runs a call for a dialog: a failure is thrown again in the console's words, for the dialog to show. */
async function forDialog<T>(call: FailedCall, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw Object.assign(new Error(failureText(err, call)), { code: (err as { code?: unknown } | null)?.code });
  }
}

/** Adds a domain and selects it; throws for the dialog to show. */
export async function addDomain(domain: string): Promise<void> {
  const summary = await forDialog({ op: 'addDomain', target: domain }, () => api().addDomain({ domain }));
  applyEvents([{ type: 'domainAdded', domain: summary.name }]);
  await loadDomains();
  showStatus(`Added the domain ${summary.name}.`);
}

/** Adds a mailbox with its password; throws for the dialog to show. */
export async function addMailbox(address: string, password: string | undefined): Promise<void> {
  const summary = await forDialog({ op: 'addMailbox', target: address }, () => api().addMailbox({ address, ...(password === undefined ? {} : { password }) }));
  applyEvents([{ type: 'mailboxAdded', address: summary.address }]);
  showStatus(`Added the mailbox ${summary.address}.`);
}

/** Sets a mailbox's password; throws for the dialog to show. */
export async function changePassword(address: string, password: string): Promise<void> {
  const result = await forDialog({ op: 'changePassword', target: address }, () => api().changePassword({ address, password }));
  showStatus(`Changed the password of ${result.address}.`);
}

/** Deletes domains or mailboxes one by one; a failure stops nothing else and is listed. */
export async function deleteTargets(request: DeleteRequest): Promise<void> {
  const targets = request.kind === 'domain' ? request.domains : request.addresses;
  const items: ItemOutcome[] = [];
  const events: AdminEvent[] = [];
  setBusy(`Deleting ${targets.length === 1 ? targets[0] : nounFor(targets)}…`);
  try {
    for (const target of targets) {
      try {
        if (request.kind === 'domain') {
          const result = await api().deleteDomain({ domain: target });
          events.push({ type: 'domainRemoved', domain: result.domain });
        } else {
          const result = await api().deleteMailbox({ address: target });
          events.push({ type: 'mailboxRemoved', address: result.address });
        }
        items.push({ target, ok: true, detail: 'Deleted' });
      } catch (err) {
        items.push({ target, ok: false, detail: failureText(err, { op: request.kind === 'domain' ? 'deleteDomain' : 'deleteMailbox', target }) });
      }
    }
  } finally {
    setBusy(null);
  }
  applyEvents(events);
  const node = useView.getState().node;
  if (request.kind === 'domain' && node.kind === 'domain' && request.domains.includes(node.domain) && events.length > 0) {
    selectNode({ kind: 'computer' });
  }
  const failed = items.filter((i) => !i.ok);
  if (failed.length === 0) {
    showStatus(`Deleted ${targets.length === 1 ? targets[0] : nounFor(targets)}.`);
  } else if (targets.length === 1) {
    showError(`Could not delete ${targets[0]}: ${failed[0]?.detail}`);
  } else {
    const summary = `Deleted ${items.length - failed.length} of ${nounFor(targets)}; ${failed.length} failed.`;
    showStatus(summary, 'error');
    openDialog({ kind: 'bulkResults', title: 'Delete results', summary, items });
  }
}

/** Reads the server settings; throws for the dialog to show. */
export function fetchSettings(): Promise<Settings> {
  return forDialog({ op: 'getSettings' }, () => api().getSettings({}));
}

/** Tries directory settings as typed (not saved yet); throws for the dialog to show. */
export function testDirectory(directory: DirectoryPatch, bindPassword: string, address: string): Promise<DirectoryTestResult> {
  return forDialog({ op: 'testDirectory' }, () =>
    api().testDirectory({ directory, ...(bindPassword === '' ? {} : { bindPassword }), ...(address.trim() === '' ? {} : { address: address.trim() }) }),
  );
}

/** Saves changed server settings; throws for the dialog to show. */
export async function saveSettings(patch: SettingsPatch): Promise<Settings> {
  const settings = await forDialog({ op: 'setSettings' }, () => api().setSettings({ patch }));
  void loadInfo();
  showStatus('Saved the server properties.');
  return settings;
}
