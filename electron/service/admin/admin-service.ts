/**
 * The admin operations of the contract, over one store.
 *
 * Whoever calls (the console over IPC, `winpop` over the control channel or
 * directly on the store, a test) reaches these same functions. Each change is
 * written to the store first, then enforced (sessions closed) and announced,
 * then audited, so that when a lock call returns no new log-in can succeed.
 * A lock or unlock reads, decides, writes, closes and announces in one step
 * of the store (changeLock), so concurrent calls never lose one another.
 */

import { EventEmitter } from 'node:events';
import {
  AUTH_METHODS,
  PASSWORD_FILE_AUTH,
  type AdminApi,
  type AdminEvent,
  type Args,
  type BulkItemResult,
  type LockInfo,
  type LockResult,
  type OperationName,
  type Result,
  type CountersReport,
  type ServerInfo,
  type SessionInfo,
  type StatResult,
} from '../../../shared/contract.js';
import { AdminError, toErrorShape } from '../../../shared/errors.js';
import { lockClosesSessions, type LockTarget } from '../../../shared/lock-rule.js';
import { toMailboxTable } from '../../../shared/mailbox-table.js';
import { normalizeDomain, parseAddress, parseTarget } from '../../../shared/names.js';
import { validateArgs } from '../../../shared/validate.js';
import { authMethodProblem } from '../auth/authorities.js';
import { probeDirectory } from '../auth/directory-probe.js';
import { openDirectorySecret, type DirectorySecret } from '../auth/directory-secret.js';
import type { Logger } from '../log.js';
import type { SettingsHolder } from '../settings-holder.js';
import { appendAudit } from '../store/audit-log.js';
import type { AdminStorePort } from '../store/types.js';

/**
 * What the POP3 listener offers the admin layer; absent when no listener runs
 * in this process. With worker processes (workers/worker-pool.ts) the
 * sessions are elsewhere and the answer comes back asynchronously: it has been
 * decided by the time the promise resolves.
 */
export interface SessionControl {
  closeSessions(target: LockTarget, reason: string): number | Promise<number>;
  sessionCount(): number;
  /*
   * listSessions and endSession: the POP3 listener of this process answers
   * them from its own sessions (pop3/live-sessions.ts). With POP3 on worker
   * processes, the primary passes a SessionControl whose listSessions asks
   * every worker and concatenates their rows (sorted by `since`), and whose
   * endSession sends the call to the worker whose pid is the id's first part
   * (`sessionOwnerPid` in shared/session-id.ts), null when that worker is
   * gone or says null. Both may answer with a promise for that.
   */
  /** The open sessions, oldest first; with a domain (lower case), those logged in to one of its mailboxes. */
  listSessions?(domain?: string): SessionInfo[] | Promise<SessionInfo[]>;
  /** Ends one session, deletions discarded; its row, or null when no such session is open. */
  endSession?(id: string, reason: string): SessionInfo | null | Promise<SessionInfo | null>;
  /**
   * Whether anyone listens for events (a console, `winpop watch`): with
   * worker processes, session events cross a process boundary for each
   * session, which is worth it only while somebody is there to see them.
   */
  watched?(on: boolean): void;
}

export interface AdminDeps {
  readonly store: AdminStorePort;
  readonly settings: SettingsHolder;
  /** Asynchronous where the sessions are counted in worker processes. */
  readonly info: () => ServerInfo | Promise<ServerInfo>;
  readonly log: Logger;
  readonly sessions?: SessionControl;
  /** The directory service account's password; the store's own when not given (the service passes the one its log-ins use). */
  readonly directorySecret?: DirectorySecret;
  /** What the service counted; absent where no listener runs (the store opened directly). */
  readonly counters?: () => CountersReport;
}

/** Who calls, beyond the name it claims. */
export interface Caller {
  /**
   * The caller's OS user id, recorded with each audit line: this process's
   * own when not given (an in-process caller), null when it cannot be known.
   */
  readonly uid?: number | null;
  /**
   * The client's address (`host:port`) when the call came over the admin
   * endpoint, for the audit log and the service log; absent for local callers.
   */
  readonly remote?: string;
}

export interface AdminService {
  /** The contract's operations, acting (for the audit log) as the given OS user. */
  forActor(actor: string, caller?: Caller): AdminApi;
  /** Announces an event from elsewhere in the service (POP3 sessions, the store). */
  emit(event: AdminEvent): void;
  /**
   * Hears every event, for the service's own parts; returns the unsubscribe.
   * Unlike a client's `onEvent`, it does not make the store follow the
   * domains a console shows.
   */
  onServiceEvent(listener: (event: AdminEvent) => void): () => void;
}

