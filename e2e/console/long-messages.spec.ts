/**
 * Long names and long messages: the layout never grows wider than the
 * window; a message too long for its line is cut, with the whole text as
 * its tooltip and behind a Details button that the keyboard reaches.
 */

import type { Locator, Page } from '@playwright/test';
import { expect, seed, test } from './fixtures.js';

/** A domain name of 194 characters and a mailbox name of 64, the longest allowed: an address without a place to wrap. */
const LONG_DOMAIN = ['a'.repeat(60), 'b'.repeat(60), 'c'.repeat(60), 'example', 'com'].join('.');
const LONG_NAME = 'm'.repeat(64);
const LONG_ADDRESS = `${LONG_NAME}@${LONG_DOMAIN}`;

/** The document's width beyond the window (0 when it fits). */
function overflow(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth);
}

/** Fails unless the element is wholly inside the window, left to right. */
async function expectInWindow(page: Page, locator: Locator, what: string): Promise<void> {
  const box = await locator.boundingBox();
  const width = page.viewportSize()?.width ?? 0;
  expect(box, `${what} is rendered`).not.toBeNull();
  if (!box) return;
  expect(box.x, `${what} starts inside the window`).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width, `${what} ends inside the window (${width} px)`).toBeLessThanOrEqual(width);
}

test('a long error keeps the layout inside the window, with the whole text as tooltip and in a details view', async ({ ui, service, page }) => {
  await seed(service.host.admin, { [LONG_DOMAIN]: { [LONG_NAME]: 'Long-pass-1', ann: 'Ann-pass-1' } });
  await ui.open();
  await ui.openDomain(LONG_DOMAIN);
  expect(await overflow(page), 'a long domain name in the tree and the title').toBeLessThanOrEqual(0);
  // The tree and the title cut the name and keep it whole in their tooltips; the tree does not scroll sideways.
  await expect(ui.domainNode(LONG_DOMAIN)).toHaveAttribute('title', LONG_DOMAIN);
  await expect(page.getByTestId('details-title')).toHaveAttribute('title', LONG_DOMAIN);
  const treePane = page.getByRole('navigation', { name: 'Console tree' });
  expect(await treePane.evaluate((el) => el.scrollWidth <= el.clientWidth), 'the tree pane needs no sideways scrolling').toBe(true);

  // The mailbox goes while its menu is open: the service refuses the lock with a message naming the long address.
  await ui.rightClick(LONG_ADDRESS);
  await service.host.service.forActor('other-admin').deleteMailbox({ address: LONG_ADDRESS });
  await ui.menuItem('Lock').click();
  const bar = page.getByTestId('error-bar');
  await expect(bar).toContainText(`Lock failed: No mailbox ${LONG_ADDRESS}: it no longer exists (another administrator may have deleted it).`);
  await expect(ui.status).toContainText(LONG_ADDRESS);

  for (const size of [{ width: 1280, height: 800 }, { width: 900, height: 600 }]) {
    await page.setViewportSize(size);
    await expect.poll(() => overflow(page), `nothing wider than a ${size.width} px window`).toBeLessThanOrEqual(0);
    await expectInWindow(page, page.getByTestId('filter'), 'the filter');
    await expectInWindow(page, page.getByTestId('column-state'), 'the last column (State)');
    await expectInWindow(page, page.getByTestId('status-bar'), 'the status bar');
    await expectInWindow(page, bar.getByRole('button', { name: 'Dismiss this message' }), "the error's Dismiss button");
    await expectInWindow(page, page.getByTestId('status-message-details'), "the status message's Details button");
  }
  await ui.screenshot('long-error');

  // The whole text: the tooltip of the cut line, in the error bar and the status bar.
  const text = page.getByTestId('error-text');
  const full = await text.textContent();
  expect(full).toContain(LONG_ADDRESS);
  await expect(text).toHaveAttribute('title', full as string);
  await expect(ui.status).toHaveAttribute('title', full as string);
  expect(await text.evaluate((el) => el.scrollWidth > el.clientWidth), 'the line is cut').toBe(true);

  // And by keyboard: from the tree, Tab reaches the error's Details button; Enter shows the whole text, wrapped to fit.
  await ui.domainNode(LONG_DOMAIN).focus();
  await page.keyboard.press('Tab');
  const details = bar.getByRole('button', { name: 'Details…' });
  await expect(details).toBeFocused();
  await page.keyboard.press('Enter');
  const dialog = ui.dialog('Error Message');
  await expect(dialog.getByTestId('message-full')).toHaveText(full as string);
  await expectInWindow(page, dialog, 'the details dialog');
  expect(await dialog.getByTestId('message-full').evaluate((el) => el.scrollWidth <= el.clientWidth), 'the text wraps inside the dialog').toBe(true);
  await ui.screenshot('long-error-details');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(details).toBeFocused();
});
