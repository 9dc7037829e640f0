/**
 * The session cookie as the endpoint sets, reads and clears it.
 *
 * `__Host-` prefix, Secure, Path=/ and no Domain: the browser keeps it for
 * this very host, never sends it over plain HTTP, and no other host (not
 * even a sibling name) can set or overwrite it. HttpOnly: no script of a
 * page can read it. SameSite=Strict: the browser leaves it out of every
 * request another site starts, links included. Max-Age is the longest a
 * session lasts, so the browser never keeps it longer than the service does.
 */

import type { IncomingMessage } from 'node:http';
import { SESSION_COOKIE } from './endpoint-protocol.js';

const ATTRIBUTES = 'Path=/; Secure; HttpOnly; SameSite=Strict';

/** The Set-Cookie value that gives a browser its session token. */
export function sessionCookie(token: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${token}; ${ATTRIBUTES}; Max-Age=${Math.max(1, Math.floor(maxAgeSeconds))}`;
}

/** The Set-Cookie value that makes the browser forget it (log-out). */
export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; ${ATTRIBUTES}; Max-Age=0`;
}

/** The session token a request carries, or null. Several Cookie headers, or several of ours, count as none. */
export function sessionToken(req: IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return null;
  let found: string | null = null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    // Two cookies of our name mean something else set one: trust neither.
    if (found !== null) return null;
    found = part.slice(eq + 1).trim();
  }
  return found;
}
