/**
 * The console at scale, measured in Chromium with performance marks:
 * - domain click → rows shown: from the pointerdown on the domain's tree node
 *   to the frame after its first mailbox row is in the page (a
 *   requestAnimationFrame, then a task: the frame has been produced);
 * - scroll frame time: the grid scrolled by script once per frame (steady
 *   30-row steps, then jumps anywhere), the time between successive frames;
 * - actions on every row (the console suite's big-domain test, timed): the
 *   filter narrowing as you type and cleared, right-click Lock patching one
 *   row, sorting by state both ways and back by name, End and Home; each
 *   from its input event to the frame that shows the result.
 *
 *   npx playwright test --config bench/playwright.config.ts
 *   (BENCH_CONSOLE_MAILBOXES=10000 for a quicker look)
 *
 * The page is the built renderer with `window.winpop` wired to a real
 * service in this process (the console suite's harness, as the preload does
 * in Electron); the domain is written on disk before the service starts.
 */

import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { expect, test, type Page } from '@playwright/test';
import type { AdminApi } from '../shared/contract.js';
import { cellSelector, rowSelector, timeAction, type ScreenCondition } from '../e2e/console/screen-latency.js';
import { saveResult } from './lib/results.js';
import { median, percentile, REPO_ROOT } from './lib/util.js';

const COUNT = Number(process.env.BENCH_CONSOLE_MAILBOXES ?? 100_000);
const DOMAIN = 'big.example.com';
const REPEATS = 5;
/** Each action on every row, this many times (one mailbox locked per round). */
const ACTION_ROUNDS = 3;

interface RunningService {
  readonly host: { readonly admin: AdminApi };
  stop(): Promise<void>;
}
type ServiceFixture = {
  startTestService(logFile: string, options: { prepare?: (mailroot: string) => Promise<void> }): Promise<RunningService>;
  bigDomain(domain: string, count: number): (mailroot: string) => Promise<void>;
};
type PageApi = { wirePageApi(page: Page, admin: AdminApi): Promise<{ readonly calls: readonly string[]; unsubscribe(): void }> };
type StaticServer = { serveDirectory(dir: string): Promise<{ url: string; close(): Promise<void> }> };

/** The console suite's harness, loaded at run time (it is browser-side TypeScript the service build does not compile). */
const harness = <T>(file: string): Promise<T> => import(pathToFileURL(path.join(REPO_ROOT, 'e2e', 'console', file)).href) as Promise<T>;

/** In the page: marks the pointerdown on the domain node and the frame after the first mailbox row appears. */
const ARM_CLICK_MEASURE = `(() => {
  const domainNode = '[data-testid="tree-domain:${DOMAIN}"]';
  const firstRow = '[data-row-id$="@${DOMAIN}"]';
  performance.clearMarks(); performance.clearMeasures();
  window.__shown = null;
  const onDown = (e) => {
    if (!e.target.closest(domainNode)) return;
    document.removeEventListener('pointerdown', onDown, true);
    performance.mark('domain-click');
    const done = () => requestAnimationFrame(() => setTimeout(() => {
      performance.mark('rows-shown');
      window.__shown = performance.measure('click-to-rows', 'domain-click', 'rows-shown').duration;
    }, 0));
    if (document.querySelector(firstRow)) return done();
    const observer = new MutationObserver(() => {
      if (!document.querySelector(firstRow)) return;
      observer.disconnect();
      done();
    });
    observer.observe(document.body, { childList: true, subtree: true });
  };
  document.addEventListener('pointerdown', onDown, true);
})()`;

