/**
 * One announcement per store change, when two stores see it.
 *
 * With worker processes, mail delivered by a worker is announced by that
 * worker's store; the primary's own store, following the domains a console
 * shows, finds the same change on disk a moment later (or earlier) and would
 * announce it again. Both carry the mailbox's counts after the change, so an
 * announcement that repeats the last counts announced for the same mailbox
 * (or the same problem for the same state file) within a short window says
 * nothing new and is dropped.
 */

import type { StoreChange } from '../store/index.js';

const WINDOW_MS = 10_000;
/** Remembered mailboxes; older ones are forgotten past this (a flood of deliveries must not grow it forever). */
const MAX_REMEMBERED = 10_000;

export type ChangeFilter = (change: StoreChange) => boolean;

/** A filter that passes each change once: false for a repeat of the last one announced for its mailbox or file. */
export function createChangeDedupe(now: () => number = Date.now): ChangeFilter {
  const last = new Map<string, { readonly value: string; readonly at: number }>();
  return (change) => {
    const [key, value] =
      change.type === 'stateProblem'
        ? [`problem ${change.kind} ${change.target}`, String(change.problem)]
        : [`counts ${change.address}`, `${change.messages}/${change.bytes}`];
    const t = now();
    const seen = last.get(key);
    if (seen !== undefined && seen.value === value && t - seen.at < WINDOW_MS) return false;
    last.delete(key);
    last.set(key, { value, at: t });
    if (last.size > MAX_REMEMBERED) {
      const oldest = last.keys().next().value;
      if (oldest !== undefined) last.delete(oldest);
    }
    return true;
  };
}
