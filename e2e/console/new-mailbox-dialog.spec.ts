/**
 * The New Mailbox dialog with the longest names: nothing leaves the dialog
 * and the dialog stays in the window; the name box keeps most of its line;
 * the characters a name may not contain are listed one box each.
 */

import type { Locator } from '@playwright/test';
import { MAILBOX_FORBIDDEN } from '../../shared/names.js';
import { expect, seed, test } from './fixtures.js';

/** 194 characters; with a 64-character mailbox name, an address of 259 with nowhere to wrap. */
const LONG_DOMAIN = ['a'.repeat(60), 'b'.repeat(60), 'c'.repeat(60), 'example', 'com'].join('.');
const LONG_NAME = 'm'.repeat(64);

/** The elements inside `dialog` that reach past its left or right edge (class or tag names). */
function sticksOut(dialog: Locator): Promise<string[]> {
  return dialog.evaluate((el) => {
    const edge = el.getBoundingClientRect();
    return [...el.querySelectorAll('*')]
      .filter((child) => {
        const box = child.getBoundingClientRect();
        return box.width > 0 && (box.right > edge.right + 0.5 || box.left < edge.left - 0.5);
      })
      .map((child) => (typeof child.className === 'string' && child.className ? child.className : child.tagName));
  });
}

async function widthShare(inner: Locator, outer: Locator): Promise<number> {
  const [a, b] = [await inner.boundingBox(), await outer.boundingBox()];
  return a && b ? a.width / b.width : 0;
}

test('New Mailbox fits the longest names, keeps a wide name box and lists the characters not allowed one by one', async ({ ui, service, page }) => {
  await seed(service.host.admin, { [LONG_DOMAIN]: {}, 'example.com': {} });
  await ui.open();
  await ui.openDomain('example.com');
  await page.getByTestId('tool-new').click();
  const dialog = ui.dialog('Add Mailbox');
  const name = dialog.getByLabel('Mailbox name:');
  await expect(name).toBeFocused();

  // The name box takes most of the dialog's width; the domain after it shows whole.
  expect(await widthShare(name, dialog), 'the name box is at least 45% of the dialog wide').toBeGreaterThanOrEqual(0.45);
  const suffix = dialog.locator('.suffix');
  await expect(suffix).toHaveText('@example.com');
  expect(await suffix.evaluate((el) => el.scrollWidth <= el.clientWidth), 'a short domain is not cut').toBe(true);

  // A forbidden character: the sentence names it, then every character not allowed, each in its own box on one line.
  await name.fill('jo@home');
  const problem = dialog.getByTestId('field-mailbox').getByTestId('field-problem');
  await expect(problem).toContainText('A mailbox name cannot contain "@".');
  const list = problem.getByTestId('forbidden-characters');
  await expect(list).toHaveText(`Not allowed: ${[...MAILBOX_FORBIDDEN].join(' ')}`);
  const chars = list.locator('kbd');
  await expect(chars).toHaveText([...MAILBOX_FORBIDDEN]);
  const dialogBox = await dialog.boundingBox();
  for (const box of await chars.evaluateAll((els) => els.map((el) => ({ ...el.getBoundingClientRect().toJSON(), size: parseFloat(getComputedStyle(el).fontSize) })))) {
    expect(box.height, 'a character box is one line').toBeLessThan(2 * box.size);
    expect(box.size, 'characters at a legible size').toBeGreaterThanOrEqual(12);
    expect(box.right, 'inside the dialog').toBeLessThanOrEqual((dialogBox?.x ?? 0) + (dialogBox?.width ?? 0));
  }
  await ui.screenshot('dialog-new-mailbox-forbidden');
  await page.keyboard.press('Escape');

  // The longest name in a long domain.
  await ui.openDomain(LONG_DOMAIN);
  await page.getByTestId('tool-new').click();
  await name.fill(LONG_NAME);
  await expect(dialog.getByTestId('logon-address')).toHaveText(`${LONG_NAME}@${LONG_DOMAIN}`);
  await expect(suffix).toHaveAttribute('title', `@${LONG_DOMAIN}`);
  for (const size of [{ width: 1280, height: 800 }, { width: 800, height: 600 }]) {
    await page.setViewportSize(size);
    const box = await dialog.boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= size.width, `the dialog is inside a ${size.width} px window`).toBe(true);
    expect(await sticksOut(dialog), 'nothing reaches past the dialog').toEqual([]);
    expect(await dialog.evaluate((el) => el.scrollWidth <= el.clientWidth), 'the dialog does not scroll sideways').toBe(true);
    expect(await widthShare(name, dialog), 'the name box keeps its width').toBeGreaterThanOrEqual(0.45);
  }
  await ui.screenshot('dialog-new-mailbox-long');

  // And it adds the mailbox.
  await dialog.getByLabel('Password:', { exact: true }).fill('Long-pass-1');
  await dialog.getByLabel('Confirm password:').fill('Long-pass-1');
  await dialog.getByTestId('dialog-submit').click();
  await expect(dialog).toBeHidden();
  await expect(ui.row(`${LONG_NAME}@${LONG_DOMAIN}`)).toBeVisible();
  expect((await service.host.admin.listMailboxes({ domain: LONG_DOMAIN })).map((m) => m.name)).toEqual([LONG_NAME]);
});
