/**
 * The admin endpoint's protocol: HTTPS for signing in and out and for the
 * console's files, one WebSocket per console for the admin operations.
 *
 * Everything is over TLS (the service's certificate; TLS 1.2+, ECDHE with
 * AEAD ciphers only). No CORS header is ever sent: only the endpoint's own
 * pages (or a program that is not a browser) can use it.
 *
 * Signing in
 *   POST /api/login            body JSON {"name","password"} (application/json)
 *                              or a form (application/x-www-form-urlencoded, the sign-in page)
 *     200 {"admin","computer","idleSeconds"}   and Set-Cookie: __Host-winpop-session=…;
 *                                               Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=…
 *                                               (a form gets 303 to / instead)
 *     401 {"error":{"code":"NOT_ALLOWED","message":"The admin name or password is wrong."}}
 *                              the same for an unknown name; each failure slows the next answer
 *                              to that address and for that name (2 s, doubling to 15 s)
 *     403 the request came from a page of another origin (its Origin header)
 *     429 too many attempts waiting from this address or for this name (Retry-After)
 *     503 the service cannot check passwords now (busy, or its accounts file is damaged)
 *   POST /api/logout           ends the cookie's session and closes its WebSockets; 204 (a form: 303 to /signin)
 *   GET  /api/session          200 {"admin","computer","idleSeconds"} for a live session, else 401
 *   GET  /signin               the sign-in page (a plain form, no script)
 *   GET  /signin?token=T       a one-time sign-in link (AdminEndpoint.signInLink, or the control
 *                              channel's signInLink: winpop admin link): valid once, for
 *                              a few minutes; 303 to / with the session cookie, or 403 when used or expired
 *   GET  /metrics              the counters in the Prometheus text format (metrics-route.ts), for the session
 *                              cookie or an admin's HTTP Basic credentials (checked as a sign-in); 401 without
 *   GET  /, /<file>            the console's files (AdminEndpointOptions.staticDir), for a session only;
 *                              without one, a page is redirected (303) to /signin, a file gets 401
 *
 * A session ends when it is idle for `idleSeconds` (a request or a WebSocket
 * message counts as use), after at most 12 hours, on log-out, and at once
 * when its admin account is deleted or its password changed.
 *
 * The WebSocket: GET /api/ws with the session cookie AND an Origin header
 * naming this endpoint as the browser reached it (`https://<host>:<port>`,
 * equal to the Host header, a name or address of this computer or its
 * certificate). Refused with 401 (no live session), 403 (another Origin, or
 * none), 404 (another path), 429 (too many connections from the address).
 * A program that is not a browser (the console's main process) sends the
 * cookie from its log-in and that Origin itself.
 *
 * Frames are JSON text messages, the control channel's (control-protocol.ts):
 *   service → client, first:  {"hello":{"version":1,"service":"winpop","admin":"alice","computer":"host"}}
 *   client → service:         {"id":7,"op":"lock","args":{"target":"a@example.com"}}   an operation of
 *                             shared/contract.ts, its arguments checked by shared/validate.ts
 *                             {"id":8,"subscribe":true}                                 events on (false: off)
 *   service → client:         {"id":7,"reply":{"ok":true,"result":…}}  or  {"id":7,"reply":{"ok":false,"error":{code,message}}}
 *                             {"event":AdminEvent}
 *                             {"error":{code,message}}                 a problem not tied to a call
 * The account operations (addAdmin, …) are refused with NOT_ALLOWED: they are
 * managed only on the service's computer (winpop admin). Binary messages,
 * bad JSON and unknown operations get an error and the connection stays.
 *
 * Replies wait (reading pauses) while the client has not read 1 MiB of
 * earlier ones; a client that lets 16 MiB of events pile up unread is cut
 * off without a close frame (it reads nothing). A WebSocket that answers no
 * ping for 30 seconds is cut off too.
 *
 * Close codes: 1009 a message over 16 MiB; 4001 the session ended (signed
 * out, expired, the admin deleted or its password changed: sign in again;
 * an error frame saying why comes first); 1001 the endpoint stopped or moved
 * to another port or address; 1008 the client broke the protocol.
 */

/** 1: the first version of the endpoint's WebSocket protocol. */
export const ENDPOINT_PROTOCOL_VERSION = 1;

export const PATHS = {
  login: '/api/login',
  logout: '/api/logout',
  session: '/api/session',
  socket: '/api/ws',
  signIn: '/signin',
  signInStyle: '/signin.css',
  metrics: '/metrics',
} as const;

/** The session cookie. `__Host-`: the browser keeps it only if Secure, for Path=/, and without Domain. */
export const SESSION_COOKIE = '__Host-winpop-session';

export const CLOSE_CODES = {
  /** The session ended: signed out, expired, or its admin deleted or given a new password. */
  sessionEnded: 4001,
  /** The endpoint stopped, or moved to another port or address. */
  goingAway: 1001,
  /** The client broke the protocol. */
  policy: 1008,
} as const;

/** The first frame on a WebSocket. */
export interface EndpointHelloFrame {
  readonly hello: {
    readonly version: number;
    readonly service: string;
    /** The admin this session signed in as (for a one-time link: the OS user that made the link). */
    readonly admin: string;
    /** The computer's host name. */
    readonly computer: string;
  };
}

/** The body of a successful log-in and of GET /api/session. */
export interface SessionInfo {
  readonly admin: string;
  readonly computer: string;
  /** The session ends after this many seconds without use. */
  readonly idleSeconds: number;
}
