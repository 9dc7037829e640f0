/**
 * A state file damaged by hand while the console is open: the POP3 log-in
 * that finds it is refused (fails closed), and the console shows the
 * mailbox (or the domain and all its mailboxes) as "Error", with the file
 * and the repair in the tooltip and in Properties, until the repair made
 * from a shell clears it.
 */

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pop3FetchAll } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';
import { winpop } from './winpop-cli.js';

test('a damaged mailbox file shows as Error with the file and the repair; changepwd clears it', async ({ ui, service, page }) => {
  await seed(service.host.admin, { 'example.com': { ann: 'Ann-pass-1', bob: 'Bob-pass-2' } });
  await ui.open();
  await ui.openDomain('example.com');
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');

  const file = path.join(service.mailroot, 'example.com', 'bob', '.winpop-mailbox.json');
  await writeFile(file, '{ "version": 1, "password": ');
  const refused = await pop3FetchAll(service.pop3Port, 'bob@example.com', 'Bob-pass-2');
  expect(refused.ok).toBe(false);
  if (!refused.ok) expect(refused.error).toMatch(/\[SYS\/PERM\]/);

  const state = ui.cell('bob@example.com', 'state').locator('span');
  await expect(state).toHaveText('Error');
  await expect(state).toHaveClass(/\berror\b/);
  // The service names the file and its command-line repair; the console names the file and the repair in its own menus.
  await expect(state).toHaveAttribute(
    'title',
    `The store file ${file} is damaged (not valid JSON). To repair it, set a new password (Change Password… in the mailbox's menu), or restore the file from a backup. Until then it cannot log in.`,
  );
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Unlocked');
  await ui.screenshot('domain-view-damaged-mailbox');

  await ui.row('bob@example.com').dblclick();
  const properties = ui.dialog('bob@example.com Properties');
  await expect(properties.getByTestId('properties-state')).toHaveText('Error');
  await expect(properties.getByTestId('properties-problem')).toContainText(`${file} is damaged (not valid JSON)`);
  await expect(properties.getByTestId('properties-problem')).toContainText('set a new password (Change Password… in the mailbox\'s menu)');
  await expect(properties.getByTestId('properties-problem')).not.toContainText(/winpop [a-z]|`/);
  await page.keyboard.press('Escape');
  await expect(properties).toBeHidden();

  const repair = await winpop(service, ['changepwd', 'bob@example.com', 'Bob-new-3']);
  expect(repair.code, repair.stderr).toBe(0);
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');
  await expect(state).not.toHaveAttribute('title', /.+/);
  const fetched = await pop3FetchAll(service.pop3Port, 'bob@example.com', 'Bob-new-3');
  expect(fetched.ok, JSON.stringify(fetched)).toBe(true);
});

test('a damaged domain file shows the domain and every mailbox in it as Error; lock and unlock clear it', async ({ ui, service }) => {
  await seed(service.host.admin, { 'example.com': { ann: 'Ann-pass-1', bob: 'Bob-pass-2' }, 'example.org': { carl: 'Carl-pass-3' } });
  await ui.open();
  await ui.openDomain('example.com');
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Unlocked');

  const file = path.join(service.mailroot, 'example.com', '.winpop-domain.json');
  await writeFile(file, 'not json');
  const refused = await pop3FetchAll(service.pop3Port, 'ann@example.com', 'Ann-pass-1');
  expect(refused.ok).toBe(false);

  for (const address of ['ann@example.com', 'bob@example.com']) {
    const state = ui.cell(address, 'state').locator('span');
    await expect(state).toHaveText('Error');
    await expect(state).toHaveAttribute('title', new RegExp(`${file.replace(/[.\\/]/g, '\\$&')} is damaged \\(not valid JSON\\)\\. To repair it, lock the domain and unlock it again`));
  }
  await ui.selectComputer();
  const domainState = ui.cell('example.com', 'state').locator('span');
  await expect(domainState).toHaveText('Error');
  await expect(domainState).toHaveAttribute('title', /\(Lock, then Unlock, in the domain's menu\), or restore the file from a backup\. Until then no mailbox of the domain can log in\.$/);
  await expect(domainState).not.toHaveAttribute('title', /winpop [a-z]|`/);
  await expect(ui.cell('example.org', 'state')).toHaveText('Unlocked');
  await ui.screenshot('computer-view-damaged-domain');

  for (const verb of ['lock', 'unlock']) {
    const r = await winpop(service, [verb, 'example.com']);
    expect(r.code, r.stderr).toBe(0);
  }
  await expect(ui.cell('example.com', 'state')).toHaveText('Unlocked');
  await ui.openDomain('example.com');
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Unlocked');
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');
});