/** In the page: scrolls the grid once per frame and returns the intervals between frames (ms). */
const scrollFrames = (mode: 'steady' | 'jump', frames: number): string => `(async () => {
  const grid = document.querySelector('[role="grid"]');
  const long = [];
  let observer = null;
  try {
    observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) long.push(e.duration); });
    observer.observe({ type: 'long-animation-frame', buffered: false });
  } catch {}
  const stamps = [];
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  // Read once: reading scrollHeight inside the loop would force a layout in the middle of each frame.
  const max = grid.scrollHeight - grid.clientHeight;
  await new Promise((resolve) => {
    const step = (t) => {
      stamps.push(t);
      if (stamps.length > ${frames}) return resolve();
      if (${mode === 'steady' ? 'true' : 'false'}) grid.scrollTop = Math.min(max, grid.scrollTop + 800);
      else grid.scrollTop = Math.floor(random() * max);
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  observer?.disconnect();
  const intervals = [];
  for (let i = 1; i < stamps.length; i++) intervals.push(stamps[i] - stamps[i - 1]);
  return { intervals, longFrames: long, rendered: grid.querySelectorAll('[data-testid="grid-row"]').length };
})()`;

/**
 * CPU time (ms) the machine spent busy, and the part of it spent by this
 * process and its descendants (the service runs in it; Chromium is its
 * child), from /proc; null off Linux. The difference is other programs.
 */
async function cpuTimes(): Promise<{ busy: number; ours: number } | null> {
  const TICK_MS = 10; // USER_HZ is 100 on Linux
  try {
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ((await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '')
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const children = new Map<number, number[]>();
    const ticks = new Map<number, number>();
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const text = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      // Fields after the command name: state, ppid, … utime (14th of the line), stime (15th).
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    }
    let ours = 0;
    const stack = [process.pid];
    for (let pid = stack.pop(); pid !== undefined; pid = stack.pop()) {
      ours += ticks.get(pid) ?? 0;
      stack.push(...(children.get(pid) ?? []));
    }
    return { busy: (user + nice + system + irq + softirq + steal) * TICK_MS, ours: ours * TICK_MS };
  } catch {
    return null;
  }
}

interface TraceEvent {
  readonly ph: string;
  readonly name: string;
  readonly pid: number;
  readonly tid: number;
  readonly ts: number;
  readonly dur?: number;
  /** CPU time of the event on its thread, µs. */
  readonly tdur?: number;
  readonly args?: { readonly name?: string };
}

/** CPU ms per frame: the page's main thread by kind of work, and Chromium's other threads by role. */
type ThreadSplit = Record<(typeof SPLIT_COLUMNS)[number], number>;
const SPLIT_COLUMNS = ['main thread', 'script', 'style', 'layout', 'paint and commit', 'other main-thread', 'renderer compositor thread', 'renderer workers (raster, GC)', 'GPU process (display compositor)', 'browser process'] as const;

const MAIN_THREAD_KIND: Readonly<Record<string, 'script' | 'style' | 'layout' | 'paint and commit'>> = {
  FunctionCall: 'script', EventDispatch: 'script', FireAnimationFrame: 'script', TimerFire: 'script', RunMicrotasks: 'script', MajorGC: 'script', MinorGC: 'script',
  UpdateLayoutTree: 'style', Layout: 'layout', PrePaint: 'paint and commit', Paint: 'paint and commit', Layerize: 'paint and commit', Commit: 'paint and commit',
};

/**
 * Splits a Chromium trace of a scroll into CPU per frame (the events' thread
 * time, between the first and last animation frame): each main-thread event
 * counts its own time (less its children's) as its kind, or as its parent's.
 */
