/**
 * The primary's worker processes: started with node:cluster, which binds the
 * listening sockets in the primary and hands each worker connections in turn
 * (round-robin on Linux and macOS; on Node 20 there is no reusePort).
 *
 * The pool is the primary's view of its workers as one service:
 * - a kick (lock, password change, deletion) goes to every worker and the
 *   closed sessions are summed (`closeSessions`);
 * - session events and store changes from the workers come out of `onEvent`
 *   once each; a worker that dies has its open sessions announced closed.
 *   Session events are sent only while someone subscribes (`watched`): with
 *   nobody to see them they were half of a session's messages to the
 *   primary, each one costing both processes a wake-up;
 * - per-process questions go to all of them at once (`askAll`, see
 *   worker-operations.ts for how to add one);
 * - a worker that dies is logged and replaced (restart-backoff.ts), while the
 *   others keep serving; the store is crash-safe, so nothing it acknowledged
 *   is lost and nothing half-written becomes visible.
 */

import { randomBytes } from 'node:crypto';
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { AdminEvent, ListenerStatus, SessionInfo, Settings, WorkerStatus } from '../../../shared/contract.js';
import { sessionOwnerPid } from '../../../shared/session-id.js';
import type { LockTarget } from '../../../shared/lock-rule.js';
import type { SessionControl } from '../admin/admin-service.js';
import type { Logger } from '../log.js';
import { mergeCounterSnapshots, type CounterSnapshot } from '../observe/counters.js';
import { RequestChannel, type Peer } from './request-channel.js';
import { RestartBackoff } from './restart-backoff.js';
import { SharedLimitsHost } from './shared-limits-host.js';
import type { WorkerAnswer, WorkerOperationName, WorkerOperations } from './worker-operations.js';
import { isFromWorker, WORKER_INIT_ENV, type FromWorker, type WorkerInit } from './worker-protocol.js';

/** A request's answer is waited for this long; a kick is answered in well under a millisecond by a live worker. */
const REQUEST_TIMEOUT_MS = 2000;
/** A worker gets this long to close its sessions and its store when stopping, then it is killed. */
const STOP_GRACE_MS = 15_000;

export interface WorkerPoolOptions {
  readonly count: number;
  /** What each worker starts with; the settings are kept current for replacements. */
  readonly init: Omit<WorkerInit, 'watched'>;
  readonly log: Logger;
  /** A session event or store change from a worker. */
  readonly onEvent: (event: AdminEvent) => void;
}

export interface WorkerReadyPorts {
  readonly pop3: number | null;
  readonly smtp: number | null;
  readonly pop3s: number | null;
}

export interface WorkerPool extends SessionControl {
  /** The POP3, SMTP and POP3S listeners as the first worker to be ready bound them. */
  readonly listeners: readonly ListenerStatus[];
  readonly ports: WorkerReadyPorts;
  /** Kicks the target's sessions in every worker; resolves to the number closed in all of them. */
  closeSessions(target: LockTarget, reason: string): Promise<number>;
  /** Every worker's open sessions, oldest first. */
  listSessions(domain?: string): Promise<SessionInfo[]>;
  /** Ends a session in the worker whose pid its id names; null when that worker is gone or has no such session. */
  endSession(id: string, reason: string): Promise<SessionInfo | null>;
  /** Asks every live worker; one answer per worker, failed ones included (ok: false). */
  askAll<K extends WorkerOperationName>(op: K, args: WorkerOperations[K]['args']): Promise<WorkerAnswer<WorkerOperations[K]['result']>[]>;
  /** The live workers and their connections as last reported. */
  statuses(): WorkerStatus[];
  /**
   * Each live worker's counters as last reported (at most a second old), and
   * one more: the sum of the last reports of the workers that died, so the
   * service's totals never go down when a worker does (Prometheus would take
   * a drop for a restart).
   */
  counterSnapshots(): CounterSnapshot[];
  /** Asks every worker for its connection count now (for `serverInfo`). */
  refreshCounts(): Promise<void>;
  settingsChanged(settings: Settings): void;
  /** Stops every worker (each ends its sessions and closes its store) and no longer replaces any. */
  stop(): Promise<void>;
}

