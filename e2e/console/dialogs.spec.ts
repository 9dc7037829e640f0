/**
 * Every dialog: it validates as the administrator types, shows the service's
 * own error when the service refuses, and does what it says when it can.
 */

import { pop3FetchAll, smtpSend } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';

test('New Domain checks the name as typed and adds the domain', async ({ ui, service, page }) => {
  await ui.open();
  await ui.treeItem('computer').click({ button: 'right' });
  await ui.contextMenu.getByRole('menuitem', { name: 'New' }).hover();
  await page.getByTestId('submenu-new').getByRole('menuitem', { name: 'Domain…' }).click();

  const dialog = ui.dialog('Add Domain');
  await expect(dialog).toBeVisible();
  await expect(dialog).toHaveAttribute('aria-modal', 'true');
  const name = dialog.getByLabel('Domain name:');
  await expect(name).toBeFocused();
  const submit = dialog.getByTestId('dialog-submit');

  await name.fill('localhost');
  await expect(dialog.getByTestId('field-problem')).toContainText('not a fully qualified domain name');
  await expect(submit).toBeDisabled();
  await name.fill('bad_name.example');
  await expect(dialog.getByTestId('field-problem')).toContainText('use only letters, digits, hyphens and dots');
  await name.fill('-lead.example');
  await expect(dialog.getByTestId('field-problem')).toContainText('cannot begin or end with a hyphen');
  await expect(name).toHaveAttribute('aria-invalid', 'true');

  await name.fill('Example.NET');
  await expect(dialog.getByTestId('field-problem')).toHaveCount(0);
  // The focus stays inside the dialog: Tab and Shift+Tab wrap around.
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    await expect(dialog.locator(':focus')).toHaveCount(1);
  }
  await page.keyboard.press('Shift+Tab');
  await expect(dialog.locator(':focus')).toHaveCount(1);
  await name.focus();
  await ui.screenshot('dialog-new-domain');
  await name.press('Enter');
  await expect(dialog).toBeHidden();
  await expect(ui.domainNode('example.net')).toBeVisible();
  await expect(ui.status).toHaveText('Added the domain example.net.');
  expect((await service.host.admin.listDomains({})).map((d) => d.name)).toEqual(['example.net']);

  // The same name again: the service refuses, the dialog shows why and stays open.
  await page.keyboard.press('F10');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  await page.getByTestId('menu-popup-action').getByRole('menuitem', { name: 'New' }).press('ArrowRight');
  await page.keyboard.press('Enter');
  await expect(dialog).toBeVisible();
  await name.fill('example.net');
  await name.press('Enter');
  await expect(dialog.getByTestId('dialog-error')).toContainText(/exists/i);
  await expect(dialog).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
});

test('New Mailbox checks name and passwords, explains the associated user, and shows a service error', async ({ ui, service, page }) => {
  await seed(service.host.admin, { 'example.com': { ann: 'Ann-pass-1' } });
  await ui.open();
  await ui.openDomain('example.com');
  await page.getByTestId('tool-new').click();

  const dialog = ui.dialog('Add Mailbox');
  await expect(dialog).toBeVisible();
  const name = dialog.getByLabel('Mailbox name:');
  const password = dialog.getByLabel('Password:', { exact: true });
  const confirm = dialog.getByLabel('Confirm password:');
  const createUser = dialog.getByLabel('Create associated user for this mailbox');
  const submit = dialog.getByTestId('dialog-submit');
  await expect(name).toBeFocused();

  // Checked and fixed with the password file, and the dialog says why.
  await expect(createUser).toBeChecked();
  await expect(createUser).toBeDisabled();
  await expect(dialog.locator('#create-user-note')).toContainText('Required with the Encrypted Password File');

  await name.fill('jo@home');
  await expect(dialog.getByTestId('field-mailbox').getByTestId('field-problem')).toContainText('cannot contain "@"');
  await name.fill('a'.repeat(65));
  await expect(dialog.getByTestId('field-mailbox').getByTestId('field-problem')).toContainText('at most 64 characters');
  await name.fill('new.user');
  await expect(dialog.getByTestId('field-mailbox').getByTestId('field-problem')).toHaveCount(0);
  await expect(dialog).toContainText('new.user@example.com');

  await password.fill('S3cret-pass');
  await confirm.fill('S3cret-pasS');
  await expect(dialog.getByTestId('field-confirm').getByTestId('field-problem')).toHaveText(
    'The passwords do not match. Type the same password in both boxes.',
  );
  await expect(submit).toBeDisabled();
  await confirm.fill('S3cret-pass');
  await expect(dialog.getByTestId('field-problem')).toHaveCount(0);
  await expect(submit).toBeEnabled();
  await ui.screenshot('dialog-new-mailbox');
  await submit.click();
  await expect(dialog).toBeHidden();
  await expect(ui.row('new.user@example.com')).toBeVisible();
  await smtpSend(service.smtpPort, 'new.user@example.com', 'Welcome');
  const fetched = await pop3FetchAll(service.pop3Port, 'new.user@example.com', 'S3cret-pass');
  expect(fetched.ok && fetched.count).toBe(1);

  // An existing mailbox: the service's error shows in the dialog, nothing is swallowed.
  await page.getByTestId('tool-new').click();
  await name.fill('ann');
  await password.fill('whatever-1');
  await confirm.fill('whatever-1');
  await confirm.press('Enter');
  await expect(dialog.getByTestId('dialog-error')).toContainText(/ann@example\.com.*exists/i);
  await expect(dialog).toBeVisible();
  await ui.screenshot('dialog-service-error');
  await dialog.getByTestId('dialog-cancel').click();
  await expect(dialog).toBeHidden();
});

