/**
 * `window.winpop` for a console served by the admin endpoint to a browser:
 * the part the preload plays in Electron, over the endpoint's WebSocket
 * (electron/service/admin/remote/endpoint-protocol.ts).
 *
 * One method per operation and `onEvent`, as the preload gives; a failure
 * rejects with the same plain `{ name: 'AdminError', code, message }`. The
 * session cookie (HttpOnly, sent by the browser) says who the admin is.
 *
 * Calls made while the socket is (re)connecting wait for it; calls in flight
 * when it drops fail with UNAVAILABLE, since the service may or may not have
 * done them. A dropped socket is reopened with back-off (0.5 s doubling to
 * 15 s); once it is back, `onReconnect` lets the console fetch what it missed.
 * When the session has ended (close code 4001, or the upgrade refused because
 * there is no session) the page goes to the sign-in page.
 */

import { OPERATION_NAMES, type AdminApi, type AdminEvent, type ErrorCode } from '../../../shared/contract.js';

/** The endpoint's paths and the close code of an ended session (endpoint-protocol.ts; the renderer cannot import the service). */
const SOCKET_PATH = '/api/ws';
const SESSION_PATH = '/api/session';
const SIGN_IN_PATH = '/signin';
const SESSION_ENDED = 4001;

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 15_000;

/** Who the endpoint says this browser is (its hello frame). */
export interface BrowserSession {
  readonly admin: string;
  readonly computer: string;
}

export type ConnectionState = 'connecting' | 'open' | 'retrying';

export interface WebSocketApiOptions {
  /** `wss://host:port/api/ws`. */
  readonly url: string;
  /** After a dropped socket is open again: events may have been missed. */
  readonly onReconnect?: () => void;
  /** The session ended: sign in again. */
  readonly onSessionEnded?: () => void;
  /** Whether the session is still live, asked when the socket could not open (a refused upgrade has no close code). */
  readonly sessionIsLive?: () => Promise<boolean>;
  /** Each hello frame. */
  readonly onHello?: (session: BrowserSession) => void;
  readonly onState?: (state: ConnectionState, detail?: string) => void;
}

interface Failure {
  readonly name: 'AdminError';
  readonly code: ErrorCode;
  readonly message: string;
}

const failure = (code: ErrorCode, message: string): Failure => ({ name: 'AdminError', code, message });

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: Failure) => void;
}

type ServerFrame =
  | { hello: BrowserSession & { version: number } }
  | { id: number; reply: { ok: true; result: unknown } | { ok: false; error: { code: ErrorCode; message: string } } }
  | { event: AdminEvent }
  | { error: { code: ErrorCode; message: string } };

