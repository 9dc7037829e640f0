/**
 * Locking a whole domain, and locking several mailboxes at once with a
 * result per mailbox.
 */

import { pop3FetchAll } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';

test('a locked domain locks every mailbox; a mailbox inside cannot be unlocked alone, and says why', async ({ ui, service, page }) => {
  const { host, pop3Port } = service;
  await seed(host.admin, { 'example.com': { ann: 'Ann-pass-1', bob: 'Bob-pass-2' }, 'example.org': { zoe: 'Zoe-pass-9' } });
  await host.admin.lock({ target: 'ann@example.com', reason: 'own lock' });
  await ui.open();

  // Right-click the domain in the tree → Lock.
  await ui.domainNode('example.com').click({ button: 'right' });
  await ui.menuItem('Lock').click();
  await expect(ui.domainNode('example.com')).toHaveAttribute('data-locked', 'true');
  await expect(ui.domainNode('example.com')).toHaveAccessibleName('example.com (locked)');
  await expect(ui.domainNode('example.org')).not.toHaveAttribute('data-locked', 'true');

  await ui.openDomain('example.com');
  await expect(page.getByTestId('domain-lock-banner')).toContainText('The domain example.com is locked');
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Locked');
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Locked (domain)');

  const refused = await pop3FetchAll(pop3Port, 'bob@example.com', 'Bob-pass-2');
  expect(refused.ok).toBe(false);
  if (!refused.ok) expect(refused.error).toMatch(/^-ERR \[AUTH\] .*disabled by the administrator/);

  // Unlock is disabled for a mailbox whose domain is locked, with the reason as its tooltip.
  await ui.rightClick('ann@example.com');
  const unlock = ui.menuItem('Unlock');
  await expect(unlock).toHaveAttribute('aria-disabled', 'true');
  await expect(unlock).toHaveAttribute('title', /domain example\.com is locked.*Unlock the domain first/);
  await unlock.click({ force: true });
  await expect(ui.contextMenu, 'a disabled item does nothing').toBeVisible();
  await page.keyboard.press('Escape');
  await expect(ui.contextMenu).toBeHidden();

  await ui.screenshot('domain-locked');
  // The menu only mirrors the rule; the service enforces it.
  const [refusal] = await host.admin.unlockMany({ targets: ['ann@example.com'] });
  expect(refusal?.ok === false && refusal.error.code).toBe('DOMAIN_LOCKED');

  // Unlocking the domain restores each mailbox's own state.
  await page.getByTestId('domain-lock-banner').getByRole('button', { name: 'Unlock domain' }).click();
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Locked');
  await expect(ui.domainNode('example.com')).not.toHaveAttribute('data-locked', 'true');
  const ok = await pop3FetchAll(pop3Port, 'bob@example.com', 'Bob-pass-2');
  expect(ok.ok, JSON.stringify(ok)).toBe(true);
});

test('several mailboxes selected with Ctrl/Shift lock together, with a result per mailbox', async ({ ui, service, page }) => {
  const { host } = service;
  await seed(host.admin, { 'example.com': { ann: 'a-pass-1', bob: 'b-pass-2', carol: 'c-pass-3', dave: 'd-pass-4', erin: 'e-pass-5' } });
  await ui.open();
  await ui.openDomain('example.com');

  // Click, Shift+click a range, Ctrl+click one more.
  await ui.row('ann@example.com').click();
  await ui.row('carol@example.com').click({ modifiers: ['Shift'] });
  await ui.row('erin@example.com').click({ modifiers: ['ControlOrMeta'] });
  for (const name of ['ann', 'bob', 'carol', 'erin']) await expect(ui.row(`${name}@example.com`)).toHaveAttribute('aria-selected', 'true');
  await expect(ui.row('dave@example.com')).toHaveAttribute('aria-selected', 'false');
  await expect(page.getByTestId('status-counts')).toHaveText('5 mailboxes, 4 selected');

  await ui.rightClick('bob@example.com');
  await ui.menuItem('Lock').click();
  await expect(ui.status).toHaveText('Locked 4 mailboxes.');
  for (const name of ['ann', 'bob', 'carol', 'erin']) await expect(ui.cell(`${name}@example.com`, 'state')).toHaveText('Locked');
  await expect(ui.cell('dave@example.com', 'state')).toHaveText('Unlocked');
  const listed = await host.admin.listMailboxes({ domain: 'example.com' });
  expect(listed.filter((m) => m.locked).map((m) => m.name).sort()).toEqual(['ann', 'bob', 'carol', 'erin']);

  // Ctrl+A, then Unlock from the Action menu: each mailbox is reported, some were not locked.
  await ui.grid.focus();
  await page.keyboard.press('ControlOrMeta+a');
  await expect(page.getByTestId('status-counts')).toHaveText('5 mailboxes, 5 selected');
  await page.getByTestId('menubar-action').click();
  await page.getByTestId('menu-popup-action').getByRole('menuitem', { name: 'Unlock', exact: true }).click();
  await expect(ui.status).toHaveText('Unlocked 4 mailboxes.');
  for (const name of ['ann', 'bob', 'carol', 'dave', 'erin']) await expect(ui.cell(`${name}@example.com`, 'state')).toHaveText('Unlocked');
});

