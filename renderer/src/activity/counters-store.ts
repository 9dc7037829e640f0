/**
 * The services' counters as the console last heard them, per computer:
 * fetched when a chart opens, then replaced by each `counters` event (at
 * most one a second), this computer's and each connected one's.
 */

import { create } from 'zustand';
import type { AdminEvent, CountersReport } from '../../../shared/contract.js';
import { errorMessage, localApi, remoteApi } from '../api.js';

export interface ComputerCounters {
  readonly report: CountersReport | null;
  /** Why there are none: no service runs (store-only), or the call failed. */
  readonly error: string | null;
}

/** The key of this computer; another one is keyed by the id the main process gave it. */
export const THIS_COMPUTER = '';

export const useCounters = create<{ readonly byComputer: Readonly<Record<string, ComputerCounters>> }>()(() => ({ byComputer: {} }));

function put(computer: string, counters: ComputerCounters): void {
  useCounters.setState((s) => ({ byComputer: { ...s.byComputer, [computer]: counters } }));
}

/** Asks a computer's service for its counters. */
export async function loadCounters(computer: string = THIS_COMPUTER): Promise<void> {
  try {
    const api = computer === THIS_COMPUTER ? localApi() : remoteApi(computer);
    put(computer, { report: await api.counters({}), error: null });
  } catch (err) {
    put(computer, { report: useCounters.getState().byComputer[computer]?.report ?? null, error: errorMessage(err) });
  }
}

/** Keeps the newest `counters` event of a batch of a computer's events. */
export function applyCounterEvents(batch: readonly AdminEvent[], computer: string = THIS_COMPUTER): void {
  for (let i = batch.length - 1; i >= 0; i--) {
    const event = batch[i] as AdminEvent;
    if (event.type === 'counters') {
      put(computer, { report: event.counters, error: null });
      return;
    }
  }
}
