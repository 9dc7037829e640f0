/**
 * The admin endpoint: the admin API of this service over HTTPS and
 * WebSocket (endpoint-protocol.ts), for admin accounts that sign in with a
 * password, so that a console on another computer, or a browser, can
 * administer it.
 *
 * Off by default (the setting `adminPort` is 0); `apply` binds, rebinds or
 * stops it when the settings change, without a restart. It listens only
 * with TLS (the service's certificate, TLS_POLICY) and only on the addresses
 * of `adminListen` (this computer alone by default).
 *
 * Bounded against floods: connections per client address and in all (over
 * either, a new connection is closed before its TLS handshake, and logged
 * once a minute per address), a time limit for the TLS handshake, the
 * request headers and the whole request, 8 KiB log-in bodies, 16 MiB
 * WebSocket messages (ws closes with 1009 beyond), and the request and send
 * bounds of frame-dispatch.ts on every WebSocket. None of it touches POP3:
 * its listeners, limits and threads are its own.
 */

import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ListenerStatus } from '../../../../shared/contract.js';
import { AdminError } from '../../../../shared/errors.js';
import { clientAddressKey } from '../../client-address.js';
import { ConnectionSlots, LogOnce } from '../../connection-slots.js';
import { AddressBindError, bindAll, bindTargets, hostPort, type BoundAddress } from '../../listen-addresses.js';
import { listenFailure } from '../../listen-failure.js';
import type { Logger } from '../../log.js';
import { hostIdentity } from '../../tls/host-identity.js';
import { TLS_POLICY } from '../../tls/policy.js';
import type { TlsMaterial } from '../../tls/setup.js';
import { LoginPenalty, type PenaltyOptions } from '../../pop3/login-penalty.js';
import type { AdminService } from '../admin-service.js';
import { MAX_REQUEST_FRAME_BYTES } from '../control-protocol.js';
import { currentActor } from '../open-admin.js';
import type { AdminAccounts } from './admin-accounts.js';
import type { AccountSessions } from './account-service.js';
import { sessionToken } from './cookies.js';
import { CLOSE_CODES, PATHS } from './endpoint-protocol.js';
import { handleRequest, remoteOf, upgradeRefusal, type RouteContext } from './http-routes.js';
import { LoginGuard } from './login-guard.js';
import { metrics } from './metrics-route.js';
import { OriginCheck } from './origin-check.js';
import { securityHeaders } from './security-headers.js';
import { Sessions, type SessionOptions } from './sessions.js';
import { SignInLinks, type LinkOptions } from './sign-in-links.js';
import { bridgeWebSocket, type Bridge } from './websocket-bridge.js';

export interface AdminEndpointOptions {
  /** The console's files (the built renderer bundle), served to signed-in browsers; none when absent. */
  readonly staticDir?: string;
  readonly sessions?: Partial<SessionOptions>;
  readonly links?: Partial<LinkOptions>;
  /** Connections at once, in all and from one client address (an IPv6 client: its /64). */
  readonly maxConnections?: number;
  readonly maxConnectionsPerAddress?: number;
  /** The guessing penalty; POP3's (2 s doubling to 15 s) unless given (tests shorten it). */
  readonly penalty?: Partial<PenaltyOptions>;
  /** Unread bytes past which a console that does not read its events is cut off; 16 MiB unless given (tests lower it). */
  readonly maxUnsentEventBytes?: number;
}

export interface AdminEndpointDeps {
  readonly service: AdminService;
  readonly accounts: AdminAccounts;
  /** The service's TLS; null when it is off (the endpoint then cannot listen, and says why). */
  readonly tls: TlsMaterial | null;
  /** Why TLS is off, when it is. */
  readonly tlsError?: string;
  readonly log: Logger;
  readonly options?: AdminEndpointOptions;
}

/** Where the endpoint should be: the settings `adminPort` and `adminListen`. */
export interface EndpointPlace {
  /** 0: off. */
  readonly port: number;
  readonly listen: readonly string[];
}

