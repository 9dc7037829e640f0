/**
 * The computer's view charts POP3 sessions and log-ins per minute, and the
 * chart follows real poplib sessions while it is on screen (the service's
 * `counters` events; no reload), in words as well as in lines, in the light
 * and the dark theme.
 */

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CountersReport } from '../../shared/contract.js';
import { freePort } from '../helpers/free-port.js';
import { pop3FetchAll } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';
import { REPO_ROOT } from './service-fixture.js';

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

function winpop(mailroot: string, config: string, args: readonly string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [path.join(REPO_ROOT, 'bin', 'winpop.js'), '--mailroot', mailroot, '--config', config, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`winpop ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
    child.stdin?.end(input);
  });
}

test('another computer\'s view charts its own sessions, live through its admin endpoint', async ({ ui }) => {
  test.setTimeout(120_000);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'winpop-activity-'));
  const mailroot = path.join(dir, 'mail');
  const config = path.join(dir, 'winpop.json');
  const adminPort = await freePort();
  let child: ChildProcess | null = null;
  try {
    await winpop(mailroot, config, ['add', 'example.org']);
    await winpop(mailroot, config, ['add', 'bo@example.org', '/createuser', '-'], 'Bo-pass-1\n');
    await winpop(mailroot, config, ['admin', 'add', 'alice', '-'], 'Second-admin-pw-1\n');
    // A pop3svc process of its own: its counters are not this test process's.
    const started = spawn(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'pop3svc.js'), '--mailroot', mailroot, '--config', config, '--pop3-port', '0', '--smtp-port', '0', '--listen', '127.0.0.1', '--admin-port', String(adminPort)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    let out = '';
    started.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
    started.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
    await expect.poll(() => /pop3svc ready .*pop3=[^ ]*:(\d+)/.exec(out)?.[1] ?? (started.exitCode !== null ? `exited: ${out}` : null), { timeout: 20_000 }).toMatch(/^\d+$/);
    const pop3Port = Number(/pop3svc ready .*pop3=[^ ]*:(\d+)/.exec(out)?.[1]);

    await ui.open();
    await ui.treeItem('root').click({ button: 'right' });
    await ui.menuItem('Connect to Another Computer…').click();
    const connect = ui.dialog('Connect to Another Computer');
    await connect.getByTestId('input-host').fill('127.0.0.1');
    await connect.getByTestId('input-port').fill(String(adminPort));
    await connect.getByTestId('input-admin').fill('alice');
    await connect.getByTestId('input-password').fill('Second-admin-pw-1');
    await connect.getByRole('button', { name: 'Connect' }).click();
    await ui.dialog("Confirm the Computer's Certificate").getByRole('button', { name: 'Trust and Connect' }).click();
    await expect(connect).toBeHidden();
    const [info] = (await ui.page.evaluate(() => (window as unknown as { winpop: { computers: { listComputers(a: object): Promise<{ id: string }[]> } } }).winpop.computers.listComputers({}))) as { id: string }[];
    const id = (info as { id: string }).id;
    await expect(ui.page.getByTestId(`state-remote:${id}`)).toHaveText('(connected)');
    await ui.treeItem(`remote:${id}`).click();

    const summary = ui.page.getByTestId('activity-summary');
    await expect(summary).toContainText('Last hour: 0 sessions, 0 log-ins (0 failed).');
    const fetched = await pop3FetchAll(pop3Port, 'bo@example.org', 'Bo-pass-1');
    expect(fetched.ok, JSON.stringify(fetched)).toBe(true);
    const refused = await pop3FetchAll(pop3Port, 'bo@example.org', 'not-his-password');
    expect(refused.ok).toBe(false);
    await expect(summary).toContainText('Last hour: 2 sessions, 1 log-in (1 failed).');
  } finally {
    if (child !== null && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
});