function splitTrace(events: readonly TraceEvent[]): ThreadSplit {
  const threadName = new Map<string, string>();
  const processName = new Map<number, string>();
  for (const e of events) {
    if (e.ph === 'M' && e.name === 'thread_name') threadName.set(`${e.pid}:${e.tid}`, e.args?.name ?? '');
    if (e.ph === 'M' && e.name === 'process_name') processName.set(e.pid, e.args?.name ?? '');
  }
  const animationFrames = events.filter((e) => e.ph === 'X' && e.name === 'FireAnimationFrame').sort((a, b) => a.ts - b.ts);
  const main = animationFrames[0] ? `${animationFrames[0].pid}:${animationFrames[0].tid}` : '';
  const from = animationFrames[0]?.ts ?? 0;
  const to = animationFrames[animationFrames.length - 1]?.ts ?? 0;
  const frames = Math.max(1, animationFrames.length - 1);
  const split = Object.fromEntries(SPLIT_COLUMNS.map((c) => [c, 0])) as ThreadSplit;
  const open = new Map<string, { end: number; kind: keyof ThreadSplit }[]>();
  const timed = events.filter((e) => e.ph === 'X' && e.ts >= from && e.ts < to && e.tdur !== undefined).sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  for (const e of timed) {
    const thread = `${e.pid}:${e.tid}`;
    const stack = open.get(thread) ?? [];
    open.set(thread, stack);
    while (stack.length > 0 && (stack[stack.length - 1]?.end ?? 0) <= e.ts) stack.pop();
    const parent = stack[stack.length - 1];
    const cpu = (e.tdur ?? 0) / 1000 / frames;
    let kind: keyof ThreadSplit;
    if (thread === main) {
      kind = MAIN_THREAD_KIND[e.name] ?? parent?.kind ?? 'other main-thread';
      if (!parent) split['main thread'] += cpu;
    } else {
      const proc = processName.get(e.pid) ?? '';
      if (proc === 'Renderer' && e.pid !== animationFrames[0]?.pid) continue;
      const name = threadName.get(thread) ?? '';
      kind = proc === 'Browser' ? 'browser process' : proc.startsWith('GPU') ? 'GPU process (display compositor)' : name === 'Compositor' ? 'renderer compositor thread' : 'renderer workers (raster, GC)';
    }
    if (parent) split[parent.kind] -= cpu;
    split[kind] += cpu;
    stack.push({ end: e.ts + (e.dur ?? 0), kind });
  }
  return split;
}


/** How one click's time divides, from the console's own marks (renderer/src/state/loaders.ts). */
interface Phases {
  /** Click → the list has arrived in the page. */
  readonly fetched: number;
  /** → expanded into rows and put in the store. */
  readonly stored: number;
  /** → rendered and the frame produced. */
  readonly shown: number;
}

/** In the page, after a measured click: the time between the marks. */
function readPhases(): Phases {
  const at = (name: string): number => performance.getEntriesByName(name, 'mark')[0]?.startTime ?? Number.NaN;
  const click = at('domain-click');
  const fetched = at('mailboxes-fetched');
  const stored = at('mailboxes-stored');
  return { fetched: fetched - click, stored: stored - fetched, shown: at('rows-shown') - stored };
}

