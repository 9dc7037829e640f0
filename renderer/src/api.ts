/**
 * The renderer's only way out: the admin API that the host put on `window`
 * (the preload in Electron, the test harness in Chromium).
 *
 * A page opened outside the console has no API; that is reported as
 * UNAVAILABLE with what to do, rather than as a TypeError.
 */

import type { AdminApi, ErrorCode } from '../../shared/contract.js';

/** The host's admin API; throws a clear error when the page runs outside the console. */
export function api(): AdminApi {
  const winpop = (window as { winpop?: AdminApi }).winpop;
  if (!winpop) {
    throw Object.assign(new Error('The admin API is missing: open this page from the POP3 Service console, not a plain browser.'), {
      code: 'UNAVAILABLE' as ErrorCode,
    });
  }
  return winpop;
}

/** Electron prefixes errors that cross `invoke`; administrators need only the service's own words. */
const IPC_PREFIX = /^Error invoking remote method '[^']*': (?:\w*Error: )?/;

/**
 * The message to show for a failed call. The Electron preload rejects with a
 * plain `{ name, code, message }` record (an Error would lose its code on the
 * bridge), the Chromium harness with an Error; both carry `message`.
 */
export function errorMessage(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  const text = typeof message === 'string' ? message : typeof err === 'string' ? err : String(err);
  return text.replace(IPC_PREFIX, '') || 'The operation failed without a message.';
}

