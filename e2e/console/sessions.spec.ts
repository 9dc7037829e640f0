/**
 * The Sessions node with real poplib clients: a connection shows at once,
 * not logged in, then with its mailbox once it logs in, encrypted after
 * STLS; the list sorts; End Session (right-click, or Delete) closes the
 * session within the one second, its DELE discarded and the call
 * audited; the view stays readable to axe in the light and the dark theme.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AxeBuilder } from '@axe-core/playwright';
import type { Locator } from '@playwright/test';
import { readAudit } from '../../electron/service/store/audit-log.js';
import { freePort } from '../helpers/free-port.js';
import { holdPopSession, type HeldPopSession } from '../helpers/poplib-held.js';
import { connectTo, SecondService, winpop } from './second-computer.js';
import { smtpSend } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';

const ENDED = '-ERR The administrator ended this session; nothing was deleted. Connect again to continue.';
/** The bound: End Session closes the session within a second (the measured time is printed). */
const CLOSED_WITHIN_MS = 1000;

test('the Sessions view lists real poplib sessions live; End Session closes one within 1 s, its DELE discarded', async ({ ui, service, page }, testInfo) => {
  const { host, pop3Port, smtpPort } = service;
  await seed(host.admin, { 'example.com': { ann: 'Ann-pass-1', bob: 'Bob-pass-2' } });
  await smtpSend(smtpPort, 'ann@example.com', 'Kept through End Session');
  const held: HeldPopSession[] = [];
  const sessionId = async (localPort: number): Promise<string> => {
    let id: string | undefined;
    await expect.poll(async () => (id = (await host.admin.listSessions({})).find((s) => s.client === `127.0.0.1:${localPort}`)?.id)).toBeDefined();
    return id as string;
  };
  const cell = (row: Locator, column: 'name' | 'client' | 'since' | 'encrypted' | 'state'): Locator => row.locator(`.cell-${column}`);
  try {
    const ann = holdPopSession(pop3Port, 'plain');
    held.push(ann);
    const annPort = await ann.ready;
    const annRow = ui.row(await sessionId(annPort));

    await ui.open();
    await ui.treeItem('sessions').click();
    const grid = page.getByRole('grid', { name: 'POP3 sessions' });
    await expect(grid).toBeVisible();
    await expect(page.getByTestId('details-title')).toHaveText(`Sessions on ${host.info().computer}`);
    await expect(cell(annRow, 'name')).toHaveText('(not logged in)');
    await expect(cell(annRow, 'client')).toHaveText(`127.0.0.1:${annPort}`);
    await expect(cell(annRow, 'encrypted')).toHaveText('No');
    await expect(cell(annRow, 'state')).toHaveText('Logging in');
    await expect(page.getByTestId('tool-end-session')).toHaveAttribute('aria-disabled', 'true');
    await expect(page.getByTestId('tool-end-session')).toHaveAttribute('title', 'End Session (Del) — Select a session in the list to end it.');

    // Live: the log-in shows without a refresh, and so does a new STLS connection.
    expect(await ann.send('login ann@example.com Ann-pass-1')).toMatch(/^\+OK/);
    await expect(cell(annRow, 'name')).toHaveText('ann@example.com');
    await expect(cell(annRow, 'state')).toHaveText('Logged in');
    expect(await ann.send('dele 1')).toMatch(/^\+OK/);
    const bob = holdPopSession(pop3Port, 'stls');
    held.push(bob);
    const bobPort = await bob.ready;
    const bobRow = ui.row(await sessionId(bobPort));
    await expect(cell(bobRow, 'encrypted')).toHaveText('Yes (STLS)');
    expect(await bob.send('login bob@example.com Bob-pass-2')).toMatch(/^\+OK/);
    await expect(cell(bobRow, 'name')).toHaveText('bob@example.com');
    await expect(page.getByTestId('details-summary')).toHaveText('2 POP3 sessions');

    // Sortable: by mailbox (the default), then the other way round.
    const mailboxes = grid.locator('[data-row-id] .cell-name');
    await expect(mailboxes).toHaveText(['ann@example.com', 'bob@example.com']);
    await page.getByTestId('column-name').click();
    await expect(page.getByTestId('column-name')).toHaveAttribute('aria-sort', 'descending');
    await expect(mailboxes).toHaveText(['bob@example.com', 'ann@example.com']);

    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await ui.screenshot(`sessions-${scheme}`);
      const results = await new AxeBuilder({ page }).analyze();
      const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      expect(serious, `axe, ${scheme} theme`).toEqual([]);
    }

    // Right-click › End Session: poplib sees its connection closed, polled against the one second.
    await annRow.click({ button: 'right' });
    await expect(ui.contextMenu).toHaveAccessibleName('Actions for the session of ann@example.com');
    const clicked = performance.now();
    await ui.menuItem('End Session').click();
    await expect
      .poll(() => ann.closedAt, { message: 'poplib sees its session closed', timeout: CLOSED_WITHIN_MS, intervals: [10] })
      .not.toBeNull();
    const closedAfter = (ann.closedAt as number) - clicked;
    testInfo.annotations.push({ type: 'latency', description: `session seen closed by poplib ${closedAfter.toFixed(0)} ms after the click on End Session` });
    console.log(`session seen closed by poplib ${closedAfter.toFixed(0)} ms after the click on End Session`);
    expect(ann.unasked).toBe(`${ENDED}\r\n`);
    await expect(annRow).toHaveCount(0);
    await expect(ui.status).toHaveText(`Ended the session of ann@example.com (127.0.0.1:${annPort}); nothing it had marked for deletion was deleted.`);
    const [annBox] = (await host.admin.listMailboxes({ domain: 'example.com' })).filter((m) => m.name === 'ann');
    expect(annBox?.messages, 'the DELE was discarded').toBe(1);
    const audit = (await readAudit(service.mailroot)).filter((a) => a.op === 'endSession');
    expect(audit.map((a) => [a.result, a.detail])).toEqual([['ok', `ann@example.com from 127.0.0.1:${annPort}`]]);

    // The keyboard: select bob's row, Delete ends it; the toolbar button is enabled for a selection.
    await bobRow.click();
    await expect(page.getByTestId('tool-end-session')).not.toHaveAttribute('aria-disabled', 'true');
    await page.keyboard.press('Delete');
    await expect.poll(() => bob.closedAt, { message: 'poplib of bob sees its session closed' }).not.toBeNull();
    await expect(grid.locator('[data-row-id]')).toHaveCount(0);
    await expect(grid).toContainText('No POP3 session is open.');
  } finally {
    await Promise.all(held.map((c) => c.close()));
  }
});