/** Builds the API; the socket opens at once and stays open (reopened) until `close`. */
export function createWebSocketApi(options: WebSocketApiOptions): AdminApi & { close(): void } {
  const listeners = new Set<(event: AdminEvent) => void>();
  const pending = new Map<number, Pending>();
  /** Frames written while no socket was open, sent when one is. */
  let outbox: string[] = [];
  let nextId = 1;
  let socket: WebSocket | null = null;
  let opened = false;
  let everOpened = false;
  let retryMs = FIRST_RETRY_MS;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;

  const send = (frame: unknown): void => {
    const text = JSON.stringify(frame);
    if (socket !== null && opened && socket.readyState === WebSocket.OPEN) socket.send(text);
    else outbox.push(text);
  };

  const onFrame = (frame: ServerFrame): void => {
    if ('hello' in frame) {
      options.onHello?.({ admin: frame.hello.admin, computer: frame.hello.computer });
      return;
    }
    if ('event' in frame) {
      for (const listener of listeners) {
        try {
          listener(frame.event);
        } catch (err) {
          console.error('winpop event listener failed', err);
        }
      }
      return;
    }
    if ('reply' in frame) {
      const waiting = pending.get(frame.id);
      if (waiting === undefined) return;
      pending.delete(frame.id);
      if (frame.reply.ok) waiting.resolve(frame.reply.result);
      else waiting.reject(failure(frame.reply.error.code, frame.reply.error.message));
      return;
    }
    if ('error' in frame) console.warn(`admin endpoint: ${frame.error.message}`);
  };

  const failInFlight = (why: string): void => {
    for (const [id, waiting] of pending) {
      // Calls not yet sent are sent on the next socket; those sent are lost with this one.
      if (outbox.some((text) => text.startsWith(`{"id":${id},`))) continue;
      pending.delete(id);
      waiting.reject(failure('UNAVAILABLE', `The connection to the service was lost (${why}); the operation may or may not have been done. Look, then try again.`));
    }
  };

  const scheduleRetry = (detail: string): void => {
    if (closed) return;
    options.onState?.('retrying', detail);
    retryTimer = setTimeout(open, retryMs);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  const sessionEnded = (): void => {
    closed = true;
    for (const [id, waiting] of pending) {
      pending.delete(id);
      waiting.reject(failure('NOT_ALLOWED', 'Your session ended: sign in again.'));
    }
    options.onSessionEnded?.();
  };

  function open(): void {
    retryTimer = null;
    if (closed) return;
    options.onState?.('connecting');
    const ws = new WebSocket(options.url);
    socket = ws;
    opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      retryMs = FIRST_RETRY_MS;
      options.onState?.('open');
      ws.send(JSON.stringify({ id: 0, subscribe: true }));
      const queued = outbox;
      outbox = [];
      for (const text of queued) ws.send(text);
      if (everOpened) options.onReconnect?.();
      everOpened = true;
    });
    ws.addEventListener('message', (message) => {
      if (typeof message.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(message.data) as ServerFrame;
      } catch {
        return;
      }
      onFrame(frame);
    });
    ws.addEventListener('close', (event) => {
      if (socket !== ws) return;
      socket = null;
      const wasOpen = opened;
      opened = false;
      if (closed) return;
      if (event.code === SESSION_ENDED) return sessionEnded();
      const why = event.reason || `code ${event.code}`;
      failInFlight(why);
      if (!wasOpen && options.sessionIsLive) {
        // A refused upgrade (no session, another origin) shows only as 1006: ask whether the session lives.
        options.sessionIsLive().then(
          (live) => (live ? scheduleRetry(why) : sessionEnded()),
          () => scheduleRetry(why),
        );
        return;
      }
      scheduleRetry(why);
    });
  }

  const call =
    (op: string) =>
    (args: unknown): Promise<unknown> => {
      if (closed) return Promise.reject(failure('NOT_ALLOWED', 'Your session ended: sign in again.'));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        send({ id, op, args: args ?? {} });
      });
    };

  const api: Record<string, unknown> = {
    onEvent(listener: (event: AdminEvent) => void) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    close() {
      closed = true;
      if (retryTimer !== null) clearTimeout(retryTimer);
      socket?.close(1000, 'console closed');
    },
  };
  for (const op of OPERATION_NAMES) api[op] = call(op);
  open();
  return api as unknown as AdminApi & { close(): void };
}

/** The session the endpoint greeted this page with, once it has. */
let browserSession: BrowserSession | null = null;
let browserTransport = false;

/** Whether this console runs in a browser, through the admin endpoint. */
export function isBrowserSession(): boolean {
  return browserTransport;
}

/** The admin and computer of the browser session; null before the first hello (or outside a browser). */
export function browserSessionInfo(): BrowserSession | null {
  return browserSession;
}

/**
 * Puts the WebSocket API on `window.winpop` when nothing else did (no
 * preload, no test harness) and the page came over https (only the admin
 * endpoint serves it so). Returns whether it did.
 */
export function installWebSocketApi(hooks: { onReconnect?: () => void } = {}): boolean {
  if ((window as { winpop?: unknown }).winpop !== undefined) return false;
  if (window.location.protocol !== 'https:') return false;
  const api = createWebSocketApi({
    url: `wss://${window.location.host}${SOCKET_PATH}`,
    onHello: (session) => {
      browserSession = session;
    },
    onSessionEnded: () => window.location.assign(SIGN_IN_PATH),
    sessionIsLive: async () => (await fetch(SESSION_PATH, { credentials: 'same-origin', cache: 'no-store' })).ok,
    ...(hooks.onReconnect ? { onReconnect: hooks.onReconnect } : {}),
  });
  browserTransport = true;
  Object.defineProperty(window, 'winpop', { value: Object.freeze(api), enumerable: true });
  return true;
}
