/**
 * axe-core on the console's main views and dialogs, in the light and the
 * dark theme: no serious or critical violation (text contrast of at least
 * 4.5:1 among them: WCAG 1.4.3).
 */

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { pop3FetchAll, smtpSend } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';

/** The serious and critical violations on the page as it is now, one line per element. */
async function violations(page: Page, view: string): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${view}: ${v.id} (${v.impact}) at ${n.target.join(' ')}: ${(n.failureSummary ?? v.help).replace(/\s+/g, ' ')}`));
}

for (const scheme of ['light', 'dark'] as const) {
  test(`no serious or critical axe violation in the main views and dialogs, ${scheme}`, async ({ ui, service, page }) => {
    const { host } = service;
    await seed(host.admin, {
      'contoso.com': { alice: 'p-1', bob: 'p-2', carol: 'p-3', dave: 'p-4' },
      'fabrikam.com': { info: 'p-5' },
    });
    await host.admin.lock({ target: 'bob@contoso.com', reason: 'security review' });
    await host.admin.lock({ target: 'fabrikam.com' });
    await smtpSend(service.smtpPort, 'alice@contoso.com', 'Quarterly report', 'numbers\n'.repeat(400));
    // A damaged state file, found by a log-in: the red "Error" state.
    await writeFile(path.join(service.mailroot, 'contoso.com', 'dave', '.winpop-mailbox.json'), '{ "version": 1, ');
    expect((await pop3FetchAll(service.pop3Port, 'dave@contoso.com', 'p-4')).ok).toBe(false);
    await page.emulateMedia({ colorScheme: scheme });
    const found: string[] = [];
    const check = async (view: string): Promise<void> => {
      found.push(...(await violations(page, view)));
    };

    await ui.open();
    await ui.treeItem('root').click();
    await expect(page.getByTestId('root-overview')).toBeVisible();
    await check('root');

    await ui.selectComputer();
    await ui.row('contoso.com').click();
    await ui.row('fabrikam.com').click({ modifiers: ['ControlOrMeta'] });
    await expect(ui.grid).toBeFocused();
    await check('domain list, two domains selected');

    // The locked domain selected in the tree, the tree focused.
    await ui.domainNode('fabrikam.com').click();
    await expect(ui.domainNode('fabrikam.com')).toBeFocused();
    await expect(page.getByTestId('domain-lock-banner')).toBeVisible();
    await check('locked domain selected in the tree');

    await ui.openDomain('contoso.com');
    await expect(ui.cell('dave@contoso.com', 'state')).toHaveText('Error');
    await ui.row('alice@contoso.com').click();
    await ui.row('bob@contoso.com').click({ modifiers: ['ControlOrMeta'] });
    await ui.row('dave@contoso.com').click({ modifiers: ['ControlOrMeta'] });
    await expect(ui.grid).toBeFocused();
    await check('mailbox list, unlocked, locked and damaged mailboxes selected');
    // The same rows selected while the grid does not have the focus.
    await ui.domainNode('contoso.com').focus();
    await check('mailbox list, selection without focus');

    // The context menu, its focus on a disabled item whose reason shows.
    await ui.row('bob@contoso.com').click();
    await ui.grid.focus();
    await page.keyboard.press('Shift+F10');
    await expect(ui.menuItem('Lock')).toBeFocused();
    await expect(page.getByTestId('menu-reason')).toBeVisible();
    await check('context menu');
    await page.keyboard.press('Escape');

    await page.getByTestId('tool-new').click();
    const newMailbox = ui.dialog('Add Mailbox');
    await newMailbox.getByLabel('Mailbox name:').fill('jo@home');
    await expect(newMailbox.getByTestId('field-problem')).toBeVisible();
    await check('New Mailbox dialog with a problem');
    await page.keyboard.press('Escape');

    await ui.rightClick('alice@contoso.com');
    await ui.menuItem('Lock with Reason…').click();
    await expect(ui.dialog('Lock')).toBeVisible();
    await check('Lock reason dialog');
    await page.keyboard.press('Escape');

    await ui.row('bob@contoso.com').dblclick();
    await expect(ui.dialog('bob@contoso.com Properties').getByTestId('properties-reason')).toHaveText('security review');
    await check('mailbox Properties dialog');
    await page.keyboard.press('Escape');

    await ui.row('alice@contoso.com').click();
    await page.keyboard.press('Delete');
    await expect(ui.dialog('Delete Mailbox')).toBeVisible();
    await check('Delete dialog');
    await page.keyboard.press('Escape');

    await ui.treeItem('computer').click({ button: 'right' });
    await ui.menuItem('Properties').click();
    const properties = ui.dialog('Server Properties');
    await expect(properties.getByLabel('Server port:')).toBeVisible();
    await check('Server Properties, General');
    await properties.getByRole('tab', { name: 'Security' }).click();
    await expect(properties.getByTestId('certificate')).toBeVisible();
    await check('Server Properties, Security');
    await page.keyboard.press('Escape');

    await ui.treeItem('root').click({ button: 'right' });
    await ui.menuItem('Connect to Another Computer…').click();
    const connect = ui.dialog('Connect to Another Computer');
    await expect(connect.getByTestId('input-host')).toBeVisible();
    await check('Connect to Another Computer dialog');
    await page.keyboard.press('Escape');

    expect(found, `axe found serious or critical violations (${scheme})`).toEqual([]);
  });
}
