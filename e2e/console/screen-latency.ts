/**
 * Event-to-screen latency: how long after the service announced a change
 * (its admin event, seen in this process) the page showed it.
 *
 * The page side is a MutationObserver armed before the change: the first
 * mutation after which the condition holds, then the frame after it
 * (requestAnimationFrame, then a task: the frame has been produced). Both
 * ends are read on the wall clock (`performance.timeOrigin + now()`), which
 * this process and Chromium share. Tests report the figure and allow a
 * generous deadline; bench/console-live-updates.spec.ts holds the target.
 * `timeAction` times the page's own work the same way, from an input event.
 */

import { performance } from 'node:perf_hooks';
import type { Page, TestInfo } from '@playwright/test';
import type { AdminApi, AdminEvent } from '../../shared/contract.js';

/** What the page shows once the change is on screen: an element by CSS selector and its text, an attribute, or its absence. */
export interface ScreenCondition {
  readonly selector: string;
  /** The element's text, trimmed. */
  readonly text?: string;
  readonly attribute?: readonly [name: string, value: string];
  /** The element is gone from the page. */
  readonly absent?: boolean;
}

/** A details-grid cell, as a CSS selector (ConsolePage.cell as a locator). */
export const cellSelector = (id: string, column: 'name' | 'mailboxes' | 'messages' | 'bytes' | 'state'): string => `${rowSelector(id)} .cell-${column}`;

/** A details-grid row by id (ConsolePage.row as a locator). */
export const rowSelector = (id: string): string => `[role="grid"] [data-row-id="${id}"]`;

/** A domain's node in the console tree (ConsolePage.domainNode as a locator). */
export const domainNodeSelector = (domain: string): string => `[data-testid="tree-domain:${domain}"]`;

/** Wall-clock time in milliseconds, with this process's sub-millisecond resolution: the clock both ends are read on. */
export const wallClock = (): number => performance.timeOrigin + performance.now();

/** Waits no longer than this for either end; the tests' own assertions fail first and say what was missing. */
const GIVE_UP_MS = 15_000;

let watches = 0;

/** One change being watched; read it once the test has seen the change on screen. */
export interface Watch {
  /** Milliseconds from the service's event to the frame that showed the change. */
  latency(): Promise<number>;
  /** Both ends on the wall clock (see `wallClock`). */
  times(): Promise<{ readonly eventAt: number; readonly shownAt: number }>;
}

/**
 * Arms the page's observer for `screen` and this process's listener for the
 * event `isEvent` picks, before the test makes the change. Fails at once when
 * the page already shows the condition: the measurement would mean nothing.
 */
export async function watchChange(page: Page, admin: AdminApi, screen: ScreenCondition, isEvent: (event: AdminEvent) => boolean): Promise<Watch> {
  const key = `watch${++watches}`;
  let stop: () => void = () => undefined;
  const eventAt = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`the service sent no matching event within ${GIVE_UP_MS / 1000} s`));
    }, GIVE_UP_MS);
    const unsubscribe = admin.onEvent((event) => {
      if (!isEvent(event)) return;
      stop();
      resolve(wallClock());
    });
    stop = () => {
      clearTimeout(timer);
      unsubscribe();
    };
  });
  // Read later; a rejection before then is not unhandled.
  eventAt.catch(() => undefined);
  const already = await page.evaluate(armObserver, { key, screen: [screen], giveUpMs: GIVE_UP_MS, trigger: null });
  if (already) {
    stop();
    throw new Error(`the page already shows ${JSON.stringify(screen)} before the change`);
  }
  const times = async (): Promise<{ eventAt: number; shownAt: number }> => {
    const [event, { shownAt }] = await Promise.all([eventAt, readSeen(page, key)]);
    return { eventAt: event, shownAt };
  };
  return {
    times,
    async latency() {
      const { eventAt: event, shownAt } = await times();
      return shownAt - event;
    },
  };
}

