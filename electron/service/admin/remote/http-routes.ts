/**
 * The admin endpoint's HTTP answers (endpoint-protocol.ts lists them):
 * signing in and out, the session, one-time sign-in links, the sign-in page
 * and the console's files. Every answer carries the security headers, none
 * a CORS header; a request from a page of another origin is refused.
 */

import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { ErrorCode } from '../../../../shared/contract.js';
import { PASSWORD_MAX_LENGTH } from '../../../../shared/validate.js';
import { hostPort } from '../../listen-addresses.js';
import type { Logger } from '../../log.js';
import { clearedSessionCookie, sessionCookie, sessionToken } from './cookies.js';
import { PATHS, type SessionInfo } from './endpoint-protocol.js';
import type { LoginGuard } from './login-guard.js';
import type { OriginCheck } from './origin-check.js';
import { securityHeaders } from './security-headers.js';
import type { Session, Sessions } from './sessions.js';
import type { SignInLinks } from './sign-in-links.js';
import { SIGN_IN_STYLE, signInPage } from './sign-in-page.js';
import { findStaticFile, streamFile } from './static-files.js';

/** A log-in body is a name and a password: this is plenty. */
export const MAX_BODY_BYTES = 8 * 1024;

export interface RouteContext {
  readonly sessions: Sessions;
  readonly links: SignInLinks;
  readonly guard: LoginGuard;
  readonly origins: OriginCheck;
  /** The console's files; null when this endpoint serves none. */
  readonly staticDir: string | null;
  readonly computer: string;
  readonly log: Logger;
  /** GET /metrics (metrics-route.ts); absent: 404. */
  readonly metrics?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

const WRONG_CREDENTIALS = 'The admin name or password is wrong.';

/** The client of a request as `host:port`, for the log and the audit log. */
export function remoteOf(req: IncomingMessage): string {
  return hostPort(req.socket.remoteAddress ?? 'unknown', req.socket.remotePort ?? 0);
}

/** The headers of every answer, with the WebSocket origin of this request's Host when it is ours. */
export function baseHeaders(req: IncomingMessage, origins: OriginCheck): OutgoingHttpHeaders {
  const port = req.socket.localPort ?? 0;
  const host = req.headers.host;
  const own = host !== undefined && origins.problem(`https://${host}`.replace(/:443$/, ''), host, port) === null;
  return securityHeaders(own ? `wss://${host}` : null);
}

function send(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, status: number, type: string, body: string, extra: OutgoingHttpHeaders = {}): void {
  const data = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...baseHeaders(req, ctx.origins), 'Content-Type': type, 'Content-Length': data.length, ...extra });
  res.end(req.method === 'HEAD' ? undefined : data);
}

function json(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, status: number, body: unknown, extra: OutgoingHttpHeaders = {}): void {
  send(req, res, ctx, status, 'application/json; charset=utf-8', JSON.stringify(body), extra);
}

function failure(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, status: number, code: ErrorCode, message: string, extra: OutgoingHttpHeaders = {}): void {
  json(req, res, ctx, status, { error: { code, message } }, extra);
}

function html(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, status: number, page: string, extra: OutgoingHttpHeaders = {}): void {
  send(req, res, ctx, status, 'text/html; charset=utf-8', page, extra);
}

function redirect(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, to: string, extra: OutgoingHttpHeaders = {}): void {
  res.writeHead(303, { ...baseHeaders(req, ctx.origins), Location: to, 'Content-Length': 0, ...extra });
  res.end();
}