test(`console with a domain of ${COUNT.toLocaleString('en')} mailboxes: click → rows, scroll frames`, async ({ page }, testInfo) => {
  const started = Date.now();
  const { startTestService, bigDomain } = await harness<ServiceFixture>('service-fixture.ts');
  const { wirePageApi } = await harness<PageApi>('page-api.ts');
  const { serveDirectory } = await harness<StaticServer>('static-server.ts');
  const service = await startTestService(testInfo.outputPath('service.log'), { prepare: bigDomain(DOMAIN, COUNT) });
  const server = await serveDirectory(path.join(REPO_ROOT, 'dist', 'renderer'));
  const wiring = await wirePageApi(page, service.host.admin);
  try {
    await page.goto(server.url);
    const domainNode = page.getByTestId(`tree-domain:${DOMAIN}`);
    const computer = page.getByTestId('tree-computer');
    await expect(domainNode).toBeVisible({ timeout: 60_000 });

    const clickToRows: number[] = [];
    const phases: Phases[] = [];
    for (let i = 0; i <= REPEATS; i++) {
      if (i > 0) {
        await computer.click();
        await expect(page.getByRole('grid', { name: 'Domains' })).toBeVisible();
      }
      await page.evaluate(ARM_CLICK_MEASURE);
      await domainNode.click();
      // Functions, not strings: the console's Content Security Policy forbids eval in the page.
      await page.waitForFunction(() => (globalThis as unknown as { __shown: number | null }).__shown !== null, undefined, { timeout: 120_000 });
      clickToRows.push(await page.evaluate(() => (globalThis as unknown as { __shown: number }).__shown));
      phases.push(await page.evaluate(readPhases));
      await expect(page.getByTestId('details-summary')).toContainText(`${COUNT.toLocaleString('en-US')} mailboxes`);
    }
    // Where the click's time goes: the list fetch the console makes (listMailboxTable: the service, then the
    // harness's page binding in place of IPC) against the page's own work; listMailboxes (one object per mailbox) for comparison.
    type ListOp = 'listMailboxTable' | 'listMailboxes';
    const fetchFromPage = (op: ListOp): Promise<number> =>
      page.evaluate(
        async ([name, domain]) => {
          const api = (globalThis as unknown as { winpop: Record<string, (a: { domain: string }) => Promise<unknown>> }).winpop;
          const t = performance.now();
          await api[name]?.({ domain });
          return performance.now() - t;
        },
        [op, DOMAIN] as const,
      );
    const serviceList: number[] = [];
    const pageFetch: number[] = [];
    const serviceObjects: number[] = [];
    const pageFetchObjects: number[] = [];
    for (let i = 0; i < 3; i++) {
      let t0 = performance.now();
      await service.host.admin.listMailboxTable({ domain: DOMAIN });
      serviceList.push(performance.now() - t0);
      pageFetch.push(await fetchFromPage('listMailboxTable'));
      t0 = performance.now();
      await service.host.admin.listMailboxes({ domain: DOMAIN });
      serviceObjects.push(performance.now() - t0);
      pageFetchObjects.push(await fetchFromPage('listMailboxes'));
    }
    console.log(`listMailboxTable: in the service ${median(serviceList).toFixed(0)} ms; called from the page ${median(pageFetch).toFixed(0)} ms`);
    console.log(`listMailboxes (for comparison): in the service ${median(serviceObjects).toFixed(0)} ms; called from the page ${median(pageFetchObjects).toFixed(0)} ms`);

    // BENCH_CONSOLE_PROFILE_CLICK=FILE.cpuprofile: the page's CPU profile over one more click (Computer, then the domain).
    const clickProfile = process.env.BENCH_CONSOLE_PROFILE_CLICK;
    if (clickProfile) {
      const session = await page.context().newCDPSession(page);
      await computer.click();
      await expect(page.getByRole('grid', { name: 'Domains' })).toBeVisible();
      await session.send('Profiler.enable');
      await session.send('Profiler.setSamplingInterval', { interval: 200 });
      await session.send('Profiler.start');
      await page.evaluate(ARM_CLICK_MEASURE);
      await domainNode.click();
      await page.waitForFunction(() => (globalThis as unknown as { __shown: number | null }).__shown !== null, undefined, { timeout: 120_000 });
      const { profile } = (await session.send('Profiler.stop')) as { profile: unknown };
      await writeFile(clickProfile, JSON.stringify(profile));
      console.log(`page CPU profile of a domain click: ${clickProfile}`);
    }
    console.log(`click → rows: first ${clickToRows[0]?.toFixed(0)} ms, then ${clickToRows.slice(1).map((t) => t.toFixed(0)).join(', ')} ms`);
    const phase = (key: keyof Phases): [string, string] => [(phases[0]?.[key] ?? Number.NaN).toFixed(0), median(phases.slice(1).map((p) => p[key])).toFixed(0)];
    console.log(`phases (first; median): list in the page ${phase('fetched').join('; ')} ms, rows in the store ${phase('stored').join('; ')} ms, shown ${phase('shown').join('; ')} ms`);

    type Frames = { intervals: number[]; longFrames: number[]; rendered: number; work?: Work; otherCpus?: number };
    type Work = { task: number; script: number; layout: number; style: number };
    // Chromium's own counters of main-thread work, to tell the page's work per frame from the frame rate.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const metrics = async (): Promise<Work> => {
      const { metrics: list } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
      const get = (name: string): number => (list.find((m) => m.name === name)?.value ?? 0) * 1000;
      return { task: get('TaskDuration'), script: get('ScriptDuration'), layout: get('LayoutDuration'), style: get('RecalcStyleDuration') };
    };
    const measureScroll = async (mode: 'steady' | 'jump'): Promise<Frames> => {
      const cpuBefore = await cpuTimes();
      const t0 = performance.now();
      const before = await metrics();
      const frames = (await page.evaluate(scrollFrames(mode, 240))) as Frames;
      const after = await metrics();
      const cpuAfter = await cpuTimes();
      // Other programs on the machine during the scroll, in CPUs: what the page had to share the cores with.
      // (Clamped at 0: both counts move in 10 ms ticks.)
      if (cpuBefore && cpuAfter) frames.otherCpus = Math.max(0, cpuAfter.busy - cpuBefore.busy - (cpuAfter.ours - cpuBefore.ours)) / (performance.now() - t0);
      const n = frames.intervals.length;
      frames.work = {
        task: (after.task - before.task) / n,
        script: (after.script - before.script) / n,
        layout: (after.layout - before.layout) / n,
        style: (after.style - before.style) / n,
      };
      return frames;
    };
    await page.getByRole('grid').hover();
    const steady = await measureScroll('steady');
    const jump = await measureScroll('jump');
    // One more steady scroll under Chromium's tracing, to split each frame's CPU between the page's main thread and the threads that raster and composite (software, --disable-gpu).
    await page.evaluate(() => {
      const grid = document.querySelector('[role="grid"]');
      if (grid) grid.scrollTop = 0;
    });
    const browser = page.context().browser();
    let traced: ThreadSplit | null = null;
    if (browser) {
      await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'toplevel'] });
      await page.evaluate(scrollFrames('steady', 120));
      traced = splitTrace((JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] }).traceEvents);
    }
    // BENCH_CONSOLE_PROFILE=FILE.cpuprofile: the page's CPU profile over one more steady scroll (read it with dist/bench/cpuprofile-top.js).
    const profileFile = process.env.BENCH_CONSOLE_PROFILE;
    if (profileFile) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
      await page.evaluate(scrollFrames('steady', 240));
      const { profile } = (await cdp.send('Profiler.stop')) as { profile: unknown };
      await writeFile(profileFile, JSON.stringify(profile));
      console.log(`page CPU profile of a steady scroll: ${profileFile}`);
    }
    const actions = await timeActions(page, wiring.calls);
    const describe = (f: Frames): string[] => [
      String(f.intervals.length),
      percentile(f.intervals, 50).toFixed(1),
      percentile(f.intervals, 95).toFixed(1),
      percentile(f.intervals, 99).toFixed(1),
      Math.max(...f.intervals).toFixed(1),
      String(f.intervals.filter((t) => t > 16.7 * 1.5).length),
      String(f.longFrames.length),
      `${f.work?.task.toFixed(1)} (script ${f.work?.script.toFixed(1)}, layout ${f.work?.layout.toFixed(1)}, style ${f.work?.style.toFixed(1)})`,
      String(f.rendered),
      f.otherCpus === undefined ? '' : `${f.otherCpus.toFixed(2)} of ${os.cpus().length}`,
    ];
    console.log(`steady scroll p95 ${percentile(steady.intervals, 95).toFixed(1)} ms; jumps p95 ${percentile(jump.intervals, 95).toFixed(1)} ms`);

    const firstClick = clickToRows[0] ?? Number.NaN;
    const again = median(clickToRows.slice(1));
    const frameP95 = Math.max(percentile(steady.intervals, 95), percentile(jump.intervals, 95));
    // One display frame at 60 Hz is 16.7 ms: a frame that keeps up arrives every 16.7 ms; 16 ms of work fits in it.
    const frameOk = frameP95 <= 16.7 * 1.1;
    await saveResult(
      {
        name: 'console-scale',
        title: `Console, a domain of ${COUNT.toLocaleString('en')} mailboxes (Chromium ${page.context().browser()?.version() ?? ''})`,
        command: 'npx playwright test --config bench/playwright.config.ts',
        table: [
          ['figure', 'first', `median of ${REPEATS} more`],
          ['domain click → rows shown (ms)', firstClick.toFixed(0), again.toFixed(0)],
          ['  click → the list has arrived in the page, ms', ...phase('fetched')],
          ['  → expanded into rows, in the console\'s store, ms', ...phase('stored')],
          ['  → rendered, frame produced, ms', ...phase('shown')],
          ['  of which could be the list fetch: listMailboxTable called from the page (service + harness binding), ms', '', median(pageFetch).toFixed(0)],
          ['  listMailboxTable in the service alone (in-process call), ms', '', median(serviceList).toFixed(0)],
          ['  for comparison, one object per mailbox: listMailboxes called from the page, ms', '', median(pageFetchObjects).toFixed(0)],
          ['  for comparison: listMailboxes in the service alone, ms', '', median(serviceObjects).toFixed(0)],
          [],
          ['scroll', 'frames', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'frames > 25 ms', 'long animation frames (> 50 ms)', 'main-thread work per frame, ms', 'rows in the page', 'other programs during the scroll, CPUs busy'],
          ['steady, 800 px per frame', ...describe(steady)],
          ['jump anywhere every frame', ...describe(jump)],
          [],
          [`action on all ${COUNT.toLocaleString('en')} rows: input event → frame showing the result`, 'median ms', `max ms (${ACTION_ROUNDS} rounds)`],
          ...[...actions.times].map(([what, ms]) => [what, median(ms).toFixed(0), Math.max(...ms).toFixed(0)]),
          [],
          ['CPU per frame, ms (steady scroll, traced)', ...SPLIT_COLUMNS],
          ['steady, 800 px per frame, 120 frames', ...SPLIT_COLUMNS.map((c) => (traced ? traced[c].toFixed(2) : ''))],
        ],
        targets: [
          { what: 'domain click → rows shown', target: '≤ 500 ms', value: `${firstClick.toFixed(0)} ms first, ${again.toFixed(0)} ms again`, met: Math.max(firstClick, again) <= 500 },
          { what: 'scroll frame time (p95 of frame intervals)', target: '≤ 16 ms per frame', value: `${frameP95.toFixed(1)} ms`, met: frameOk },
        ],
        notes: [
          'Measured in the page with performance marks: pointerdown on the tree node → the frame after the first mailbox row is in the DOM (requestAnimationFrame, then a task). The three rows below it divide that time at the console\'s own marks (the list reply arrived; its rows are in the store).',
          'Each click (the first, and each later one back from the Computer node) fetches the list from the service with listMailboxTable (the mailboxes in columns, which the page expands into rows) through the harness\'s page binding (JSON text, in place of Electron IPC); the rows below the click time show how long that fetch takes alone, and listMailboxes (one object per mailbox, what the console fetched before) for comparison.',
          'Main-thread work per frame: Chromium\'s TaskDuration (script, layout, style included) over the scroll, divided by the frames (CDP Performance.getMetrics). It is wall time: when other programs hold the cores, it grows. Other programs during the scroll: the machine\'s busy CPU time (/proc/stat) less this process\'s and its children\'s (the service and Chromium), over the scroll\'s duration.',
          'CPU per frame (traced): one more steady scroll under Chromium\'s tracing, each event\'s thread CPU time (not wall time) between the first and last animation frame, over the frames: the page\'s main thread in all, then split into script (including the benchmark\'s own requestAnimationFrame callback), style, layout, paint and commit, and the rest; the other columns are the threads that raster (renderer workers) and composite (the compositor thread, and the GPU process\'s display compositor, in software here). Tracing adds some overhead of its own.',
          `Actions: each timed in the page from its input event (input for the filter, pointerdown for a click, keydown for a key) to the frame after the page shows the result (a MutationObserver, then requestAnimationFrame and a task), as e2e/console/details-grid.spec.ts takes them at 10,000 mailboxes. A lock patches its row: the list was fetched again after a lock ${actions.refetchedAfterLock} time(s).`,
          'Frame time = interval between successive requestAnimationFrame callbacks while the grid scrolls by script every frame; at 60 Hz a frame that keeps up is 16.7 ms, so p95 ≤ 18.4 ms (16.7 + 10%) counts as meeting "≤ 16 ms of work per frame". Headless Chromium, software rendering (--disable-gpu), on the same 2 CPUs as the service.',
        ],
        raw: { clickToRows, phases, steady, jump, traced, serviceList, pageFetch, serviceObjects, pageFetchObjects, actions: Object.fromEntries(actions.times) },
      },
      started,
    );
  } finally {
    wiring.unsubscribe();
    await server.close();
    await service.stop();
  }
});

