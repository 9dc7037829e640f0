/**
 * The console's main views in the light and the dark theme, kept as test
 * artifacts (attached to the report and in test-results/screenshots/).
 */

import { smtpSend } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';

test('dark mode follows the OS setting', async ({ ui, service, page }) => {
  const { host } = service;
  await seed(host.admin, {
    'contoso.com': { administrator: 'p-1', alice: 'p-2', bob: 'p-3', carlos: 'p-4', dana: 'p-5', eve: 'p-6' },
    'fabrikam.com': { info: 'p-7', sales: 'p-8' },
  });
  await host.admin.lock({ target: 'eve@contoso.com', reason: 'security review' });
  await host.admin.lock({ target: 'fabrikam.com' });
  await smtpSend(service.smtpPort, 'alice@contoso.com', 'Quarterly report', 'numbers\n'.repeat(400));
  await smtpSend(service.smtpPort, 'eve@contoso.com', 'While you were out');

  await page.emulateMedia({ colorScheme: 'light' });
  await ui.open();
  const lightBackground = await page.locator('.details').evaluate((el) => getComputedStyle(el).backgroundColor);
  await ui.selectComputer();
  await expect(ui.row('fabrikam.com')).toBeVisible();
  await ui.screenshot('light-computer');

  await page.emulateMedia({ colorScheme: 'dark' });
  const darkBackground = await page.locator('.details').evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(darkBackground).not.toBe(lightBackground);
  await ui.screenshot('dark-computer');

  await ui.openDomain('contoso.com');
  await expect(ui.cell('eve@contoso.com', 'state')).toHaveText('Locked');
  await ui.row('alice@contoso.com').click();
  await ui.row('eve@contoso.com').click({ modifiers: ['ControlOrMeta'] });
  await ui.rightClick('eve@contoso.com');
  // Two mailboxes, one locked: both Lock and Unlock apply.
  await expect(ui.menuItem('Lock')).not.toHaveAttribute('aria-disabled', 'true');
  await expect(ui.menuItem('Unlock')).not.toHaveAttribute('aria-disabled', 'true');
  await ui.screenshot('dark-context-menu');
  await page.keyboard.press('Escape');

  await ui.openDomain('fabrikam.com');
  await expect(page.getByTestId('domain-lock-banner')).toBeVisible();
  await ui.screenshot('dark-domain-locked');
  await ui.treeItem('computer').click({ button: 'right' });
  await ui.menuItem('Properties').click();
  await expect(ui.dialog('Server Properties').getByLabel('Server port:')).toBeVisible();
  await ui.screenshot('dark-dialog');
});
