/**
 * The computer's view charts POP3 sessions and log-ins per minute, and the
 * chart follows real poplib sessions while it is on screen (the service's
 * `counters` events; no reload), in words as well as in lines, in the light
 * and the dark theme.
 */

import type { CountersReport } from '../../shared/contract.js';
import { pop3FetchAll } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';

const total = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const words = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

test('the computer view charts sessions and log-ins per minute, live, as real POP3 sessions run', async ({ ui, service }) => {
  const { host, pop3Port } = service;
  await seed(host.admin, { 'example.com': { ann: 'Ann-pass-1' } });
  await ui.open();
  await ui.selectComputer();

  const chart = ui.page.getByTestId('activity-chart');
  const summary = ui.page.getByTestId('activity-summary');
  const sessionsLine = ui.page.getByTestId('activity-line-sessions');
  await expect(chart).toBeVisible();
  // The service's counters belong to its process, which other tests of this worker have used: the figures before, then what these sessions add.
  const before: CountersReport = await host.admin.counters({});
  const sessions = total(before.minutes.counts.sessions);
  const logins = total(before.minutes.counts.loginsAccepted);
  await expect(summary).toContainText(`Last hour: ${words(sessions, 'session')}, ${words(logins, 'log-in')}`);
  const pointsBefore = await sessionsLine.getAttribute('points');

  const fetched = await pop3FetchAll(pop3Port, 'ann@example.com', 'Ann-pass-1');
  expect(fetched.ok, JSON.stringify(fetched)).toBe(true);
  const refused = await pop3FetchAll(pop3Port, 'ann@example.com', 'not-her-password');
  expect(refused.ok).toBe(false);

  await expect(summary).toContainText(`Last hour: ${words(sessions + 2, 'session')}, ${words(logins + 1, 'log-in')}`);
  await expect(summary).toContainText('Open now: 0 sessions.');
  expect(await sessionsLine.getAttribute('points')).not.toBe(pointsBefore);
  // The text alternative: the figures are the chart's accessible name.
  await expect(ui.page.getByRole('img', { name: /^Sessions and log-ins per minute\. Last hour: / })).toHaveAccessibleName(
    new RegExp(`Last hour: ${words(sessions + 2, 'session')}, ${words(logins + 1, 'log-in')}`),
  );
  expect(ui.callCount('counters'), 'fetched once when shown; the rest came as events').toBe(1);

  // Both themes draw the lines in their own colours.
  const stroke = (): Promise<string> => sessionsLine.evaluate((line) => getComputedStyle(line).stroke);
  await ui.page.emulateMedia({ colorScheme: 'light' });
  const light = await stroke();
  await ui.page.emulateMedia({ colorScheme: 'dark' });
  const dark = await stroke();
  expect(light).toBe('rgb(0, 99, 177)');
  expect(dark).toBe('rgb(76, 194, 255)');
});