test('a bulk lock where some mailboxes fail lists each failure with its reason', async ({ ui, service, page }) => {
  const { host } = service;
  await seed(host.admin, { 'example.com': { ann: 'a-pass-1', bob: 'b-pass-2', carol: 'c-pass-3' } });
  await ui.open();
  await ui.openDomain('example.com');
  await ui.grid.focus();
  await page.keyboard.press('ControlOrMeta+a');
  await ui.rightClick('ann@example.com');

  // While the menu is open, another administrator deletes bob from a shell.
  await host.service.forActor('other-admin').deleteMailbox({ address: 'bob@example.com' });
  await ui.menuItem('Lock').click();

  const results = ui.dialog('Lock results');
  await expect(results).toBeVisible();
  await expect(results.getByTestId('bulk-summary')).toHaveText('Locked 2 of 3 mailboxes; 1 failed.');
  const failed = results.locator('[data-testid="bulk-result"][data-ok="false"]');
  await expect(failed).toHaveCount(1);
  await expect(failed).toContainText('bob@example.com');
  await expect(failed).toContainText(/no mailbox|not found|does not exist/i);
  await expect(results.locator('[data-testid="bulk-result"][data-ok="true"]')).toHaveCount(2);
  await ui.screenshot('bulk-results-dialog');
  await page.keyboard.press('Escape');
  await expect(results).toBeHidden();
  await expect(ui.status).toHaveText('Locked 2 of 3 mailboxes; 1 failed.');
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Locked');
  await expect(ui.cell('carol@example.com', 'state')).toHaveText('Locked');
});

test('a lock the service refuses is shown in the error bar, not swallowed', async ({ ui, service, page }) => {
  await seed(service.host.admin, { 'example.com': { ann: 'a-pass-1', bob: 'b-pass-2' } });
  await ui.open();
  await ui.openDomain('example.com');
  await ui.rightClick('bob@example.com');
  await service.host.service.forActor('other-admin').deleteMailbox({ address: 'bob@example.com' });
  await ui.menuItem('Lock').click();

  const bar = page.getByTestId('error-bar');
  await expect(bar).toContainText('Lock failed: No mailbox bob@example.com: it no longer exists (another administrator may have deleted it).');
  await expect(bar, 'no command to type in the console').not.toContainText(/winpop|`/);
  await expect(bar).toHaveAttribute('role', 'alert');
  await expect(ui.status).toHaveText(/^Lock failed/);
  await expect(ui.row('bob@example.com')).toHaveCount(0);
  await bar.getByRole('button', { name: 'Dismiss this message' }).click();
  await expect(bar).toHaveCount(0);
});

test('unlocking a mailbox whose domain was locked meanwhile: the console words the refusal and offers Unlock domain', async ({ ui, service, page }) => {
  const { host } = service;
  await seed(host.admin, { 'example.com': { ann: 'Ann-pass-1', bob: 'Bob-pass-2' } });
  await host.admin.lock({ target: 'ann@example.com', reason: 'own lock' });
  await ui.open();
  await ui.openDomain('example.com');

  // The menu is open with Unlock enabled when another administrator locks the whole domain from a shell.
  await ui.rightClick('ann@example.com');
  await expect(ui.menuItem('Unlock')).not.toHaveAttribute('aria-disabled', 'true');
  await host.service.forActor('other-admin').lock({ target: 'example.com' });
  await ui.menuItem('Unlock').click();

  // The service refuses with DOMAIN_LOCKED; its message tells a shell user what to type, the console says it its own way.
  const bar = page.getByTestId('error-bar');
  await expect(bar).toContainText('Unlock failed: The domain example.com is locked, so ann@example.com cannot be unlocked on its own. Unlock the domain first.');
  await expect(bar).not.toContainText(/winpop|`/);
  await expect(ui.status).not.toContainText(/winpop|`/);
  await ui.screenshot('domain-locked-refusal');

  // The way out is right there.
  await bar.getByRole('button', { name: 'Unlock domain' }).click();
  await expect(bar).toHaveCount(0);
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');
  expect((await host.admin.listDomains({})).find((d) => d.name === 'example.com')?.lock).toBeNull();
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Locked');
});