/**
 * Times an action in the page: from the input event `trigger` (`pointerdown`,
 * `keydown`, `input`) that `act` causes to the frame after which every
 * condition holds. Fails at once when they hold before the action.
 */
export async function timeAction(page: Page, trigger: 'pointerdown' | 'keydown' | 'input', screen: readonly ScreenCondition[], act: () => Promise<unknown>): Promise<number> {
  const key = `watch${++watches}`;
  if (await page.evaluate(armObserver, { key, screen, giveUpMs: GIVE_UP_MS * 8, trigger })) {
    throw new Error(`the page already shows ${JSON.stringify(screen)} before the action`);
  }
  await act();
  const { shownAt, triggeredAt } = await readSeen(page, key);
  if (triggeredAt === null) throw new Error(`the action caused no ${trigger} event in the page`);
  return shownAt - triggeredAt;
}

/** Reports a watched change's latency as a test annotation and on the console, and returns it. */
export async function reportLatency(testInfo: TestInfo, what: string, watch: Watch): Promise<number> {
  const ms = await watch.latency();
  const description = `${what}: on screen ${ms.toFixed(0)} ms after the service's event`;
  testInfo.annotations.push({ type: 'latency', description });
  console.log(description);
  return ms;
}

/** The page's record of one watch: when the change showed, and when the input that caused it came (when one was awaited). */
interface Seen {
  readonly shownAt: number;
  readonly triggeredAt: number | null;
}

interface Shown {
  __winpopShown: Partial<Record<string, Promise<Seen>>>;
}

/** Reads a watch's record from the page, once the change has shown (or the watch gave up). */
function readSeen(page: Page, key: string): Promise<Seen> {
  return page.evaluate((k) => (globalThis as unknown as Shown).__winpopShown[k] ?? Promise.reject(new Error(`no watch ${k} in the page (reloaded?)`)), key);
}

/**
 * In the page: arms the observer; true when the conditions hold already.
 * With a trigger, the clock starts at the next such input event (capture
 * phase) and the conditions are only looked at from then on.
 */
function armObserver({ key, screen, giveUpMs, trigger }: { key: string; screen: readonly ScreenCondition[]; giveUpMs: number; trigger: string | null }): boolean {
  const holds = (): boolean =>
    screen.every((c) => {
      const element = document.querySelector(c.selector);
      if (c.absent) return element === null;
      if (element === null) return false;
      if (c.text !== undefined && (element.textContent ?? '').trim() !== c.text) return false;
      if (c.attribute && element.getAttribute(c.attribute[0]) !== c.attribute[1]) return false;
      return true;
    });
  if (holds()) return true;
  const now = (): number => performance.timeOrigin + performance.now();
  const g = globalThis as unknown as Partial<Shown>;
  const shown = (g.__winpopShown ??= {});
  const seen = new Promise<Seen>((resolve, reject) => {
    let triggeredAt: number | null = null;
    const observer = new MutationObserver(() => {
      if ((trigger !== null && triggeredAt === null) || !holds()) return;
      observer.disconnect();
      clearTimeout(timer);
      requestAnimationFrame(() => setTimeout(() => resolve({ shownAt: now(), triggeredAt }), 0));
    });
    const onTrigger = (): void => {
      if (triggeredAt === null) triggeredAt = now();
    };
    const timer = setTimeout(() => {
      observer.disconnect();
      if (trigger !== null) document.removeEventListener(trigger, onTrigger, true);
      reject(new Error(`not shown within ${giveUpMs / 1000} s: ${JSON.stringify(screen)}`));
    }, giveUpMs);
    if (trigger !== null) document.addEventListener(trigger, onTrigger, { capture: true, once: true });
    observer.observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
  });
  // Read later, or never when the test failed first: not an unhandled rejection in the page.
  seen.catch(() => undefined);
  shown[key] = seen;
  return false;
}
