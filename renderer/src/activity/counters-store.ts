/**
 * The service's counters as the console last heard them: fetched when the
 * chart opens, then replaced by each `counters` event (at most one a second).
 */

import { create } from 'zustand';
import type { AdminEvent, CountersReport } from '../../../shared/contract.js';
import { errorMessage, localApi } from '../api.js';

export interface CountersState {
  readonly report: CountersReport | null;
  /** Why there are none: no service runs (store-only), or the call failed. */
  readonly error: string | null;
}

export const useCounters = create<CountersState>()(() => ({ report: null, error: null }));

/** Asks this computer's service for its counters. */
export async function loadCounters(): Promise<void> {
  try {
    useCounters.setState({ report: await localApi().counters({}), error: null });
  } catch (err) {
    useCounters.setState({ error: errorMessage(err) });
  }
}

/** Keeps the newest `counters` event of a batch of this computer's events. */
export function applyCounterEvents(batch: readonly AdminEvent[]): void {
  for (let i = batch.length - 1; i >= 0; i--) {
    const event = batch[i] as AdminEvent;
    if (event.type === 'counters') {
      useCounters.setState({ report: event.counters, error: null });
      return;
    }
  }
}