test('Change Password needs matching passwords and works on a locked mailbox', async ({ ui, service, page }) => {
  await seed(service.host.admin, { 'example.com': { ann: 'Old-pass-1' } });
  await service.host.admin.lock({ target: 'ann@example.com' });
  await ui.open();
  await ui.openDomain('example.com');
  await ui.rightClick('ann@example.com');
  await ui.menuItem('Change Password…').click();

  const dialog = ui.dialog('Change Password');
  await expect(dialog).toBeVisible();
  await dialog.getByLabel('New password:').fill('New-pass-2');
  await dialog.getByLabel('Confirm password:').fill('New-pass-3');
  await expect(dialog.getByTestId('field-problem')).toContainText('do not match');
  await expect(dialog.getByTestId('dialog-submit')).toBeDisabled();
  // Enter does not submit an invalid form.
  await dialog.getByLabel('Confirm password:').press('Enter');
  await expect(dialog).toBeVisible();
  await dialog.getByLabel('Confirm password:').fill('New-pass-2');
  await dialog.getByLabel('Confirm password:').press('Enter');
  await expect(dialog).toBeHidden();
  await expect(ui.status).toHaveText('Changed the password of ann@example.com.');

  await service.host.admin.unlock({ target: 'ann@example.com' });
  expect((await pop3FetchAll(service.pop3Port, 'ann@example.com', 'Old-pass-1')).ok).toBe(false);
  expect((await pop3FetchAll(service.pop3Port, 'ann@example.com', 'New-pass-2')).ok).toBe(true);
  await expect(page.getByTestId('error-bar')).toHaveCount(0);
});

test('Delete warns that the mail goes too, for a mailbox and for a domain', async ({ ui, service, page }) => {
  await seed(service.host.admin, { 'example.com': { ann: 'a-pass-1', bob: 'b-pass-2' }, 'example.org': { zoe: 'z-pass-3' } });
  await smtpSend(service.smtpPort, 'ann@example.com', 'Keep me?');
  await ui.open();
  await ui.openDomain('example.com');
  await expect(ui.cell('ann@example.com', 'messages')).toHaveText('1');

  await ui.row('ann@example.com').click();
  await page.keyboard.press('Delete');
  const dialog = ui.dialog('Delete Mailbox');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('delete-warning')).toContainText('deletes all its mail (1 message');
  await expect(dialog).toContainText('This cannot be undone.');
  await expect(dialog.getByTestId('dialog-submit')).toBeFocused();
  await ui.screenshot('dialog-delete');
  // Esc cancels: nothing deleted.
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(ui.grid).toBeFocused();
  await expect(ui.row('ann@example.com')).toBeVisible();

  await page.keyboard.press('Delete');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(dialog).toBeHidden();
  await expect(ui.row('ann@example.com')).toHaveCount(0);
  await expect(ui.status).toHaveText('Deleted ann@example.com.');
  expect((await service.host.admin.listMailboxes({ domain: 'example.com' })).map((m) => m.name)).toEqual(['bob']);

  await ui.domainNode('example.org').click({ button: 'right' });
  await ui.menuItem('Delete…').click();
  const domainDialog = ui.dialog('Delete Domain');
  await expect(domainDialog.getByTestId('delete-warning')).toContainText(
    'also deletes all its mailboxes (1 mailbox) and all their mail',
  );
  await page.keyboard.press('Enter');
  await expect(domainDialog).toBeHidden();
  await expect(ui.domainNode('example.org')).toHaveCount(0);
  expect((await service.host.admin.listDomains({})).map((d) => d.name)).toEqual(['example.com']);
});

