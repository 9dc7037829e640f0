/**
 * The console without a mouse: Tab between the parts, arrows in the tree and
 * the grid, Shift+F10 for the context menu, arrows and Enter in it; plus the
 * other keys an administrator expects (Delete, F5, Ctrl+A, F10, Esc).
 */

import { expect, seed, test } from './fixtures.js';

test('select a mailbox and lock it with the keyboard alone', async ({ ui, service, page }) => {
  await seed(service.host.admin, { 'example.com': { ann: 'a-pass-1', bob: 'b-pass-2', carol: 'c-pass-3' } });
  await ui.open();

  // Tab order: menu bar, toolbar, tree.
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('menubar-file')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('toolbar').getByRole('button').first()).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(ui.treeItem('computer')).toBeFocused();

  // Tree arrows: down to the domain; the details follow.
  await page.keyboard.press('ArrowDown');
  await expect(ui.domainNode('example.com')).toBeFocused();
  await expect(ui.domainNode('example.com')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('grid', { name: 'Mailboxes of example.com' })).toBeVisible();

  // Tab past the filter to the grid; the first row takes the focus; arrows move it.
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('filter')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(ui.grid).toBeFocused();
  await expect(ui.row('ann@example.com')).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('ArrowDown');
  await expect(ui.row('bob@example.com')).toHaveAttribute('aria-selected', 'true');
  await expect(ui.row('ann@example.com')).toHaveAttribute('aria-selected', 'false');
  const activeId = await ui.grid.getAttribute('aria-activedescendant');
  await expect(page.locator(`#${activeId}`)).toHaveAttribute('data-row-id', 'bob@example.com');

  // Shift+F10 opens the context menu on the first item; arrows move; Enter runs.
  await page.keyboard.press('Shift+F10');
  await expect(ui.contextMenu).toBeVisible();
  await expect(ui.menuItem('Lock')).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await expect(ui.menuItem('Lock with Reason…')).toBeFocused();
  await page.keyboard.press('ArrowUp');
  await expect(ui.menuItem('Lock')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(ui.contextMenu).toBeHidden();
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Locked');
  await expect(ui.grid, 'the focus comes back to the grid').toBeFocused();
  const bob = (await service.host.admin.listMailboxes({ domain: 'example.com' })).find((m) => m.name === 'bob');
  expect(bob?.locked).toBe(true);

  // The Menu key works too, and Esc closes the menu without doing anything.
  await page.keyboard.press('ContextMenu');
  await expect(ui.contextMenu).toBeVisible();
  await expect(ui.menuItem('Lock')).toHaveAttribute('aria-disabled', 'true');
  await page.keyboard.press('Escape');
  await expect(ui.contextMenu).toBeHidden();
  await expect(ui.grid).toBeFocused();
});

