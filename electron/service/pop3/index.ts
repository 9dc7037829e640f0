/**
 * The POP3 listener: accepts connections within the socket limits, runs one
 * session per connection, and lets the administrator close the sessions of a
 * mailbox or domain at once (the lock).
 *
 * One listener may serve two ports: plain POP3 (with STLS) and POP3S (TLS
 * from the first byte). Both share the limits, the sessions and the log-in
 * penalty table.
 *
 * No client may starve the others: each client (an IPv4 address, an IPv6
 * /64) holds at most `connectionsPerAddress` connections, waiting or served;
 * a connection not logged in within `loginTimeoutSeconds` is closed, and one
 * waiting for a free session waits no longer than that either; password
 * checks go one at a time per client and per mailbox (login-gate.ts).
 */

import { hostname } from 'node:os';
import { createServer, type Server, type Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { SessionInfo } from '../../../shared/contract.js';
import type { LockTarget } from '../../../shared/lock-rule.js';
import type { BoundAddress } from '../listen-addresses.js';
import type { Logger } from '../log.js';
import type { Pop3StorePort } from '../store/types.js';
import { clientAddressKey } from '../client-address.js';
import { LogOnce } from '../connection-slots.js';
import { Pop3Slots, type Pop3Limits } from '../shared-limits.js';
import { processCounters } from '../observe/counters.js';
import { LoginGate, type GateOptions } from './login-gate.js';
import { LoginPenalty, type PenaltyOptions } from './login-penalty.js';
import { LiveSessions, newSessionId } from './live-sessions.js';
import { SessionRegistry } from './registry.js';
import { REPLY } from './responses.js';
import { Pop3Session, type LoginHoldForTests, type Pop3Event, type Pop3Settings } from './session.js';

export interface Pop3Options {
  store: Pop3StorePort;
  log: Logger;
  /** read per new connection / timer so settings changes apply without restart */
  settings: () => Pop3Settings;
  onEvent?: (e: { type: 'sessionOpened' | 'sessionClosed'; address: string; remote: string; reason?: string }) => void;
  /** A session was greeted or changed (`session`), or is closing (null): for the admin event `sessionChanged`. */
  onSessionChange?: (id: string, session: SessionInfo | null) => void;
  /** The host name in the greeting; the machine's name by default. */
  greeting?: string;
  /** The TLS context for STLS and POP3S; without it neither is offered. */
  tls?: SecureContext | null;
  /** The failed-log-in penalty (Dovecot's 2 s doubling to 15 s by default); tests shorten it. */
  penalty?: Partial<PenaltyOptions>;
  /** The lines of log-in attempts (login-gate.ts); tests shorten them. */
  gate?: Partial<GateOptions>;
  /**
   * The connection caps and the log-in gate when they are kept for a whole
   * service of several processes (workers/remote-limits.ts); without it this
   * listener keeps its own, and `penalty` and `gate` shape them.
   */
  limits?: Pop3Limits;
  /**
   * Test-only, never set by the product: awaited by a log-in whose password
   * was right, after the check and again after the maildrop claim, so that a
   * test lands a lock at exactly that point instead of by timing.
   */
  loginHoldForTests?: LoginHoldForTests;
}

/** Options of one bound address. */
export interface ListenOptions {
  /** For `::`: IPv6 only, so that 0.0.0.0 can be bound on the same port. */
  readonly ipv6Only?: boolean;
}

export interface Pop3Server {
  /**
   * Starts listening on one more address (each call binds its own socket);
   * rejects with the Node error (EADDRINUSE, EACCES) untouched.
   */
  listen(port: number, host: string, options?: ListenOptions): Promise<BoundAddress>;
  /** Starts the POP3S port (TLS from the first byte) on one more address; rejects like `listen`, or when there is no TLS context. */
  listenTls(port: number, host: string, options?: ListenOptions): Promise<BoundAddress>;
  /**
   * Closes every open session of the address (or of every mailbox of the
   * domain); pending DELE marks are discarded; returns how many were closed.
   * The decision is synchronous; the sockets end within a second.
   */
  closeSessions(target: LockTarget, reason: string): number;
  /** Connections being served (greeted), logged in or not. */
  sessionCount(): number;
  /** The sessions of this process, oldest first (live-sessions.ts); with a domain, those logged in to its mailboxes. */
  listSessions(domain?: string): SessionInfo[];
  /** Ends one session of this process, deletions discarded; its row, or null when it is not (or no longer) here. */
  endSession(id: string, reason: string): SessionInfo | null;
  /** Stops listening and ends all sessions without applying deletions; resolves when all are closed. */
  close(): Promise<void>;
}

/** Used when the settings function fails, so that a bad setting never stops the listener. */
const FALLBACK_SETTINGS: Pop3Settings = {
  idleTimeoutSeconds: 600,
  loginTimeoutSeconds: 60,
  connectionsPerAddress: 10,
  sparequired: false,
  socket: { max: 5000, backlog: 100 },
};
/** How often sockets waiting for a session look again whether one came free in another process. */
const SHARED_RETRY_MS = 100;
/** A refusal for one client is logged at most this often. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Clients whose last refusal line is remembered; bounded like every table a flood can grow. */
const MAX_REFUSAL_LOG_CLIENTS = 10_000;
/** A refused or waiting connection gets this long to go away after our answer. */
const REFUSE_GRACE_MS = 1000;

/** Creates a POP3 listener over the store; call `listen` to start it. */
export function createPop3Server(options: Pop3Options): Pop3Server {
  const { log } = options;
  const settings = (): Pop3Settings => {
    try {
      return options.settings();
    } catch (err) {
      log.error('pop3 settings unreadable; using defaults', { error: err instanceof Error ? err.message : String(err) });
      return FALLBACK_SETTINGS;
    }
  };
  const limits: Pop3Limits = options.limits ?? localLimits(options);
  const registry = new SessionRegistry<Pop3Session>();
  const live = new LiveSessions<Pop3Session>();
  const sessionChange = (id: string, session: SessionInfo | null): void => {
    try {
      options.onSessionChange?.(id, session);
    } catch (err) {
      log.error('pop3 session listener failed', { error: err instanceof Error ? err.message : String(err) });
    }
  };
  const active = new Set<Pop3Session>();
  /** Accepted but not greeted: over `max`, within `backlog`. */
  const waiting: Socket[] = [];
  const waitTimers = new Map<Socket, NodeJS.Timeout>();
  let closing = false;
  /** Resolved when the last session has closed (for close()). */
  let whenNoSessions: (() => void)[] = [];

  const onEvent = (e: Pop3Event): void => {
    try {
      options.onEvent?.(e);
    } catch (err) {
      log.error('pop3 event listener failed', { type: e.type, error: err instanceof Error ? err.message : String(err) });
    }
  };

  let pop3sPort: number | null = null;
  const deps = {
    store: options.store,
    log,
    settings,
    registry,
    host: options.greeting ?? hostname(),
    tls: options.tls ?? null,
    pop3sPort: () => pop3sPort,
    gate: limits.gate,
    loginHoldForTests: options.loginHoldForTests,
    onEvent,
    onChanged: (session: Pop3Session): void => {
      if (!session.isEnding) sessionChange(session.id, session.info);
      else if (live.remove(session)) sessionChange(session.id, null);
    },
    onClosed: (session: Pop3Session): void => {
      if (live.remove(session)) sessionChange(session.id, null);
      if (active.delete(session)) limits.endSession();
      processCounters.sessionClosed();
      admitWaiting();
      if (active.size === 0) {
        const waiters = whenNoSessions;
        whenNoSessions = [];
        for (const resolve of waiters) resolve();
      }
    },
  };

  /** Sockets accepted on the POP3S port. */
  const implicitTls = new WeakSet<Socket>();
  const refusalLog = new LogOnce(REFUSAL_LOG_INTERVAL_MS, MAX_REFUSAL_LOG_CLIENTS);

  function startSession(socket: Socket): void {
    const session = new Pop3Session(socket, deps, implicitTls.has(socket), newSessionId());
    active.add(session);
    live.add(session);
    sessionChange(session.id, session.info);
    processCounters.sessionOpened();
    session.start();
  }

  function refuse(socket: Socket, line: string): void {
    // A POP3S client expects a TLS handshake; a handshake just to refuse would cost what an overload cannot spare.
    if (implicitTls.has(socket)) {
      socket.destroy();
      return;
    }
    socket.end(`${line}\r\n`);
    socket.resume();
    setTimeout(() => socket.destroy(), REFUSE_GRACE_MS).unref();
  }

  function stopWaiting(socket: Socket): void {
    const at = waiting.indexOf(socket);
    if (at >= 0) waiting.splice(at, 1);
    clearTimeout(waitTimers.get(socket));
    waitTimers.delete(socket);
  }

  /** A session slot is being asked for (shared limits): the waiting line moves one at a time. */
  let admitting = false;
  /** The last answer (shared limits) was "every session taken": a socket put in line now really waits. */
  let full = false;
  /** While sockets wait on shared limits, sessions ending in other processes free slots unseen here: look again this often. */
  let rewaitTimer: NodeJS.Timeout | undefined;

  function admitWaiting(): void {
    while (!closing && !admitting && waiting.length > 0) {
      const grant = limits.startSession(settings().socket.max);
      if (grant instanceof Promise) {
        admitting = true;
        void grant.then(onSlotAnswer, notAsked);
        return;
      }
      if (!grant) return;
      if (!admitHead()) limits.endSession();
    }
  }

  /** The primary's answer to a session slot asked for the line's head (shared limits). */
  function onSlotAnswer(ok: boolean): void {
    admitting = false;
    if (!ok && !full && waiting.length > 0) {
      // Said once per spell of "all taken", as the single-process line says it for each socket.
      log.warn('pop3 connection waits for a free session', { remote: waiting[0]?.remoteAddress, active: active.size, waiting: waiting.length });
    }
    full = !ok;
    if (ok && !admitHead()) limits.endSession();
    if (ok) admitWaiting();
    else retryLater();
  }

  function notAsked(err: unknown): void {
    admitting = false;
    log.error('pop3 could not ask for a free session; will ask again', { error: err instanceof Error ? err.message : String(err) });
    retryLater();
  }

  /** Starts the first waiting socket on a slot already granted; false when none is left to take it. */
  function admitHead(): boolean {
    while (waiting.length > 0) {
      const socket = waiting.shift() as Socket;
      clearTimeout(waitTimers.get(socket));
      waitTimers.delete(socket);
      if (!socket.destroyed && !closing) {
        startSession(socket);
        return true;
      }
    }
    return false;
  }

  function retryLater(): void {
    if (options.limits === undefined || rewaitTimer !== undefined || closing || waiting.length === 0) return;
    rewaitTimer = setTimeout(() => {
      rewaitTimer = undefined;
      admitWaiting();
    }, SHARED_RETRY_MS);
    rewaitTimer.unref();
  }

  function onConnection(socket: Socket): void {
    socket.on('error', (err) => log.debug('pop3 socket error', { remote: socket.remoteAddress, error: err.message }));
    if (closing) {
      refuse(socket, REPLY.shuttingDown);
      return;
    }
    const client = clientAddressKey(socket.remoteAddress ?? '?');
    const perAddress = positive(settings().connectionsPerAddress, FALLBACK_SETTINGS.connectionsPerAddress);
    const granted = limits.connect(client, perAddress, settings().socket.max);
    if (granted instanceof Promise) {
      granted.then(
        (ok) => {
          // Gone while asking: the slot goes back at once.
          if (ok && socket.destroyed) limits.disconnect(client);
          else admitConnection(socket, client, perAddress, ok);
        },
        (err: unknown) => {
          log.error('pop3 connection refused: the connection limits could not be asked', { remote: socket.remoteAddress, error: err instanceof Error ? err.message : String(err) });
          refuse(socket, REPLY.tooManyConnections);
        },
      );
      return;
    }
    admitConnection(socket, client, perAddress, granted);
  }

  function admitConnection(socket: Socket, client: string, perAddress: number, granted: boolean): void {
    if (!granted) {
      // One line per client a minute: a client hammering the cap must not flood the log too.
      if (refusalLog.due(client)) {
        log.warn('pop3 connection refused: too many from one client', { client, connections: perAddress, nextLineAfterSeconds: REFUSAL_LOG_INTERVAL_MS / 1000 });
      }
      processCounters.add('connectionsRefused');
      refuse(socket, REPLY.tooManyFromAddress);
      return;
    }
    socket.once('close', () => limits.disconnect(client));
    // A raised limit frees slots for those already waiting before this newcomer.
    admitWaiting();
    const { max, backlog } = settings().socket;
    if (waiting.length === 0 && !admitting) {
      const slot = limits.startSession(max);
      if (slot === true) {
        startSession(socket);
        return;
      }
      if (slot instanceof Promise) {
        // Asked of the primary: the socket waits in line meanwhile, and takes the slot if still first.
        if (waiting.length >= backlog) {
          void slot.then((ok) => ok && limits.endSession());
          refuseFull(socket);
          return;
        }
        wait(socket, true);
        admitting = true;
        void slot.then(onSlotAnswer, notAsked);
        return;
      }
    }
    if (waiting.length < backlog) {
      // Behind a question in flight to the primary, a socket is not yet waiting for a free session.
      wait(socket, options.limits !== undefined && !full);
      retryLater();
      return;
    }
    refuseFull(socket);
  }

  /** Puts an admitted socket in the line for a session; `asking`: only while the primary is asked, so no warning. */
  function wait(socket: Socket, asking = false): void {
    // Not greeted yet: the client waits for the banner as for a slow server.
    socket.pause();
    waiting.push(socket);
    socket.once('close', () => stopWaiting(socket));
    // Waiting, it is not logged in either: it holds its place no longer than the log-in timeout.
    const seconds = positive(settings().loginTimeoutSeconds, FALLBACK_SETTINGS.loginTimeoutSeconds);
    waitTimers.set(
      socket,
      setTimeout(() => {
        stopWaiting(socket);
        processCounters.add('connectionsRefused');
        refuse(socket, REPLY.tooManyConnections);
      }, seconds * 1000),
    );
    if (!asking) log.warn('pop3 connection waits for a free session', { remote: socket.remoteAddress, active: active.size, waiting: waiting.length });
  }

  function refuseFull(socket: Socket): void {
    log.warn('pop3 connection refused: too many connections', { remote: socket.remoteAddress, active: active.size, waiting: waiting.length });
    processCounters.add('connectionsRefused');
    refuse(socket, REPLY.tooManyConnections);
  }

  /** One socket per listen address (POP3 and POP3S); they all feed the same sessions. */
  const servers = new Set<Server>();
  const closeServer = (net: Server): Promise<void> => {
    servers.delete(net);
    return net.listening ? new Promise<void>((resolve) => net.close(() => resolve())) : Promise.resolve();
  };

  function listenOn(name: string, implicit: boolean, port: number, host: string, options: ListenOptions): Promise<BoundAddress> {
    const net: Server = createServer({ pauseOnConnect: true }, (socket) => {
      if (implicit) implicitTls.add(socket);
      onConnection(socket);
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        net.off('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        net.off('error', onError);
        net.on('error', (err) => log.error(`${name} listener error`, { error: err.message }));
        servers.add(net);
        const address = net.address();
        const bound = typeof address === 'object' && address !== null ? { port: address.port, host: address.address } : { port, host };
        log.info(`${name} listening`, { host: bound.host, port: bound.port });
        resolve({ ...bound, close: () => closeServer(net) });
      };
      net.once('error', onError);
      net.once('listening', onListening);
      net.listen({ port, host, ipv6Only: options.ipv6Only === true });
    });
  }

  return {
    listen(port, host, options = {}) {
      return listenOn('pop3', false, port, host, options);
    },

    async listenTls(port, host, options = {}) {
      if (deps.tls === null) throw new Error('POP3S needs a TLS certificate, and none is loaded.');
      const bound = await listenOn('pop3s', true, port, host, options);
      pop3sPort = bound.port;
      return bound;
    },

    closeSessions(target, reason) {
      const sessions = registry.matching(target);
      for (const session of sessions) session.kick(reason);
      if (sessions.length > 0) {
        log.info('pop3 sessions closed by the administrator', { target: 'address' in target ? target.address : target.domain, sessions: sessions.length, reason });
      }
      return sessions.length;
    },

    sessionCount() {
      return active.size;
    },

    listSessions(domain) {
      return live.list(domain);
    },

    endSession(id, reason) {
      const ended = live.end(id, reason);
      if (ended !== null) log.info('pop3 session ended by the administrator', { id, remote: ended.client, address: ended.address ?? undefined, reason });
      return ended;
    },

    async close() {
      closing = true;
      clearTimeout(rewaitTimer);
      for (const socket of [...waiting]) {
        stopWaiting(socket);
        refuse(socket, REPLY.shuttingDown);
      }
      const listenerClosed = Promise.all([...servers].map(closeServer));
      const sessionsClosed = active.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => whenNoSessions.push(resolve));
      for (const session of active) session.shutdown();
      await Promise.all([listenerClosed, sessionsClosed]);
      log.info('pop3 listener stopped');
    },
  };
}

/** A number setting as given when it is a positive number, else the fallback. */
function positive(value: number, fallback: number): number {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** The listener's own tables: one process serves POP3, so its counts are the service's. */
function localLimits(options: Pop3Options): Pop3Limits {
  const slots = new Pop3Slots();
  return {
    connect: (client, perAddress) => slots.connect(client, perAddress),
    disconnect: (client) => slots.disconnect(client),
    startSession: (max) => slots.startSession(max),
    endSession: () => slots.endSession(),
    gate: new LoginGate(new LoginPenalty(options.penalty), options.gate),
  };
}