export interface SignInLink {
  /** `https://<address>:<port>/signin?token=…`: opens a session once. */
  readonly url: string;
  /** ISO 8601 time after which it no longer works. */
  readonly expires: string;
}

export interface AdminEndpoint extends AccountSessions {
  /** Binds, rebinds or stops to match `place`; a failure to bind is kept in `status()` and logged, not thrown. */
  apply(place: EndpointPlace): Promise<void>;
  /** The endpoint as the ready line and Server Properties show it; null when it is off. */
  status(): ListenerStatus | null;
  /** The bound port; null when off or not listening. */
  readonly port: number | null;
  /**
   * Makes a one-time sign-in link (for `npm start`): the browser that opens
   * it first gets a session acting as `actor` (this process's OS user unless
   * given). `host` is the address in the link (the first bound address, or
   * loopback when bound to every address, unless given). UNAVAILABLE when
   * the endpoint is not listening.
   */
  signInLink(options?: { readonly actor?: string; readonly host?: string }): SignInLink;
  /** Stops listening, closes every connection and ends every session. */
  close(): Promise<void>;
}

const DEFAULT_MAX_CONNECTIONS = 256;
/** A browser opens up to 6 connections to a host and one WebSocket per console tab. */
const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 32;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const MAX_HEADER_BYTES = 16 * 1024;
/** A WebSocket that answers no ping within this is cut off. */
const PING_INTERVAL_MS = 30_000;
/** How long consoles get to take their close frame when the endpoint stops or moves. */
const CLOSE_GRACE_MS = 1000;
const LABEL = 'Admin endpoint';
const PORT_OPTION = '--admin-port N, or winpop set adminport N';

interface Listening {
  readonly place: EndpointPlace;
  readonly bound: readonly BoundAddress[];
  readonly timers: readonly NodeJS.Timeout[];
}

