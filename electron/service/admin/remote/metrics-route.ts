/**
 * GET /metrics: the service's counters in the Prometheus text format, for
 * an admin only.
 *
 * A browser signed in to the endpoint sends its session cookie; a scraper
 * (Prometheus' `basic_auth`) sends an admin account's name and password as
 * HTTP Basic credentials, checked like a sign-in: the same penalty for
 * wrong passwords, the same lines of waiting attempts. No session is made
 * for a scrape. Served and refused requests are logged as the endpoint's
 * other requests are; a scrape changes nothing, so like every read it
 * writes no audit line.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../../../../shared/contract.js';
import { PASSWORD_MAX_LENGTH } from '../../../../shared/validate.js';
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from '../../observe/prometheus.js';
import type { AdminService } from '../admin-service.js';
import { sessionToken } from './cookies.js';
import { baseHeaders, remoteOf, type RouteContext } from './http-routes.js';

/** Sent with every 401: a scraper or a browser then knows it may answer with Basic credentials. */
const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="winpop metrics", charset="UTF-8"' };

function refuse(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, status: number, code: ErrorCode, message: string, extra: Record<string, string> = {}): void {
  ctx.log.warn('admin endpoint: /metrics refused', { remote: remoteOf(req), status, reason: message });
  const body = Buffer.from(JSON.stringify({ error: { code, message } }), 'utf8');
  res.writeHead(status, { ...baseHeaders(req, ctx.origins), 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length, ...extra });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The name and password of an `Authorization: Basic` header; null when there is none, a string saying what is wrong when it is malformed. */
function basicCredentials(req: IncomingMessage): { name: string; password: string } | string | null {
  const header = req.headers.authorization;
  if (header === undefined) return null;
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (match === null) return 'The Authorization header is not HTTP Basic; send an admin name and password (Prometheus: basic_auth).';
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) return 'The Basic credentials need an admin name and a password, as name:password.';
  const password = decoded.slice(colon + 1);
  if (password.length > PASSWORD_MAX_LENGTH) return `The password is longer than ${PASSWORD_MAX_LENGTH} characters.`;
  return { name: decoded.slice(0, colon), password };
}

/** Who asks: the session's admin, or the admin whose Basic credentials are right; null when the request has been answered already. */
async function admin(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<string | null> {
  const session = ctx.sessions.use(sessionToken(req));
  if (session !== null) return session.identity.name;
  const given = basicCredentials(req);
  if (given === null) {
    refuse(req, res, ctx, 401, 'NOT_ALLOWED', 'Sign in first: send an admin name and password as HTTP Basic credentials (Prometheus: basic_auth), or the session cookie.', CHALLENGE);
    return null;
  }
  if (typeof given === 'string') {
    refuse(req, res, ctx, 400, 'INVALID_ARGUMENT', given, CHALLENGE);
    return null;
  }
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const outcome = await ctx.guard.attempt(req.socket.remoteAddress ?? 'unknown', given.name, given.password, abort.signal);
  switch (outcome.kind) {
    case 'ok':
      return outcome.name;
    case 'gone':
      res.destroy();
      return null;
    case 'wrong':
      refuse(req, res, ctx, 401, 'NOT_ALLOWED', 'The admin name or password is wrong.', CHALLENGE);
      return null;
    case 'busy':
      refuse(req, res, ctx, 429, 'UNAVAILABLE', `Refused for now: ${outcome.why}. Try again in ${outcome.retryAfterSeconds} seconds.`, { 'Retry-After': String(outcome.retryAfterSeconds) });
      return null;
    case 'unavailable':
      refuse(req, res, ctx, 503, 'UNAVAILABLE', `Nobody can sign in now: ${outcome.message}`);
      return null;
  }
}

/** Answers GET or HEAD /metrics. */
export async function metrics(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, service: AdminService): Promise<void> {
  // Credentials or not, the body is not needed.
  req.resume();
  const name = await admin(req, res, ctx);
  if (name === null) return;
  const remote = remoteOf(req);
  const report = await service.forActor(name, { uid: null, remote }).counters({});
  const body = Buffer.from(await prometheusText(report), 'utf8');
  ctx.log.debug('admin endpoint: /metrics served', { remote, admin: name });
  res.writeHead(200, { ...baseHeaders(req, ctx.origins), 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}