/**
 * The big-domain test's actions on every row, timed in the page; fails when
 * one does not show its result (the same checks as the test).
 */
async function timeActions(page: Page, calls: readonly string[]): Promise<{ times: Map<string, number[]>; refetchedAfterLock: number }> {
  const times = new Map<string, number[]>();
  const time = async (what: string, trigger: 'pointerdown' | 'keydown' | 'input', screen: readonly ScreenCondition[], act: () => Promise<unknown>): Promise<void> => {
    const ms = await timeAction(page, trigger, screen, act);
    times.set(what, [...(times.get(what) ?? []), ms]);
  };
  const id = (n: number): string => `user${String(n).padStart(6, '0')}@${DOMAIN}`;
  const summary = (text: string): ScreenCondition => ({ selector: '[data-testid="details-summary"]', text });
  const sortedBy = (column: string, order: string): ScreenCondition => ({ selector: `[data-testid="column-${column}"]`, attribute: ['aria-sort', order] });
  const firstRow = '[role="grid"] [data-testid="grid-row"]';
  const filter = page.getByTestId('filter');
  const grid = page.getByRole('grid');
  let refetchedAfterLock = 0;
  await grid.evaluate((el) => (el.scrollTop = 0));
  await expect(page.locator(rowSelector(id(0)))).toBeVisible();
  for (let round = 0; round < ACTION_ROUNDS; round++) {
    // Every tenth mailbox is locked already (the builder's); these are not.
    const target = id(42 + round);
    await time('filter typed: 10 rows shown', 'input', [summary(`${COUNT.toLocaleString('en-US')} mailboxes, 10 shown`), { selector: rowSelector(id(41)) }], () => filter.fill('user00004'));
    await page.locator(rowSelector(target)).click({ button: 'right' });
    const lock = page.getByTestId('context-menu').getByRole('menuitem', { name: 'Lock', exact: true });
    await expect(lock).toBeVisible();
    const lists = calls.filter((c) => c === 'listMailboxTable').length;
    await time('right-click Lock: the row says Locked', 'pointerdown', [{ selector: cellSelector(target, 'state'), text: 'Locked' }], () => lock.click());
    refetchedAfterLock += calls.filter((c) => c === 'listMailboxTable').length - lists;
    await time('filter cleared: every row back', 'input', [summary(`${COUNT.toLocaleString('en-US')} mailboxes`), { selector: rowSelector(id(0)) }], () => filter.fill(''));
    await time('sort by state, ascending', 'pointerdown', [sortedBy('state', 'ascending'), { selector: `${firstRow} .cell-state`, text: 'Unlocked' }], () => page.getByTestId('column-state').click());
    await time('sort by state, descending', 'pointerdown', [sortedBy('state', 'descending'), { selector: `${firstRow} .cell-state`, text: 'Locked' }], () => page.getByTestId('column-state').click());
    await time('sort by name again', 'pointerdown', [sortedBy('name', 'ascending'), { selector: firstRow, attribute: ['data-row-id', id(0)] }], () => page.getByTestId('column-name').click());
    await page.locator(rowSelector(id(0))).click();
    await time('End: the last row shown and selected', 'keydown', [{ selector: rowSelector(id(COUNT - 1)), attribute: ['aria-selected', 'true'] }], () => page.keyboard.press('End'));
    await time('Home: the first row shown and selected', 'keydown', [{ selector: rowSelector(id(0)), attribute: ['aria-selected', 'true'] }], () => page.keyboard.press('Home'));
  }
  return { times, refetchedAfterLock };
}