export function createAdminEndpoint(deps: AdminEndpointDeps): AdminEndpoint {
  const { service, accounts, tls, log } = deps;
  const options = deps.options ?? {};
  const computer = os.hostname();
  const sessions = new Sessions(options.sessions);
  const links = new SignInLinks(options.links);
  const guard = new LoginGuard(accounts, log, new LoginPenalty(options.penalty));
  const slots = new ConnectionSlots();
  const refusalLog = new LogOnce(60_000);
  const limits = {
    total: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    perAddress: options.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  };
  const identity = hostIdentity(computer);
  const certificateNames = (tls?.certificate.altNames ?? []).map((n) => n.replace(/^(DNS|IP Address):/, ''));
  const origins = new OriginCheck([...identity.names, ...identity.addresses, ...certificateNames]);
  const ctx: RouteContext = {
    sessions,
    links,
    guard,
    origins,
    staticDir: options.staticDir ?? null,
    computer,
    log,
    metrics: (req, res) => metrics(req, res, ctx, service),
  };
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });

  /** Every TCP connection, to close them when the endpoint stops or moves. */
  const sockets = new Set<Socket>();
  const bridges = new Map<WebSocket, Bridge>();
  /** WebSockets that have not answered the last ping. */
  const silent = new Set<WebSocket>();

  let current: Listening | null = null;
  let status: ListenerStatus | null = null;
  /** `apply` calls run one after another. */
  let applying: Promise<void> = Promise.resolve();
  let closed = false;

  sessions.onEnd((session, reason) => {
    for (const bridge of bridges.values()) if (bridge.session === session) bridge.endSession(reason);
  });

  const onConnection = (socket: Socket): void => {
    const client = clientAddressKey(socket.remoteAddress ?? 'unknown');
    const verdict = slots.take(client, limits);
    if (verdict !== 'ok') {
      if (refusalLog.due(`${verdict}:${client}`)) {
        log.warn(
          verdict === 'address'
            ? `admin endpoint: connections refused, ${client} holds ${limits.perAddress} already`
            : `admin endpoint: connections refused, ${limits.total} are open already`,
          { client },
        );
      }
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      slots.release(client);
    });
  };

  const refuse = (req: IncomingMessage, socket: Duplex, status: number, code: 'NOT_ALLOWED' | 'NOT_FOUND' | 'INVALID_ARGUMENT', message: string): void => {
    log.info('admin endpoint: WebSocket refused', { remote: remoteOf(req), status, reason: message });
    socket.end(upgradeRefusal(req, origins, status, code, message));
    socket.once('finish', () => socket.destroy());
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    const path = (req.url ?? '').split('?')[0];
    if (path !== PATHS.socket) return refuse(req, socket, 404, 'NOT_FOUND', `The admin API's WebSocket is ${PATHS.socket}.`);
    const foreign = origins.problem(req.headers.origin, req.headers.host, req.socket.localPort ?? 0);
    if (foreign !== null) return refuse(req, socket, 403, 'NOT_ALLOWED', `WebSocket refused: ${foreign}. Only this endpoint's own pages may open it.`);
    const session = sessions.use(sessionToken(req));
    if (session === null) return refuse(req, socket, 401, 'NOT_ALLOWED', 'WebSocket refused: no session. Sign in first (POST /api/login), or again: the session ended.');
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!sessions.isLive(session) || closed) {
        ws.close(CLOSE_CODES.sessionEnded, 'session ended');
        return;
      }
      const bridge = bridgeWebSocket(ws, session, remoteOf(req), {
        service,
        sessions,
        log,
        ...(options.maxUnsentEventBytes === undefined ? {} : { maxUnsentEventBytes: options.maxUnsentEventBytes }),
      });
      bridges.set(ws, bridge);
      ws.on('pong', () => silent.delete(ws));
      ws.once('close', () => {
        bridges.delete(ws);
        silent.delete(ws);
      });
    });
  };

  const ping = (): void => {
    for (const ws of bridges.keys()) {
      if (silent.has(ws)) {
        log.info('admin endpoint: a WebSocket answered no ping; cut off');
        ws.terminate();
        continue;
      }
      silent.add(ws);
      ws.ping();
    }
  };

  const bindOne = (port: number, host: string, bindOptions: { ipv6Only: boolean }): Promise<BoundAddress> =>
    new Promise((resolve, reject) => {
      const material = tls as TlsMaterial;
      const server = https.createServer({
        key: material.key,
        cert: material.cert,
        ...TLS_POLICY,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        maxHeaderSize: MAX_HEADER_BYTES,
      });
      server.on('connection', onConnection);
      server.on('request', (req, res) => {
        handleRequest(req, res, ctx).catch((err: unknown) => {
          log.error('admin endpoint: request failed', { path: req.url?.slice(0, 200), error: (err as Error).message });
          if (!res.headersSent) {
            res.writeHead(500, { ...securityHeaders(null), 'Content-Type': 'application/json; charset=utf-8' });
            res.end(JSON.stringify({ error: { code: 'INTERNAL', message: 'The request failed inside the service; its log says why.' } }));
          } else res.destroy();
        });
      });
      server.on('upgrade', onUpgrade);
      server.on('tlsClientError', (err) => log.debug('admin endpoint: TLS handshake failed', { error: err.message }));
      server.on('clientError', (_err, socket) => socket.destroy());
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen({ port, host, ipv6Only: bindOptions.ipv6Only }, () => {
        server.off('error', onError);
        server.on('error', (err) => log.error('admin endpoint error', { error: err.message }));
        const address = server.address();
        resolve({
          host,
          port: typeof address === 'object' && address !== null ? address.port : port,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      });
    });

  /** Stops listening and closes every connection; sessions stay unless `endSessions`. */
  const unbind = async (reason: string, endSessions: boolean): Promise<void> => {
    const was = current;
    current = null;
    if (was === null) return;
    for (const timer of was.timers) clearInterval(timer);
    const stopped = Promise.all(was.bound.map((b) => b.close()));
    // Each console is told why (1001), and given a moment to take the close frame before its connection goes.
    const left = [...bridges.keys()].map((ws) => new Promise<void>((done) => (ws.readyState === ws.CLOSED ? done() : ws.once('close', () => done()))));
    for (const bridge of bridges.values()) bridge.close(CLOSE_CODES.goingAway, reason);
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(left), new Promise<void>((done) => (grace = setTimeout(done, CLOSE_GRACE_MS)))]);
    clearTimeout(grace);
    for (const socket of sockets) socket.destroy();
    await stopped;
    bridges.clear();
    silent.clear();
    if (endSessions) {
      sessions.endWhere(() => true, reason);
      links.clear();
    }
    log.info('admin endpoint closed', { reason });
  };

  const bind = async (place: EndpointPlace): Promise<void> => {
    const targets = bindTargets(place.listen);
    const wantedAt = targets.map((t) => hostPort(t.host, place.port)).join(', ');
    if (tls === null) {
      const error = `The admin endpoint cannot listen on ${wantedAt}: it serves only over TLS, and ${deps.tlsError ?? 'TLS is off.'}`;
      status = { protocol: 'admin', address: wantedAt, listening: false, error };
      log.error(error);
      return;
    }
    try {
      const bound = await bindAll(LABEL, targets, place.port, bindOne, log);
      const addresses = bound.map((b) => hostPort(b.host, b.port));
      const sweepEvery = Math.max(250, Math.min(60_000, sessions.options.idleMs / 4));
      const timers = [setInterval(ping, PING_INTERVAL_MS), setInterval(() => sessions.sweep(), sweepEvery)];
      for (const timer of timers) timer.unref();
      current = { place, bound, timers };
      status = { protocol: 'admin', address: addresses.join(', '), addresses, listening: true };
      log.info('admin endpoint listening', { address: addresses.join(','), loopbackOnly: targets.every((t) => isLoopback(t.host)) });
    } catch (err) {
      const failed = err instanceof AddressBindError ? err : new AddressBindError(targets[0]?.host ?? '?', place.port, err);
      const error = listenFailure(LABEL, failed.host, failed.port, failed.error, PORT_OPTION);
      status = { protocol: 'admin', address: wantedAt, listening: false, error };
      log.error(error);
    }
  };

  const same = (a: EndpointPlace, b: EndpointPlace): boolean => a.port === b.port && a.listen.join(' ') === b.listen.join(' ');

  const apply = (place: EndpointPlace): Promise<void> => {
    const step = applying.then(async () => {
      if (closed) return;
      const wanted: EndpointPlace = { port: place.port, listen: [...place.listen] };
      if (current !== null && same(current.place, wanted)) return;
      if (wanted.port === 0) {
        await unbind('the admin endpoint was turned off', true);
        status = null;
        return;
      }
      await unbind(`the admin endpoint moved to port ${wanted.port} on ${wanted.listen.join(' ')}`, false);
      await bind(wanted);
    });
    applying = step.catch(() => undefined);
    return step;
  };

  const linkHost = (): string => {
    const host = current?.bound[0]?.host ?? '127.0.0.1';
    if (host === '0.0.0.0') return '127.0.0.1';
    if (host === '::') return '[::1]';
    return isIP(host) === 6 ? `[${host}]` : host;
  };

  return {
    apply,
    status: () => status,
    get port() {
      return current?.bound[0]?.port ?? null;
    },
    signInLink(linkOptions = {}) {
      const port = current?.bound[0]?.port;
      if (port === undefined) throw new AdminError('UNAVAILABLE', 'The admin endpoint is not listening, so it cannot sign anyone in; turn it on with winpop set adminport N.');
      const { token, expires } = links.mint(linkOptions.actor ?? currentActor());
      return { url: `https://${linkOptions.host ?? linkHost()}:${port}${PATHS.signIn}?token=${token}`, expires: new Date(expires).toISOString() };
    },
    sessionsOf: (name) => sessions.count((s) => s.identity.kind === 'account' && s.identity.name === name),
    endSessionsOf(name, reason) {
      guard.invalidate(name);
      return sessions.endWhere((s) => s.identity.kind === 'account' && s.identity.name === name, reason);
    },
    async close() {
      closed = true;
      await applying;
      await unbind('the service is stopping', true);
      status = null;
    },
  };
}

function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.');
}
