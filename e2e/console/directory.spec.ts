/**
 * Server Properties' Directory tab against a real OpenLDAP (a private slapd,
 * e2e/helpers/slapd.ts): the administrator chooses the Directory method,
 * fills its settings, tests the connection (a wrong CA first: the test says
 * TLS failed), saves, adds a mailbox without a password, and the directory
 * user then logs in over POP3 with poplib.
 */

import { startSlapd, BASE_DN, SERVICE_DN, SERVICE_PASSWORD, USERS, type Slapd } from '../helpers/slapd.js';
import { pop3FetchAll } from './mail-clients.js';
import { expect, test } from './fixtures.js';

const ALICE = USERS[0] as (typeof USERS)[number];
let slapd: Slapd;

test.beforeAll(async () => {
  slapd = await startSlapd();
});

test.afterAll(async () => {
  await slapd?.close();
});

test('Server Properties sets up the Directory method, tests the connection, and a directory user then logs in', async ({ ui, service, page }) => {
  await ui.open();
  await ui.treeItem('computer').click({ button: 'right' });
  await ui.menuItem('Properties').click();
  const dialog = ui.dialog('Server Properties');
  await expect(dialog).toBeVisible();

  await dialog.getByLabel('Authentication method:').selectOption({ label: 'Directory (LDAP, Active Directory)' });
  // The method needs its directory: the Directory tab says so and saving waits.
  await expect(dialog.getByTestId('tab-directory')).toContainText('!');
  await expect(dialog.getByTestId('dialog-submit')).toBeDisabled();

  await dialog.getByRole('tab', { name: /Directory/ }).click();
  await dialog.getByLabel('Directory URLs:').fill('ldaps://127.0.0.1:notaport');
  await expect(dialog.getByTestId('field-directoryUrls').getByTestId('field-problem')).toContainText('is not a directory URL');
  await dialog.getByLabel('Directory URLs:').fill(slapd.ldapUrl);
  await dialog.getByLabel('Base DN:').fill(BASE_DN);
  await dialog.getByLabel('Service account:', { exact: true }).fill(SERVICE_DN);
  await dialog.getByLabel('Service account password:').fill(SERVICE_PASSWORD);
  await dialog.getByLabel('Remember passwords for (seconds):').fill('30');
  await expect(dialog.getByTestId('directory-cache-note')).toContainText('takes effect within 30 seconds');
  await dialog.getByLabel('Log-in address to look up (optional):').fill(ALICE.mail);

  // Without the test CA the directory's certificate is not trusted: the test names the TLS step.
  await dialog.getByTestId('directory-test').click();
  await expect(dialog.getByTestId('directory-test-result')).toHaveAttribute('data-ok', 'false');
  await expect(dialog.getByTestId('directory-test-message')).toContainText(/^TLS failed at ldap:\/\/127\.0\.0\.1:\d+: StartTLS/);
  await expect(dialog.getByTestId('directory-test-step')).toHaveCount(2);

  await dialog.getByLabel('Directory CA file:').fill(slapd.caFile);
  await dialog.getByTestId('directory-test').click();
  await expect(dialog.getByTestId('directory-test-result')).toHaveAttribute('data-ok', 'true');
  await expect(dialog.getByTestId('directory-test-message')).toContainText('alice@example.com is uid=alice,ou=people,dc=example,dc=com');
  await expect(dialog.getByTestId('directory-test-step')).toHaveCount(4);
  await ui.screenshot('dialog-server-properties-directory');

  await dialog.getByTestId('dialog-submit').click();
  await expect(dialog).toBeHidden();
  await expect(ui.status).toHaveText('Saved the server properties.');
  const settings = await service.host.admin.getSettings({});
  expect(settings.auth).toBe(2);
  expect(settings.directory).toMatchObject({ urls: [slapd.ldapUrl], baseDn: BASE_DN, bindDn: SERVICE_DN, caFile: slapd.caFile, cacheTtlSeconds: 30 });
  expect(JSON.stringify(settings)).not.toContain(SERVICE_PASSWORD);

  // A mailbox for the directory user, without a password.
  await service.host.admin.addDomain({ domain: 'example.com' });
  await ui.domainNode('example.com').click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'New' }).hover();
  await page.getByTestId('submenu-new').getByRole('menuitem', { name: 'Mailbox…' }).click();
  const add = ui.dialog('Add Mailbox');
  await expect(add.locator('#create-user-note')).toContainText('no password is set here');
  await add.getByLabel('Mailbox name:').fill('alice');
  await add.getByTestId('dialog-submit').click();
  await expect(add).toBeHidden();

  expect(await pop3FetchAll(service.pop3Port, ALICE.mail, ALICE.password)).toMatchObject({ ok: true, count: 0 });
  expect(await pop3FetchAll(service.pop3Port, ALICE.mail, 'not-her-password')).toMatchObject({ ok: false, error: expect.stringMatching(/^-ERR \[AUTH\]/) });
});
