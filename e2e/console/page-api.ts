/**
 * Gives a Chromium page the same `window.winpop` that the preload gives the
 * Electron renderer, wired to a real service's admin API: each call crosses
 * a Playwright binding as a Reply (so error codes survive) and a failure
 * rejects, as the preload's does, with a plain `{ name: 'AdminError', code,
 * message }` record; the service's events are pushed into the page. This plays the preload's part, as Actual Budget's browser
 * preload does for its web build.
 */

import type { Page } from '@playwright/test';
import { OPERATION_NAMES, type AdminApi, type AdminEvent, type OperationName } from '../../shared/contract.js';
import { toReply } from '../../shared/errors.js';

const CALL_BINDING = '__winpopCall';
const DISPATCH = '__winpopDispatch';

/** Runs in the page before any of its scripts: builds `window.winpop`. */
function installPageApi({ ops, call, dispatch }: { ops: readonly string[]; call: string; dispatch: string }): void {
  type Reply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };
  const w = window as unknown as Record<string, unknown>;
  const listeners = new Set<(event: unknown) => void>();
  const invoke = async (op: string, args: unknown): Promise<unknown> => {
    const text = await (w[call] as (op: string, args: string) => Promise<string>)(op, JSON.stringify(args ?? {}));
    const reply = JSON.parse(text) as Reply;
    if (reply.ok) return reply.result;
    throw { name: 'AdminError', code: reply.error.code, message: reply.error.message };
  };
  const api: Record<string, unknown> = {
    onEvent(listener: (event: unknown) => void) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
  for (const op of ops) api[op] = (args: unknown) => invoke(op, args);
  Object.defineProperty(window, 'winpop', { value: Object.freeze(api), enumerable: true });
  Object.defineProperty(window, dispatch, {
    value: (event: unknown) => {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (err) {
          console.error('winpop event listener failed', err);
        }
      }
    },
  });
}

export interface PageApiWiring {
  /** Every operation the page called, in order (to check that F5 really fetches). */
  readonly calls: readonly string[];
  /** Stops pushing the service's events into the page. */
  unsubscribe(): void;
  /**
   * Holds back the page's replies to `op` (the call itself runs at once)
   * until `release` settles: a slow transport, so a reply can arrive after
   * the events of later changes, as it may over IPC or the network.
   */
  holdReplies(op: OperationName, release: Promise<unknown>): void;
}

/** Wires `page` to `admin` for every later navigation of the page. */
export async function wirePageApi(page: Page, admin: AdminApi): Promise<PageApiWiring> {
  const known = new Set<string>(OPERATION_NAMES);
  const calls: string[] = [];
  const held = new Map<string, Promise<unknown>>();
  // Arguments and replies cross as JSON text: one string serializes far faster than
  // 100,000 objects through Playwright's value protocol, much as IPC's structured clone would.
  await page.exposeBinding(CALL_BINDING, async (_source, op: unknown, argsJson: unknown) => {
    const reply = await toReply(async () => {
      calls.push(String(op));
      if (typeof op !== 'string' || !known.has(op)) throw Object.assign(new Error(`Unknown operation ${String(op)}`), { code: 'INVALID_ARGUMENT' });
      const method = admin[op as OperationName] as (a: unknown) => Promise<unknown>;
      return method(JSON.parse(String(argsJson)));
    });
    await held.get(String(op))?.catch(() => undefined);
    return JSON.stringify(reply);
  });
  await page.addInitScript(installPageApi, { ops: OPERATION_NAMES, call: CALL_BINDING, dispatch: DISPATCH });
  const unsubscribe = admin.onEvent((event: AdminEvent) => {
    if (page.isClosed()) return;
    // Events are pushed in order over the one CDP connection; one that races a navigation or the close is dropped, as IPC would.
    page.evaluate(([name, e]) => (window as unknown as Record<string, ((e: unknown) => void) | undefined>)[name]?.(e), [DISPATCH, event] as const).catch(() => {});
  });
  return {
    calls,
    unsubscribe,
    holdReplies: (op, release) => {
      held.set(op, release);
    },
  };
}