interface Member extends Peer {
  readonly worker: Worker;
  readonly started: Date;
  /** Its request handler is in place: it is asked from now on, also before it listens. */
  answering: boolean;
  ready: boolean;
  sessions: number;
  counters?: CounterSnapshot;
  /** Its logged-in sessions, announced closed for it if it dies. */
  readonly open: { address: string; remote: string }[];
  /** The ids of its sessions (greeted, logged in or not), announced gone for it if it dies. */
  readonly ids: Set<string>;
}

const workerEntry = (): string => fileURLToPath(new URL('./worker-main.js', import.meta.url));

/** Starts `count` workers and resolves once each is listening or has failed; rejects when none could start. */
export async function startWorkerPool(options: WorkerPoolOptions): Promise<WorkerPool> {
  const { log, count } = options;
  /** Its `watched`: someone subscribes to the service's events, so the workers send their session events. */
  let init: WorkerInit = { ...options.init, watched: false };
  /** The key of the workers' shared verified-password cache (store/verified-cache.ts). */
  const verifiedKey = randomBytes(32);
  const channel = new RequestChannel();
  /** The service's limits, which every worker asks (shared-limits-host.ts). */
  const limits = new SharedLimitsHost();
  const members = new Map<number, Member>();
  const backoff = new RestartBackoff({ free: count });
  const restartTimers = new Set<NodeJS.Timeout>();
  let stopping = false;
  let first: { listeners: readonly ListenerStatus[]; ports: WorkerReadyPorts } | undefined;
  /** The dead workers' counters, folded together; their sessions are gone, their counts stay. */
  let retired: CounterSnapshot | undefined;

  cluster.setupPrimary({ exec: workerEntry(), args: [], silent: false });

  const onMessage = (m: Member, message: FromWorker): void => {
    switch (message.t) {
      case 'answering':
        m.answering = true;
        // Only now: a message that reaches a worker before its handler is in place is lost. Before it listens, too.
        m.send({ t: 'verifiedKey', key: verifiedKey.toString('base64') });
        m.send({ t: 'watch', sessions: init.watched });
        return;
      case 'ready':
        m.ready = true;
        if (first !== undefined) {
          // A replacement binds what the first workers bound; on free ports (0) after every worker died, it gets new ones.
          const down = message.listeners.filter((l) => !l.listening);
          if (down.length > 0) log.error('a replacement worker process could not listen', { pid: m.pid, errors: down.map((l) => l.error).join(' | ') });
        }
        first ??= { listeners: message.listeners, ports: message.ports };
        m.worker.emit('winpop-ready');
        return;
      case 'sessions':
        m.sessions = message.count;
        return;
      case 'counters':
        m.counters = message.snapshot;
        return;
      case 'verified':
        for (const other of members.values()) if (other !== m) other.send({ t: 'verified', entry: message.entry });
        return;
      case 'reply':
        channel.settle(message.id, message.ok ? { ok: true, value: message.value } : { ok: false, error: message.error });
        return;
      case 'ask': {
        const { id } = message;
        const answer = (value: unknown): boolean => m.send({ t: 'answer', id, ok: true, value });
        const fail = (err: unknown): boolean => m.send({ t: 'answer', id, ok: false, error: err instanceof Error ? err.message : String(err) });
        try {
          if (message.notes !== undefined) limits.tell(m.id, message.notes);
          const value = limits.ask(m.id, id, message.op, message.args);
          // Most answers are ready at once and go back without a turn of the event loop.
          if (value instanceof Promise) value.then(answer, fail);
          else answer(value);
        } catch (err) {
          fail(err);
        }
        return;
      }
      case 'cancel':
        limits.cancel(m.id, message.id);
        return;
      case 'tell':
        limits.tell(m.id, message.notes);
        return;
      case 'event': {
        const e = message.event;
        // Sent before the worker heard that nobody watches any more: nobody is left to tell.
        if (!init.watched && (e.type === 'sessionChanged' || e.type === 'sessionOpened' || e.type === 'sessionClosed')) return;
        if (e.type === 'sessionChanged') {
          if (e.session === null) m.ids.delete(e.id);
          else m.ids.add(e.id);
        } else if (e.type === 'sessionOpened') m.open.push({ address: e.address, remote: e.remote });
        else if (e.type === 'sessionClosed') {
          const at = m.open.findIndex((s) => s.address === e.address && s.remote === e.remote);
          if (at >= 0) m.open.splice(at, 1);
        }
        options.onEvent(e);
        return;
      }
    }
  };

  const onExit = (m: Member, code: number | null, signal: string | null): void => {
    members.delete(m.id);
    channel.peerGone(m.id);
    const givenBack = limits.workerGone(m.id);
    if (givenBack.pop3Connections + givenBack.pop3Sessions + givenBack.smtpConnections + givenBack.loginTurns > 0) {
      log.info('limits held by the ended worker process given back', { pid: m.pid, ...givenBack });
    }
    if (m.counters !== undefined) {
      const last: CounterSnapshot = { ...m.counters, sessionsCurrent: 0, processes: 0 };
      retired = retired === undefined ? last : mergeCounterSnapshots(retired, last);
    }
    // Its sessions ended with it: the subscribers hear so, as if each had closed.
    for (const s of m.open.splice(0)) options.onEvent({ type: 'sessionClosed', address: s.address, remote: s.remote, reason: 'worker process ended' });
    for (const id of m.ids) options.onEvent({ type: 'sessionChanged', id, session: null });
    m.ids.clear();
    if (stopping) return;
    const delayMs = backoff.death(Date.now());
    log.error('worker process ended unexpectedly; starting a replacement', {
      pid: m.pid,
      code,
      signal,
      workers: members.size,
      ...(delayMs > 0 ? { delayMs, why: 'workers are dying in a loop' } : {}),
    });
    const timer = setTimeout(() => {
      restartTimers.delete(timer);
      if (!stopping) void fork();
    }, delayMs);
    restartTimers.add(timer);
  };

  /** Starts one worker; resolves when it is listening, or when it ended before (false). */
  const fork = (): Promise<boolean> => {
    const env: Record<string, string> = { [WORKER_INIT_ENV]: JSON.stringify(init) };
    // Under Electron the binary is Node only with this variable (the console passes no workers, but a test or tool might).
    if (process.versions.electron !== undefined) env.ELECTRON_RUN_AS_NODE = '1';
    const worker = cluster.fork(env);
    const pid = worker.process.pid ?? -1;
    const m: Member = {
      id: worker.id,
      pid,
      worker,
      started: new Date(),
      answering: false,
      ready: false,
      sessions: 0,
      open: [],
      ids: new Set(),
      send: (message) => worker.isConnected() && worker.send(message),
    };
    members.set(m.id, m);
    worker.on('message', (message: unknown) => {
      if (isFromWorker(message)) onMessage(m, message);
    });
    // A send to a worker that just died fails here rather than as an uncaught error.
    worker.on('error', (err) => log.warn('worker process channel error', { pid, error: err.message }));
    return new Promise<boolean>((resolve) => {
      worker.once('winpop-ready', () => {
        log.info('worker process ready', { pid });
        resolve(true);
      });
      worker.once('exit', (code, signal) => {
        resolve(false);
        onExit(m, code, signal);
      });
    });
  };

  const started = await Promise.all(Array.from({ length: count }, () => fork()));
  if (!started.some(Boolean) || first === undefined) {
    stopping = true;
    for (const timer of restartTimers) clearTimeout(timer);
    await Promise.all([...members.values()].map((m) => stopMember(m)));
    throw new Error('No worker process could start (their errors are above). Fix the cause, or run in one process: pop3svc --workers 1.');
  }
  const ready = first;
  log.info('worker processes serving', { workers: members.size });

  const live = (): Member[] => [...members.values()].filter((m) => m.ready);
  /**
   * Asked: every worker whose handler is in place, a replacement still
   * starting included. It sent 'answering' before it listened, so a session
   * it holds cannot have logged in unseen by a kick (its log-in read the
   * lock from disk after the primary had written it, or the kick reaches it).
   */
  const asked = (): Member[] => [...members.values()].filter((m) => m.answering);

  const askAll = <K extends WorkerOperationName>(op: K, args: WorkerOperations[K]['args']): Promise<WorkerAnswer<WorkerOperations[K]['result']>[]> =>
    channel.ask<WorkerOperations[K]['result']>(asked(), op, args, REQUEST_TIMEOUT_MS);

  async function stopMember(m: Member): Promise<void> {
    if (m.worker.isDead()) return;
    const exited = new Promise<void>((resolve) => m.worker.once('exit', () => resolve()));
    if (!m.send({ t: 'stop' })) m.worker.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      log.warn('worker process did not stop in time; killing it', { pid: m.pid });
      m.worker.process.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  return {
    listeners: ready.listeners,
    ports: ready.ports,

    async closeSessions(target, reason) {
      const answers = await askAll('closeSessions', { target, reason });
      let closed = 0;
      for (const a of answers) {
        if (a.ok) closed += a.value;
        else log.warn('a worker process could not close sessions', { error: a.error });
      }
      return closed;
    },

    async listSessions(domain) {
      const answers = await askAll('listSessions', domain === undefined ? {} : { domain });
      const rows = answers.flatMap((a) => (a.ok ? a.value : []));
      return rows.sort((a, b) => (a.since < b.since ? -1 : a.since > b.since ? 1 : 0));
    },

    async endSession(id, reason) {
      const owner = [...members.values()].find((m) => m.answering && m.pid === sessionOwnerPid(id));
      if (owner === undefined) return null;
      const [answer] = await channel.ask<SessionInfo | null>([owner], 'endSession', { id, reason }, REQUEST_TIMEOUT_MS);
      if (answer?.ok) return answer.value;
      log.warn('a worker process could not end a session', { id, error: answer?.error });
      return null;
    },

    sessionCount() {
      return live().reduce((sum, m) => sum + m.sessions, 0);
    },

    askAll,

    statuses() {
      return live().map((m) => ({ pid: m.pid, sessions: m.sessions, started: m.started.toISOString() }));
    },

    counterSnapshots() {
      const reports = live().flatMap((m) => (m.counters ? [m.counters] : []));
      return retired === undefined ? reports : [...reports, retired];
    },

    watched(on) {
      if (on === init.watched) return;
      init = { ...init, watched: on };
      for (const m of members.values()) {
        m.open.length = 0;
        m.ids.clear();
        m.send({ t: 'watch', sessions: on });
      }
      if (on) {
        // The sessions already open, for announcing them closed should their worker die. Each worker
        // answers after the events it sends from now on, so its answer is the newer state.
        for (const m of asked()) {
          void channel.ask<SessionInfo[]>([m], 'listSessions', {}, REQUEST_TIMEOUT_MS).then(([answer]) => {
            if (!init.watched || !answer?.ok || members.get(m.id) !== m) return;
            m.ids.clear();
            for (const s of answer.value) m.ids.add(s.id);
            m.open.splice(0, m.open.length, ...answer.value.flatMap((s) => (s.address === null ? [] : [{ address: s.address, remote: s.client }])));
          });
        }
      }
    },

    async refreshCounts() {
      const peers = live();
      const answers = await channel.ask<number>(peers, 'sessionCount', {}, REQUEST_TIMEOUT_MS);
      answers.forEach((a, i) => {
        const m = peers[i];
        if (a.ok && m) m.sessions = a.value;
      });
    },

    settingsChanged(changed) {
      // What applies at the next start stays as this run started, for replacements too.
      const pinned = init.settings;
      const settings: Settings = { ...changed, mailroot: pinned.mailroot, listen: pinned.listen, tlsCertFile: pinned.tlsCertFile, tlsKeyFile: pinned.tlsKeyFile };
      init = { ...init, settings };
      for (const m of members.values()) m.send({ t: 'settings', settings });
    },

    async stop() {
      stopping = true;
      for (const timer of restartTimers) clearTimeout(timer);
      restartTimers.clear();
      await Promise.all([...members.values()].map((m) => stopMember(m)));
    },
  };
}
