/**
 * The renderer's only way out: the admin API that the host put on `window`
 * (the preload in Electron, the test harness in Chromium).
 *
 * A page opened outside the console has no API; that is reported as
 * UNAVAILABLE with what to do, rather than as a TypeError.
 */

import { OPERATION_NAMES, type AdminApi, type ComputersApi, type ErrorCode, type OperationName } from '../../shared/contract.js';
import { computerOf, useView } from './state/view-store.js';

/**
 * The admin API of the computer whose node is selected: this computer's, or
 * another one's through the main process (`computers.callComputer`), so the
 * same commands work on either.
 */
export function api(): AdminApi {
  const computer = computerOf(useView.getState().node);
  return computer === undefined ? localApi() : remoteApi(computer);
}

const remoteApis = new Map<string, AdminApi>();

/** Another computer's admin API, by the id the main process gave it. */
export function remoteApi(computer: string): AdminApi {
  let routed = remoteApis.get(computer);
  if (!routed) {
    const methods: Record<string, unknown> = {
      // Its events come through computers.onEvent (state/computers-live.ts).
      onEvent: () => () => {},
    };
    for (const op of OPERATION_NAMES) {
      methods[op] = (args: unknown) => requireComputers().callComputer({ computer, op: op as OperationName, args });
    }
    routed = methods as AdminApi;
    remoteApis.set(computer, routed);
  }
  return routed;
}

/** The other computers, where the host offers them (the Electron console); null in a browser console of one computer. */
export function computersApi(): ComputersApi | null {
  if (typeof window === 'undefined') return null;
  return (window as { winpop?: { computers?: ComputersApi } }).winpop?.computers ?? null;
}

function requireComputers(): ComputersApi {
  const computers = computersApi();
  if (!computers) throw Object.assign(new Error('This console administers one computer only.'), { code: 'UNAVAILABLE' as ErrorCode });
  return computers;
}

/** This computer's admin API; throws a clear error when the page runs outside the console. */
export function localApi(): AdminApi {
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

