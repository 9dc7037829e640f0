/**
 * Gives a Chromium page the same `window.winpop` that the preload gives the
 * Electron renderer, wired to a real service's admin API: each call crosses
 * a Playwright binding as a Reply (so error codes survive) and a failure
 * rejects, as the preload's does, with a plain `{ name: 'AdminError', code,
 * message }` record; the service's events are pushed into the page. This plays the preload's part, as Actual Budget's browser
 * preload does for its web build.
 */

import type { Page } from '@playwright/test';
import { COMPUTER_OPERATION_NAMES, OPERATION_NAMES, type AdminApi, type AdminEvent, type ComputerEvent, type ComputerOperationName, type OperationName } from '../../shared/contract.js';
import type { ComputerManager } from '../../electron/computers/computer-manager.js';
import { toReply } from '../../shared/errors.js';

const CALL_BINDING = '__winpopCall';
const DISPATCH = '__winpopDispatch';
const COMPUTER_CALL_BINDING = '__winpopComputerCall';
const COMPUTER_DISPATCH = '__winpopComputerDispatch';

/** Runs in the page before any of its scripts: builds `window.winpop`. */
function installPageApi({
  ops,
  call,
  dispatch,
  computers,
}: {
  ops: readonly string[];
  call: string;
  dispatch: string;
  computers: { ops: readonly string[]; call: string; dispatch: string } | null;
}): void {
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
  if (computers) {
    // The preload's window.winpop.computers: the main process's connection manager, here run by the test process.
    const computerListeners = new Set<(event: unknown) => void>();
    const computerApi: Record<string, unknown> = {
      onEvent(listener: (event: unknown) => void) {
        computerListeners.add(listener);
        return () => {
          computerListeners.delete(listener);
        };
      },
    };
    for (const op of computers.ops) {
      computerApi[op] = async (args: unknown) => {
        const text = await (w[computers.call] as (op: string, args: string) => Promise<string>)(op, JSON.stringify(args ?? {}));
        const reply = JSON.parse(text) as Reply;
        if (reply.ok) return reply.result;
        throw { name: 'AdminError', code: reply.error.code, message: reply.error.message };
      };
    }
    api.computers = Object.freeze(computerApi);
    Object.defineProperty(window, computers.dispatch, {
      value: (event: unknown) => {
        for (const listener of computerListeners) listener(event);
      },
    });
  }
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

/**
 * Wires `page` to `admin` for every later navigation of the page; with
 * `computers`, also `window.winpop.computers` to that connection manager (the
 * real one the main process runs), as the preload does.
 */
export async function wirePageApi(page: Page, admin: AdminApi, computers?: ComputerManager): Promise<PageApiWiring> {
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
  let stopComputerEvents = (): void => {};
  if (computers) {
    const knownComputerOps = new Set<string>(COMPUTER_OPERATION_NAMES);
    await page.exposeBinding(COMPUTER_CALL_BINDING, async (_source, op: unknown, argsJson: unknown) => {
      const reply = await toReply(async () => {
        calls.push(`computers.${String(op)}`);
        if (typeof op !== 'string' || !knownComputerOps.has(op)) throw Object.assign(new Error(`Unknown operation ${String(op)}`), { code: 'INVALID_ARGUMENT' });
        // The manager checks the arguments itself (shared/validate.ts), as it does behind IPC.
        return computers.run(op as ComputerOperationName, JSON.parse(String(argsJson)));
      });
      return JSON.stringify(reply);
    });
    stopComputerEvents = computers.onEvent((event: ComputerEvent) => {
      if (page.isClosed()) return;
      page.evaluate(([name, e]) => (window as unknown as Record<string, ((e: unknown) => void) | undefined>)[name]?.(e), [COMPUTER_DISPATCH, event] as const).catch(() => {});
    });
  }
  await page.addInitScript(installPageApi, {
    ops: OPERATION_NAMES,
    call: CALL_BINDING,
    dispatch: DISPATCH,
    computers: computers ? { ops: COMPUTER_OPERATION_NAMES, call: COMPUTER_CALL_BINDING, dispatch: COMPUTER_DISPATCH } : null,
  });
  const unsubscribe = admin.onEvent((event: AdminEvent) => {
    if (page.isClosed()) return;
    // Events are pushed in order over the one CDP connection; one that races a navigation or the close is dropped, as IPC would.
    page.evaluate(([name, e]) => (window as unknown as Record<string, ((e: unknown) => void) | undefined>)[name]?.(e), [DISPATCH, event] as const).catch(() => {});
  });
  return {
    calls,
    unsubscribe: () => {
      unsubscribe();
      stopComputerEvents();
    },
    holdReplies: (op, release) => {
      held.set(op, release);
    },
  };
}