test('another computer\'s Sessions node lists its poplib session, and End Session ends it there only', async ({ ui, service, page }, testInfo) => {
  test.setTimeout(120_000);
  // The same mailbox here, logged in too: the one ended must be the other computer's.
  await seed(service.host.admin, { 'example.org': { ann: 'Ann-pass-1' } });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'winpop-second-'));
  const second = new SecondService(path.join(dir, 'mail'), path.join(dir, 'winpop.json'), await freePort());
  const held: HeldPopSession[] = [];
  try {
    await winpop(second.mailroot, second.config, ['add', 'example.org']);
    await winpop(second.mailroot, second.config, ['add', 'ann@example.org', '/createuser', '-'], 'Ann-pass-1\n');
    await winpop(second.mailroot, second.config, ['admin', 'add', 'alice', '-'], 'Second-admin-pw-1\n');
    await second.start();
    const there = holdPopSession(second.pop3Port, 'plain');
    const here = holdPopSession(service.pop3Port, 'plain');
    held.push(there, here);
    const therePort = await there.ready;
    await here.ready;
    expect(await there.send('login ann@example.org Ann-pass-1')).toMatch(/^\+OK/);
    expect(await here.send('login ann@example.org Ann-pass-1')).toMatch(/^\+OK/);

    await ui.open();
    const id = await connectTo(ui, second, 'alice', 'Second-admin-pw-1');
    await ui.treeItem(`sessions:${id}`).click();
    await expect(page.getByTestId('details-title')).toHaveText(/^Sessions on .*127\.0\.0\.1:\d+\)$/);
    const rows = page.getByRole('grid', { name: 'POP3 sessions' }).locator('[data-row-id]');
    await expect(rows).toHaveCount(1);
    await expect(rows.locator('.cell-client')).toHaveText(`127.0.0.1:${therePort}`);
    await expect(rows.locator('.cell-name')).toHaveText('ann@example.org');

    // Live there too: a new connection to that computer shows without a refresh.
    const later = holdPopSession(second.pop3Port, 'plain');
    held.push(later);
    const laterPort = await later.ready;
    await expect(rows).toHaveCount(2);
    await expect(rows.locator('.cell-client')).toContainText([`127.0.0.1:${laterPort}`]);

    await rows.filter({ hasText: 'ann@example.org' }).click({ button: 'right' });
    await ui.menuItem('End Session').click();
    await expect.poll(() => there.closedAt, { message: 'the session on the other computer is closed' }).not.toBeNull();
    await expect(rows).toHaveCount(1);
    expect(await here.send('noop'), 'this computer\'s session of the same mailbox goes on').toBe('+OK');
    expect(here.closedAt).toBeNull();
  } catch (err) {
    await testInfo.attach('second-pop3svc.log', { body: second.output(), contentType: 'text/plain' });
    throw err;
  } finally {
    await Promise.all(held.map((c) => c.close()));
    await second.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