test('lock with a reason, see it in the properties, unlock: all from the keyboard', async ({ ui, service, page }) => {
  await seed(service.host.admin, { 'example.com': { ann: 'a-pass-1' } });
  await ui.open();
  await ui.openDomain('example.com');
  await ui.grid.focus();
  await expect(ui.row('ann@example.com')).toHaveAttribute('aria-selected', 'true');

  await page.keyboard.press('Shift+F10');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  const dialog = ui.dialog('Lock');
  await expect(dialog.getByLabel('Reason (optional):')).toBeFocused();
  await page.keyboard.type('unpaid invoice');
  await page.keyboard.press('Enter');
  await expect(dialog).toBeHidden();
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Locked');

  // Enter on a mailbox shows its properties: who locked it, and why.
  await page.keyboard.press('Enter');
  const properties = ui.dialog('ann@example.com Properties');
  await expect(properties.getByTestId('properties-reason')).toHaveText('unpaid invoice');
  await page.keyboard.press('Escape');
  await expect(properties).toBeHidden();
  await expect(ui.grid).toBeFocused();

  // Unlock is reached by first letter in the menu.
  await page.keyboard.press('Shift+F10');
  await page.keyboard.press('u');
  await expect(ui.menuItem('Unlock')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Unlocked');
});

test('tree keys, Ctrl+A, Delete, F5 and the menu bar from the keyboard', async ({ ui, service, page }) => {
  await seed(service.host.admin, { 'example.com': { ann: 'a-pass-1', bob: 'b-pass-2' }, 'example.org': {} });
  await ui.open();
  await ui.treeItem('computer').focus();

  // Tree: End, Home, Left collapses, Right expands and enters.
  await page.keyboard.press('End');
  await expect(ui.treeItem('sessions')).toBeFocused();
  await page.keyboard.press('ArrowUp');
  await expect(ui.domainNode('example.org')).toBeFocused();
  await page.keyboard.press('Home');
  await expect(ui.treeItem('root')).toBeFocused();
  await expect(page.getByTestId('root-overview')).toBeVisible();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowLeft');
  await expect(ui.treeItem('computer')).toHaveAttribute('aria-expanded', 'false');
  await expect(ui.domainNode('example.com')).toHaveCount(0);
  await page.keyboard.press('ArrowRight');
  await expect(ui.treeItem('computer')).toHaveAttribute('aria-expanded', 'true');
  await page.keyboard.press('ArrowRight');
  await expect(ui.domainNode('example.com')).toBeFocused();

  // Shift+F10 on a tree node opens its actions: lock the domain without the mouse.
  await page.keyboard.press('Shift+F10');
  await expect(ui.contextMenu).toHaveAccessibleName('Actions for example.com');
  await expect(ui.menuItem('Lock')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(ui.domainNode('example.com')).toHaveAttribute('data-locked', 'true');
  await expect(ui.domainNode('example.com')).toBeFocused();
  await page.keyboard.press('Shift+F10');
  await page.keyboard.press('u');
  await page.keyboard.press('Enter');
  await expect(ui.domainNode('example.com')).not.toHaveAttribute('data-locked', 'true');

  // Enter on a domain goes to its grid; Ctrl+A selects all; Delete asks about both.
  await page.keyboard.press('Enter');
  await expect(ui.grid).toBeFocused();
  await page.keyboard.press('ControlOrMeta+a');
  await expect(page.getByTestId('status-counts')).toHaveText('2 mailboxes, 2 selected');
  // Ctrl+arrow moves the focus only; Ctrl+Space toggles the focused row; Space selects it alone.
  await page.keyboard.press('ControlOrMeta+ArrowDown');
  await page.keyboard.press('ControlOrMeta+Space');
  await expect(page.getByTestId('status-counts')).toHaveText('2 mailboxes, 1 selected');
  await page.keyboard.press('ControlOrMeta+Space');
  await expect(page.getByTestId('status-counts')).toHaveText('2 mailboxes, 2 selected');
  await page.keyboard.press('Delete');
  await expect(ui.dialog('Delete Mailboxes')).toContainText('2 mailboxes');
  await page.keyboard.press('Escape');
  await expect(ui.dialog('Delete Mailboxes')).toBeHidden();

  // F5 fetches the list again, and does not reload the page.
  await page.evaluate(() => Object.assign(window, { stillTheSamePage: true }));
  const listed = ui.callCount('listMailboxTable');
  await page.keyboard.press('F5');
  await expect.poll(() => ui.callCount('listMailboxTable')).toBeGreaterThan(listed);
  expect(await page.evaluate(() => (window as { stillTheSamePage?: boolean }).stillTheSamePage)).toBe(true);

  // F10 goes to the menu bar; Right moves to Action; Down opens it with the selection's actions.
  await page.keyboard.press('F10');
  await expect(page.getByTestId('menubar-file')).toBeFocused();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('menubar-action')).toBeFocused();
  await page.keyboard.press('ArrowDown');
  const action = page.getByTestId('menu-popup-action');
  await expect(action.getByRole('menuitem', { name: 'Lock', exact: true })).toBeFocused();
  // Right on a plain item moves to the next menu (View), as in Windows.
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('menu-popup-view')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('menu-popup-view')).toBeHidden();
  await expect(page.getByTestId('menubar-view')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(ui.grid).toBeFocused();
});
