/**
 * Why an action is disabled, for the keyboard too: a disabled menu item
 * carries its reason as its accessible description and shows it at the foot
 * of the menu while focused; a mailbox inside a locked domain is offered
 * the way out, Unlock Domain. A disabled toolbar button says why in the
 * status bar while the keyboard is on it.
 */

import { pop3FetchAll } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';

test('a disabled menu item says why to the keyboard, and Unlock Domain is the way out', async ({ ui, service, page }) => {
  const { host, pop3Port } = service;
  await seed(host.admin, { 'example.com': { ann: 'Ann-pass-1', bob: 'Bob-pass-2' } });
  await host.admin.lock({ target: 'ann@example.com', reason: 'own lock' });
  await host.admin.lock({ target: 'example.com' });
  await ui.open();
  await ui.openDomain('example.com');
  await ui.grid.focus();
  await expect(ui.row('ann@example.com')).toHaveAttribute('aria-selected', 'true');

  // Shift+F10: the first item, Lock, is disabled; its reason is its description and shows at the foot of the menu.
  await page.keyboard.press('Shift+F10');
  const lock = ui.menuItem('Lock');
  await expect(lock).toBeFocused();
  await expect(lock).toHaveAccessibleDescription('This mailbox is already locked.');
  const reason = page.getByTestId('menu-reason');
  await expect(reason).toHaveText('This mailbox is already locked.');

  // Unlock is disabled because of the domain: the reason names it and the way out.
  await page.keyboard.press('u');
  const unlock = ui.menuItem('Unlock');
  await expect(unlock).toBeFocused();
  const why = 'The domain example.com is locked, so its mailboxes cannot be unlocked one by one. Unlock the domain first (Unlock Domain, below).';
  await expect(unlock).toHaveAccessibleDescription(why);
  await expect(reason).toHaveText(why);
  await expect(reason).toBeInViewport({ ratio: 1 });
  const menuBox = await ui.contextMenu.boundingBox();
  const reasonBox = await reason.boundingBox();
  expect(reasonBox && menuBox && reasonBox.x + reasonBox.width <= menuBox.x + menuBox.width, 'the reason wraps inside the menu').toBe(true);
  await ui.screenshot('menu-disabled-reason');

  // Down: the way out, an enabled item with nothing to explain.
  await page.keyboard.press('ArrowDown');
  const unlockDomain = ui.menuItem('Unlock Domain');
  await expect(unlockDomain).toBeFocused();
  await expect(unlockDomain).not.toHaveAttribute('aria-disabled', 'true');
  await expect(reason).toHaveCount(0);
  await page.keyboard.press('Enter');
  await expect(ui.contextMenu).toBeHidden();
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Locked');
  expect((await host.admin.listDomains({})).find((d) => d.name === 'example.com')?.lock).toBeNull();
  const fetched = await pop3FetchAll(pop3Port, 'bob@example.com', 'Bob-pass-2');
  expect(fetched.ok, JSON.stringify(fetched)).toBe(true);

  // The menu of a mailbox in an unlocked domain has no such item.
  await page.keyboard.press('Shift+F10');
  await expect(ui.menuItem('Unlock')).not.toHaveAttribute('aria-disabled', 'true');
  await expect(ui.menuItem('Unlock Domain')).toHaveCount(0);
  await page.keyboard.press('Escape');

  // The toolbar acts on the tree's node when reached from the tree: the domain, locked again here.
  await host.admin.lock({ target: 'example.com' });
  await expect(ui.domainNode('example.com')).toHaveAttribute('data-locked', 'true');
  await ui.domainNode('example.com').focus();
  await page.keyboard.press('Shift+Tab');
  const toolLock = page.getByTestId('tool-lock');
  for (let i = 0; i < 12 && !(await toolLock.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('ArrowRight');
  await expect(toolLock).toBeFocused();
  await expect(toolLock).toHaveAttribute('aria-disabled', 'true');
  await expect(ui.status).toHaveText('Lock: This domain is already locked.');
  await page.keyboard.press('ArrowRight');
  await expect(ui.status).not.toHaveText(/already locked/);
});
