/**
 * The view follows changes made elsewhere: a `winpop lock` from a shell shows
 * within a second, and so do mail arriving and mailboxes added or removed.
 */

import { smtpSend } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';
import { winpop } from './winpop-cli.js';

/** "Within a second": after the shell command returns, the view has one second to show it. */
const WITHIN_A_SECOND = { timeout: 1_000 };

test('a lock made with winpop in a shell shows in the open view within a second', async ({ ui, service }) => {
  await seed(service.host.admin, { 'example.com': { ann: 'Ann-pass-1', bob: 'Bob-pass-2' } });
  await ui.open();
  await ui.openDomain('example.com');
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');

  const locked = await winpop(service, ['lock', 'bob@example.com', '--reason', 'left the company']);
  expect(locked.code, locked.stderr).toBe(0);
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Locked', WITHIN_A_SECOND);
  await expect(ui.cell('bob@example.com', 'state').locator('span')).toHaveAttribute('title', /left the company/);

  const unlocked = await winpop(service, ['unlock', 'bob@example.com']);
  expect(unlocked.code, unlocked.stderr).toBe(0);
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked', WITHIN_A_SECOND);

  // A domain locked from the shell: its mark in the tree, and every mailbox shows it.
  const domainLocked = await winpop(service, ['lock', 'example.com']);
  expect(domainLocked.code, domainLocked.stderr).toBe(0);
  await expect(ui.domainNode('example.com')).toHaveAttribute('data-locked', 'true', WITHIN_A_SECOND);
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Locked (domain)', WITHIN_A_SECOND);
});

test('mail arriving updates counts and sizes; mailboxes added or removed elsewhere appear and go', async ({ ui, service }) => {
  await seed(service.host.admin, { 'example.com': { ann: 'Ann-pass-1' } });
  await ui.open();
  await ui.openDomain('example.com');
  await expect(ui.cell('ann@example.com', 'messages')).toHaveText('0');
  await expect(ui.cell('ann@example.com', 'bytes')).toHaveText('0 KB');

  await smtpSend(service.smtpPort, 'ann@example.com', 'Hello', 'x'.repeat(3000));
  await expect(ui.cell('ann@example.com', 'messages')).toHaveText('1', WITHIN_A_SECOND);
  await expect(ui.cell('ann@example.com', 'bytes')).not.toHaveText('0 KB');
  await smtpSend(service.smtpPort, 'ann@example.com', 'Hello again');
  await expect(ui.cell('ann@example.com', 'messages')).toHaveText('2', WITHIN_A_SECOND);

  const added = await winpop(service, ['add', 'dave@example.com', '/createuser', 'Dave-pass-4']);
  expect(added.code, added.stderr).toBe(0);
  await expect(ui.row('dave@example.com')).toBeVisible(WITHIN_A_SECOND);
  await expect(ui.page.getByTestId('details-summary')).toHaveText('2 mailboxes');

  const removed = await winpop(service, ['delete', 'dave@example.com']);
  expect(removed.code, removed.stderr).toBe(0);
  await expect(ui.row('dave@example.com')).toHaveCount(0, WITHIN_A_SECOND);

  // The computer's domain list follows too.
  await ui.selectComputer();
  await expect(ui.cell('example.com', 'messages')).toHaveText('2');
  const domain = await winpop(service, ['add', 'example.org']);
  expect(domain.code, domain.stderr).toBe(0);
  await expect(ui.row('example.org')).toBeVisible(WITHIN_A_SECOND);
  await expect(ui.domainNode('example.org')).toBeVisible();
});

test("a lock's reply that arrives after another admin's later unlock does not put the lock back", async ({ ui, service }) => {
  await seed(service.host.admin, { 'example.com': { bob: 'Bob-pass-2' } });
  await ui.open();
  await ui.openDomain('example.com');
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');

  // The lock runs at once; only its reply to the page waits, as over a slow link.
  let release: () => void = () => undefined;
  ui.transport?.holdReplies('lock', new Promise<void>((resolve) => (release = resolve)));
  await ui.rightClick('bob@example.com');
  await ui.menuItem('Lock').click();
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Locked');

  const unlocked = await winpop(service, ['unlock', 'bob@example.com']);
  expect(unlocked.code, unlocked.stderr).toBe(0);
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');

  release();
  await expect(ui.status).toHaveText('Locked bob@example.com.');
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');
  expect((await service.host.admin.listMailboxes({ domain: 'example.com' }))[0]?.locked).toBe(false);
});
