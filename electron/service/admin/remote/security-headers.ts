/**
 * The headers every answer of the admin endpoint carries.
 *
 * The content security policy lets a page run only scripts and styles of
 * this origin (no inline code, no other host), connect only back here, post
 * forms only here, and never be framed; with nosniff a file is taken only as
 * its declared type. No address (a one-time link's token) is told to
 * another site as a referrer. Nothing is cached: an admin's pages and answers stay off
 * the disk of a shared computer. No CORS header is ever sent, and no
 * Strict-Transport-Security: for `localhost` or an address it would force
 * HTTPS onto every other local service of that browser for a year.
 */

import type { OutgoingHttpHeaders } from 'node:http';

/** The policy; `socketOrigin` (`wss://host:port`, checked as ours) is added where the browser may not count it as 'self'. */
export function contentSecurityPolicy(socketOrigin: string | null): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${socketOrigin ? ` ${socketOrigin}` : ''}`,
    "manifest-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export function securityHeaders(socketOrigin: string | null): OutgoingHttpHeaders {
  return {
    'Content-Security-Policy': contentSecurityPolicy(socketOrigin),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    // Not no-referrer: under it Chromium posts the sign-in form with `Origin: null`, which the origin check must refuse.
    'Referrer-Policy': 'same-origin',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
}