test('Server Properties validates ports and socket limits, fixes the method while domains exist, and saves', async ({ ui, service, page }) => {
  await seed(service.host.admin, { 'example.com': {} });
  await ui.open();
  await ui.treeItem('computer').click({ button: 'right' });
  await ui.menuItem('Properties').click();

  const dialog = ui.dialog('Server Properties');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('tab', { name: 'General' })).toHaveAttribute('aria-selected', 'true');
  const auth = dialog.getByLabel('Authentication method:');
  await expect(auth).toBeDisabled();
  await expect(dialog.getByTestId('field-auth')).toContainText('Fixed while domains exist (this server has 1)');

  const port = dialog.getByLabel('Server port:');
  await port.fill('70000');
  await expect(dialog.getByTestId('field-port').getByTestId('field-problem')).toHaveText('The POP3 port must be from 1 to 65,535.');
  await port.fill('11o');
  await expect(dialog.getByTestId('field-port').getByTestId('field-problem')).toHaveText('The POP3 port must be a whole number.');
  await port.fill('1110');
  await expect(dialog.getByTestId('field-port').getByTestId('field-problem')).toHaveCount(0);

  // Connections: min must stay below max; the tab shows it has a problem while another tab is open.
  await dialog.getByRole('tab', { name: 'Connections' }).click();
  const min = dialog.getByLabel('Minimum sessions:');
  const max = dialog.getByLabel('Maximum sessions:');
  await max.fill('20');
  await min.fill('20');
  await expect(dialog.getByTestId('field-min').getByTestId('field-problem')).toHaveText('The minimum (20) must be less than the maximum (20).');
  await expect(dialog.getByTestId('dialog-submit')).toBeDisabled();
  await dialog.getByRole('tab', { name: 'General' }).click();
  await expect(dialog.getByTestId('tab-connections')).toContainText('!');
  await dialog.getByRole('tab', { name: /Connections/ }).click();
  await max.fill('40000');
  await expect(dialog.getByTestId('field-max').getByTestId('field-problem')).toHaveText('The maximum must be from 1 to 32,000.');
  await max.fill('64');
  await min.fill('8');
  await expect(dialog.getByTestId('field-problem')).toHaveCount(0);
  await ui.screenshot('dialog-server-properties');

  // Security: the certificate in use, and both files or neither.
  await dialog.getByRole('tab', { name: 'Security' }).click();
  await expect(dialog.getByTestId('certificate-fingerprint')).toHaveText(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  await expect(dialog.getByTestId('certificate')).toContainText('self-signed');
  await dialog.getByLabel('Certificate file:').fill('/etc/ssl/certs/mail.pem');
  await expect(dialog.getByTestId('field-tlsKeyFile').getByTestId('field-problem')).toContainText('Give both the certificate and its private key');
  await dialog.getByLabel('Certificate file:').fill('');
  await dialog.getByLabel(/Require Secure Password Authentication/).check();
  await ui.screenshot('dialog-server-properties-security');

  await dialog.getByRole('tab', { name: 'General' }).click();
  await dialog.getByLabel('Logging level:').selectOption({ label: 'Maximum' });
  await dialog.getByTestId('dialog-submit').click();
  await expect(dialog).toBeHidden();
  await expect(ui.status).toHaveText('Saved the server properties.');

  const settings = await service.host.admin.getSettings({});
  expect(settings.port).toBe(1110);
  expect(settings.logging).toBe(3);
  expect(settings.sparequired).toBe(true);
  expect(settings.socket.min).toBe(8);
  expect(settings.socket.max).toBe(64);
  expect(settings.tlsCertFile).toBeNull();

  // The dialog shows what the service has now.
  await page.getByTestId('tool-properties').click();
  await expect(dialog.getByLabel('Server port:')).toHaveValue('1110');
  await expect(dialog.getByLabel('Logging level:')).toHaveValue('3');
  await page.keyboard.press('Escape');
});

test('Server Properties refuses an autologout under ten minutes (RFC 1939), checks the listen addresses, and saves both', async ({ ui, service, page }) => {
  await ui.open();
  await page.getByTestId('tool-properties').click();
  const dialog = ui.dialog('Server Properties');
  await expect(dialog).toBeVisible();

  await dialog.getByRole('tab', { name: 'Connections' }).click();
  const timeout = dialog.getByLabel('Autologout after (seconds):');
  await expect(timeout).toHaveValue('600');
  for (const seconds of ['10', '599']) {
    await timeout.fill(seconds);
    await expect(dialog.getByTestId('field-idleTimeoutSeconds').getByTestId('field-problem')).toHaveText('The autologout time must be from 600 to 86,400.');
    await expect(dialog.getByTestId('dialog-submit')).toBeDisabled();
  }
  await timeout.fill('900');
  await expect(dialog.getByTestId('field-idleTimeoutSeconds').getByTestId('field-problem')).toHaveCount(0);

  await dialog.getByRole('tab', { name: 'General' }).click();
  const listen = dialog.getByLabel('Listen on:');
  await expect(listen).toHaveValue('127.0.0.1');
  await listen.fill('mail.example.com');
  await expect(dialog.getByTestId('field-listen').getByTestId('field-problem')).toContainText('"mail.example.com" is not a listen address');
  await expect(dialog.getByTestId('dialog-submit')).toBeDisabled();
  await listen.fill('* ::');
  await expect(dialog.getByTestId('field-listen').getByTestId('field-problem')).toHaveCount(0);

  await dialog.getByTestId('dialog-submit').click();
  await expect(dialog).toBeHidden();
  const settings = await service.host.admin.getSettings({});
  expect(settings.idleTimeoutSeconds).toBe(900);
  expect(settings.listen).toEqual(['*', '::']);
  // The service checks again: an API caller cannot go under ten minutes either.
  await expect(service.host.admin.setSettings({ patch: { idleTimeoutSeconds: 10 } })).rejects.toThrow(/must be from 600 to 86400/);
});