function isForm(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

function isJson(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/** The request's body as text; null when it is larger than MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<string | null> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Why a request that changes something is refused for its Origin, or null.
 * A browser always names the page's origin on a POST; a request without one
 * comes from a program, which no other web page can make.
 */
function foreignOrigin(req: IncomingMessage, ctx: RouteContext): string | null {
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  return ctx.origins.problem(origin, req.headers.host, req.socket.localPort ?? 0);
}

function sessionOf(req: IncomingMessage, ctx: RouteContext): Session | null {
  return ctx.sessions.use(sessionToken(req));
}

function sessionInfo(session: Session, ctx: RouteContext): SessionInfo {
  return { admin: session.identity.name, computer: ctx.computer, idleSeconds: ctx.sessions.idleSeconds };
}

function newSessionCookie(ctx: RouteContext, token: string): OutgoingHttpHeaders {
  return { 'Set-Cookie': sessionCookie(token, ctx.sessions.options.maxAgeMs / 1000) };
}

/** The name and password of a log-in body (JSON or a form); a string saying what is wrong when there are none. */
function credentials(req: IncomingMessage, body: string): { name: string; password: string } | string {
  let name: unknown;
  let password: unknown;
  if (isForm(req)) {
    const form = new URLSearchParams(body);
    name = form.get('name');
    password = form.get('password');
  } else {
    try {
      const value = JSON.parse(body) as unknown;
      if (typeof value === 'object' && value !== null) ({ name, password } = value as { name?: unknown; password?: unknown });
    } catch {
      return 'The body is not valid JSON; send {"name": …, "password": …}.';
    }
  }
  if (typeof name !== 'string' || typeof password !== 'string' || name === '' || password === '') {
    return 'Give an admin name and a password: {"name": …, "password": …}.';
  }
  if (password.length > PASSWORD_MAX_LENGTH) return `The password is longer than ${PASSWORD_MAX_LENGTH} characters.`;
  return { name, password };
}

async function login(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  const foreign = foreignOrigin(req, ctx);
  if (foreign !== null) return failure(req, res, ctx, 403, 'NOT_ALLOWED', `Sign-in refused: ${foreign}.`);
  const form = isForm(req);
  if (!form && !isJson(req)) return failure(req, res, ctx, 415, 'INVALID_ARGUMENT', 'Send the name and password as application/json or as a form.');
  const body = await readBody(req);
  if (body === null) return failure(req, res, ctx, 413, 'INVALID_ARGUMENT', `The body is larger than ${MAX_BODY_BYTES} bytes.`, { Connection: 'close' });
  const given = credentials(req, body);
  if (typeof given === 'string') {
    return form ? html(req, res, ctx, 400, signInPage(ctx.computer, given)) : failure(req, res, ctx, 400, 'INVALID_ARGUMENT', given);
  }

  // The client that leaves stops waiting for its turn, and for the password workers.
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const outcome = await ctx.guard.attempt(req.socket.remoteAddress ?? 'unknown', given.name, given.password, abort.signal);
  switch (outcome.kind) {
    case 'gone':
      res.destroy();
      return;
    case 'ok': {
      const { token, session } = ctx.sessions.create({ name: outcome.name, kind: 'account' }, remoteOf(req));
      if (form) return redirect(req, res, ctx, '/', newSessionCookie(ctx, token));
      return json(req, res, ctx, 200, sessionInfo(session, ctx), newSessionCookie(ctx, token));
    }
    case 'wrong':
      return form ? html(req, res, ctx, 401, signInPage(ctx.computer, WRONG_CREDENTIALS)) : failure(req, res, ctx, 401, 'NOT_ALLOWED', WRONG_CREDENTIALS);
    case 'busy': {
      const message = `Sign-in refused for now: ${outcome.why}. Try again in ${outcome.retryAfterSeconds} seconds.`;
      const retry = { 'Retry-After': String(outcome.retryAfterSeconds) };
      return form ? html(req, res, ctx, 429, signInPage(ctx.computer, message), retry) : failure(req, res, ctx, 429, 'UNAVAILABLE', message, retry);
    }
    case 'unavailable': {
      const message = `Nobody can sign in now: ${outcome.message}`;
      return form ? html(req, res, ctx, 503, signInPage(ctx.computer, message)) : failure(req, res, ctx, 503, 'UNAVAILABLE', message);
    }
  }
}

function logout(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): void {
  const foreign = foreignOrigin(req, ctx);
  if (foreign !== null) return failure(req, res, ctx, 403, 'NOT_ALLOWED', `Sign-out refused: ${foreign}.`);
  // The body is not needed; reading it lets the connection serve the next request.
  req.resume();
  ctx.sessions.endToken(sessionToken(req), 'signed out');
  const cleared = { 'Set-Cookie': clearedSessionCookie() };
  if (isForm(req)) return redirect(req, res, ctx, PATHS.signIn, cleared);
  res.writeHead(204, { ...baseHeaders(req, ctx.origins), ...cleared });
  res.end();
}

/** GET /signin: the page, or a one-time link's exchange for a session. */
function signIn(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, url: URL): void {
  const token = url.searchParams.get('token');
  if (token === null) {
    if (sessionOf(req, ctx) !== null) return redirect(req, res, ctx, '/');
    return html(req, res, ctx, 200, signInPage(ctx.computer));
  }
  const actor = ctx.links.redeem(token);
  if (actor === null) {
    ctx.log.warn('admin endpoint: a sign-in link was refused (used, expired or unknown)', { remote: remoteOf(req) });
    return html(req, res, ctx, 403, signInPage(ctx.computer, 'This sign-in link was used already or has expired. Sign in with an admin name and password, or ask for a new link.'));
  }
  const { token: sessionTokenValue } = ctx.sessions.create({ name: actor, kind: 'link' }, remoteOf(req));
  ctx.log.info('admin endpoint: signed in with a one-time link', { remote: remoteOf(req), actor });
  // The redirect takes the token out of the address bar and the history.
  redirect(req, res, ctx, '/', newSessionCookie(ctx, sessionTokenValue));
}

/** The console's files, for a signed-in browser. */
async function files(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, url: URL): Promise<void> {
  const page = url.pathname === '/' || url.pathname.endsWith('.html');
  const session = sessionOf(req, ctx);
  if (session === null) {
    if (page) return redirect(req, res, ctx, PATHS.signIn);
    return failure(req, res, ctx, 401, 'NOT_ALLOWED', 'Sign in first.');
  }
  if (ctx.staticDir === null) {
    if (url.pathname !== '/') return failure(req, res, ctx, 404, 'NOT_FOUND', 'Not found.');
    return html(req, res, ctx, 200, `<!doctype html><html lang="en"><head><meta charset="utf-8" /><title>POP3 Service on ${escapeText(ctx.computer)}</title></head><body><p>Signed in as ${escapeText(session.identity.name)}. This service serves the admin API at ${PATHS.socket}, and no console pages.</p></body></html>`);
  }
  const found = await findStaticFile(ctx.staticDir, url.pathname);
  if (found === null) return failure(req, res, ctx, 404, 'NOT_FOUND', 'Not found.');
  res.writeHead(200, { ...baseHeaders(req, ctx.origins), 'Content-Type': found.type, 'Content-Length': found.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await pipeline(streamFile(found), res).catch(() => res.destroy());
}

function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Answers one request. */
export async function handleRequest(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'https://endpoint.invalid');
  } catch {
    return failure(req, res, ctx, 400, 'INVALID_ARGUMENT', 'The request target is not a path.');
  }
  const method = req.method ?? 'GET';
  const only = (allowed: readonly string[]): boolean => {
    if (allowed.includes(method)) return true;
    failure(req, res, ctx, 405, 'INVALID_ARGUMENT', `${method} is not allowed here; use ${allowed.join(' or ')}.`, { Allow: allowed.join(', ') });
    return false;
  };
  switch (url.pathname) {
    case PATHS.login:
      if (only(['POST'])) await login(req, res, ctx);
      return;
    case PATHS.logout:
      if (only(['POST'])) logout(req, res, ctx);
      return;
    case PATHS.session: {
      if (!only(['GET', 'HEAD'])) return;
      const session = sessionOf(req, ctx);
      if (session === null) return failure(req, res, ctx, 401, 'NOT_ALLOWED', 'No session: sign in first, or again.');
      return json(req, res, ctx, 200, sessionInfo(session, ctx));
    }
    case PATHS.socket:
      return failure(req, res, ctx, 426, 'INVALID_ARGUMENT', `${PATHS.socket} is the WebSocket of the admin API; open it as one.`, { Upgrade: 'websocket', Connection: 'Upgrade' });
    case PATHS.signIn:
      if (only(['GET', 'HEAD'])) signIn(req, res, ctx, url);
      return;
    case PATHS.metrics:
      if (ctx.metrics === undefined) return failure(req, res, ctx, 404, 'NOT_FOUND', 'Not found.');
      if (only(['GET', 'HEAD'])) await ctx.metrics(req, res);
      return;
    case PATHS.signInStyle:
      if (only(['GET', 'HEAD'])) send(req, res, ctx, 200, 'text/css; charset=utf-8', SIGN_IN_STYLE);
      return;
    default:
      if (url.pathname.startsWith('/api/')) return failure(req, res, ctx, 404, 'NOT_FOUND', `No such API: ${url.pathname.slice(0, 100)}.`);
      if (only(['GET', 'HEAD'])) await files(req, res, ctx, url);
  }
}

/** The raw HTTP answer that refuses a WebSocket upgrade (the socket has no ServerResponse). */
export function upgradeRefusal(req: IncomingMessage, origins: OriginCheck, status: number, code: ErrorCode, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  const headers: OutgoingHttpHeaders = {
    ...baseHeaders(req, origins),
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([key, value]) => `${key}: ${String(value)}`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}