const LOCK_CLOSE_REASON = 'locked by the administrator';
const PASSWORD_CLOSE_REASON = 'password changed by the administrator';
const END_SESSION_REASON = 'ended by the administrator';
/** Domains whose mailbox table was fetched last (a console's open view) that the store follows for other programs' mail. */
const VIEWED_DOMAINS = 2;

type Handlers = { [K in OperationName]: (args: Args<K>) => Promise<Result<K>> };

/** Operations that change nothing; they are not audited. */
const READ_ONLY: ReadonlySet<OperationName> = new Set(['serverInfo', 'listDomains', 'listMailboxes', 'listMailboxTable', 'stat', 'getSettings', 'counters', 'listSessions', 'testDirectory']);

/** An actor name as the audit log and lock records keep it: printable ASCII, at most 64 characters. */
export function cleanActor(actor: string): string {
  const printable = actor.replace(/[^\x21-\x7e]/g, '').slice(0, 64);
  return printable || 'unknown';
}

export function createAdminService(deps: AdminDeps): AdminService {
  const { store, settings, log } = deps;
  const directorySecret = deps.directorySecret ?? openDirectorySecret(store.root);
  const events = new EventEmitter();
  events.setMaxListeners(0);

  const emit = (event: AdminEvent): void => {
    events.emit('event', event);
  };

  store.onChange((change) => emit(change));

  /**
   * The domains a console shows: those whose mailbox table was fetched last.
   * The store follows them for mail other programs deliver while anyone
   * listens for events (a console), and stops when the last one leaves.
   */
  const viewed: string[] = [];
  /** Clients listening for events (a console): the service's own listeners are not counted. */
  let clients = 0;
  const follow = (): void => store.followDomains(clients > 0 ? viewed : []);
  const viewing = (domain: string): void => {
    const at = viewed.indexOf(domain);
    if (at === 0) return;
    if (at > 0) viewed.splice(at, 1);
    viewed.unshift(domain);
    viewed.length = Math.min(viewed.length, VIEWED_DOMAINS);
    follow();
  };

  const closeSessions = (target: LockTarget, reason: string): number | Promise<number> =>
    deps.sessions?.closeSessions(target, reason) ?? 0;

  /**
   * Locks or unlocks one target as one step of the store (changeLock).
   * Inside that step, after the write: a lock closes the target's sessions
   * (also when it was locked already: a lock promises that nobody is logged
   * in), and a change is announced. So the reply never leaves before the
   * sessions are closed, no later unlock can come between, and events come
   * out in the order the changes took effect.
   */
  async function changeLock(text: string, lock: LockInfo | null): Promise<LockResult> {
    const parsed = parseTarget(text);
    const target: LockTarget = parsed.kind === 'domain' ? { domain: parsed.domain } : { address: parsed.address };
    const name = parsed.kind === 'domain' ? parsed.domain : parsed.address;
    // Started inside the step (with worker processes: the kick is on its way to each before the step ends), awaited before the reply.
    let closing: number | Promise<number> = 0;
    const update = await store.changeLock(target, lock, ({ after, changed }) => {
      if (lockClosesSessions(after)) closing = closeSessions(target, LOCK_CLOSE_REASON);
      if (!changed) return;
      emit(after === null ? { type: 'unlocked', target: name, kind: parsed.kind } : { type: 'locked', target: name, kind: parsed.kind, lock: after });
    });
    const sessionsClosed = await closing;
    return { target: name, kind: parsed.kind, locked: update.after !== null, changed: update.changed, lock: update.after, sessionsClosed, serial: update.serial };
  }

  const lockTarget = (actor: string, text: string, reason: string | undefined): Promise<LockResult> =>
    changeLock(text, { by: actor, at: new Date().toISOString(), ...(reason ? { reason } : {}) });
  const unlockTarget = (text: string): Promise<LockResult> => changeLock(text, null);

  async function each(targets: readonly string[], run: (target: string) => Promise<LockResult>): Promise<BulkItemResult[]> {
    const results: BulkItemResult[] = [];
    for (const target of targets) {
      try {
        results.push({ target, ok: true, result: await run(target) });
      } catch (err) {
        results.push({ target, ok: false, error: toErrorShape(err) });
      }
    }
    return results;
  }

  async function stat(domain: string | undefined): Promise<StatResult> {
    const domains = domain === undefined ? await store.listDomains() : [await store.getDomain(normalizeDomain(domain))];
    const totals = { domains: domains.length, mailboxes: 0, messages: 0, bytes: 0 };
    for (const d of domains) {
      totals.mailboxes += d.mailboxes;
      totals.messages += d.messages;
      totals.bytes += d.bytes;
    }
    return { domains, totals };
  }

  function handlersFor(actor: string): Handlers {
    return {
      serverInfo: async () => deps.info(),
      listDomains: () => store.listDomains(),
      listMailboxes: ({ domain }) => store.listMailboxes(normalizeDomain(domain)),
      listMailboxTable: async ({ domain }) => {
        const name = normalizeDomain(domain);
        // A console follows events: a big domain is shown at once and what its check finds comes after.
        const rows = await store.listMailboxes(name, { checkAfter: true });
        viewing(name);
        // The rows say whether the domain was locked (or damaged) when they were listed; an empty domain has only its summary to ask.
        const first = rows[0];
        if (first) return toMailboxTable(name, first.domainLocked, rows, first.domainProblem);
        const summary = await store.getDomain(name);
        return toMailboxTable(name, summary.lock !== null, rows, summary.problem);
      },
      addDomain: async ({ domain }) => {
        const summary = await store.addDomain(normalizeDomain(domain));
        emit({ type: 'domainAdded', domain: summary.name });
        return summary;
      },
      deleteDomain: async ({ domain }) => {
        const name = normalizeDomain(domain);
        // No summary first: deleting is also the way out for a domain whose state file is damaged; the store says NOT_FOUND.
        await closeSessions({ domain: name }, 'domain deleted by the administrator');
        await store.deleteDomain(name);
        emit({ type: 'domainRemoved', domain: name });
        return { domain: name };
      },
      addMailbox: async ({ address, password }) => {
        const parsed = parseAddress(address);
        const { auth } = settings.get();
        if (auth === PASSWORD_FILE_AUTH && password === undefined) {
          throw new AdminError('INVALID_ARGUMENT', `addMailbox: a password is needed with the ${AUTH_METHODS[PASSWORD_FILE_AUTH]} method.`);
        }
        if (auth !== PASSWORD_FILE_AUTH && password !== undefined) {
          throw new AdminError('INVALID_ARGUMENT', `addMailbox: no password with the ${AUTH_METHODS[auth]} method: ${parsed.address} logs in with its password there. Add the mailbox without one.`);
        }
        const summary = await store.addMailbox(parsed.address, password ?? null);
        emit({ type: 'mailboxAdded', address: summary.address });
        return summary;
      },
      deleteMailbox: async ({ address }) => {
        const parsed = parseAddress(address);
        // No summary first: deleting is also the way out for a mailbox whose state file is damaged; the store says NOT_FOUND.
        await closeSessions({ address: parsed.address }, 'mailbox deleted by the administrator');
        await store.deleteMailbox(parsed.address);
        emit({ type: 'mailboxRemoved', address: parsed.address });
        return { address: parsed.address };
      },
      changePassword: async ({ address, password }) => {
        const parsed = parseAddress(address);
        const { auth } = settings.get();
        if (auth !== PASSWORD_FILE_AUTH) {
          const where = auth === 2 ? 'the directory' : "the system's accounts";
          throw new AdminError('NOT_ALLOWED', `Passwords live in ${where} with the ${AUTH_METHODS[auth]} method: change the password of ${parsed.address} there.`);
        }
        await store.setPassword(parsed.address, password);
        // Whoever logged in with the old password is out: the same promise as a lock's, in every process.
        await closeSessions({ address: parsed.address }, PASSWORD_CLOSE_REASON);
        emit({ type: 'passwordChanged', address: parsed.address });
        return { address: parsed.address };
      },
      lock: ({ target, reason }) => lockTarget(actor, target, reason),
      unlock: ({ target }) => unlockTarget(target),
      lockMany: ({ targets, reason }) => each(targets, (t) => lockTarget(actor, t, reason)),
      unlockMany: ({ targets }) => each(targets, unlockTarget),
      stat: ({ domain }) => stat(domain),
      getSettings: async () => settings.get(),
      listSessions: async ({ domain }) => (await deps.sessions?.listSessions?.(domain === undefined ? undefined : normalizeDomain(domain))) ?? [],
      endSession: async ({ id }) => {
        const ended = (await deps.sessions?.endSession?.(id, END_SESSION_REASON)) ?? null;
        if (ended === null) {
          const where = deps.sessions === undefined ? ' No POP3 service runs for this mail root.' : '';
          throw new AdminError('NOT_FOUND', `No open POP3 session has the id ${id}: it has ended already.${where} listSessions (winpop sessions) shows the open ones.`);
        }
        return ended;
      },
      counters: async () => {
        if (deps.counters === undefined) {
          throw new AdminError('UNAVAILABLE', 'No service is running for this mail root, so nothing is counted; start pop3svc (or the console) and ask again.');
        }
        return deps.counters();
      },
      setSettings: async ({ patch }) => {
        if (patch.auth !== undefined && patch.auth !== settings.get().auth) {
          const problem = authMethodProblem(patch.auth);
          if (problem !== null) throw new AdminError('NOT_ALLOWED', problem);
          // Each method's mailboxes differ (a password hash or none): no migration, the method is chosen before the first domain.
          if ((await store.listDomains()).length > 0) {
            throw new AdminError('NOT_ALLOWED', 'The authentication method can be changed only while no domain exists.');
          }
        }
        const { directoryBindPassword, ...rest } = patch;
        if (directoryBindPassword !== undefined) await directorySecret.set(directoryBindPassword);
        const next = await settings.update(rest);
        emit({ type: 'settingsChanged', settings: next });
        return next;
      },
      testDirectory: async ({ directory, bindPassword, address }) => {
        const saved = settings.get().directory;
        const tried = { ...saved, ...directory };
        return probeDirectory(tried, bindPassword ?? directorySecret.get(), address === undefined ? undefined : parseAddress(address));
      },
    };
  }

  /** The audit line's target for a call: what it names, without secrets. */
  function auditTarget(op: OperationName, args: Record<string, unknown>): string {
    if (typeof args.target === 'string') return args.target;
    if (typeof args.address === 'string') return args.address;
    if (typeof args.domain === 'string') return args.domain;
    if (Array.isArray(args.targets)) return args.targets.join(',').slice(0, 2000);
    if (op === 'endSession' && typeof args.id === 'string') return `session ${args.id}`;
    if (op === 'setSettings') return Object.keys((args.patch as object | undefined) ?? {}).join(',');
    return '';
  }

  function forActor(rawActor: string, caller: Caller = {}): AdminApi {
    const actor = cleanActor(rawActor);
    const uid = caller.uid === undefined ? (typeof process.getuid === 'function' ? process.getuid() : null) : caller.uid;
    const remote = caller.remote;
    const handlers = handlersFor(actor);
    const api: Record<string, unknown> = {
      onEvent(listener: (event: AdminEvent) => void) {
        events.on('event', listener);
        clients += 1;
        if (clients === 1) deps.sessions?.watched?.(true);
        follow();
        let subscribed = true;
        return () => {
          if (!subscribed) return;
          subscribed = false;
          events.off('event', listener);
          clients -= 1;
          if (clients === 0) deps.sessions?.watched?.(false);
          follow();
        };
      },
    };
    for (const op of Object.keys(handlers) as OperationName[]) {
      api[op] = async (rawArgs: unknown) => {
        const args = validateArgs(op, rawArgs);
        const handler = handlers[op] as (a: typeof args) => Promise<unknown>;
        if (READ_ONLY.has(op)) return handler(args);
        const target = auditTarget(op, args as Record<string, unknown>);
        try {
          const result = await handler(args);
          await audit(actor, uid, op, target, 'ok', bulkDetail(result) ?? endedDetail(op, result), remote);
          log.info(`admin ${op}`, { actor, uid, remote, target });
          return result;
        } catch (err) {
          const shape = toErrorShape(err);
          await audit(actor, uid, op, target, 'error', shape.message, remote);
          log.warn(`admin ${op} failed`, { actor, uid, remote, target, error: shape.message });
          throw err instanceof AdminError ? err : new AdminError(shape.code === 'INTERNAL' ? 'STORE_ERROR' : shape.code, shape.message);
        }
      };
    }
    return api as AdminApi;
  }

  async function audit(actor: string, uid: number | null, op: string, target: string, result: 'ok' | 'error', detail?: string, remote?: string): Promise<void> {
    try {
      await appendAudit(store.root, { actor, ...(uid === null ? {} : { uid }), ...(remote === undefined ? {} : { remote }), op, target, result, ...(detail ? { detail } : {}) });
    } catch (err) {
      // The change itself is done; a missing audit line must be visible, not fatal.
      log.error('could not write the audit log', { op, target, error: (err as Error).message });
    }
  }

  const onServiceEvent = (listener: (event: AdminEvent) => void): (() => void) => {
    events.on('event', listener);
    return () => events.off('event', listener);
  };

  return { forActor, emit, onServiceEvent };
}

/** Whose session an endSession closed, for its audit line. */
function endedDetail(op: OperationName, result: unknown): string | undefined {
  if (op !== 'endSession') return undefined;
  const ended = result as SessionInfo;
  return `${ended.address ?? 'not logged in'} from ${ended.client}`;
}

function bulkDetail(result: unknown): string | undefined {
  if (!Array.isArray(result)) return undefined;
  const failed = (result as BulkItemResult[]).filter((r) => !r.ok).length;
  return `${result.length - failed} ok, ${failed} failed`;
}
