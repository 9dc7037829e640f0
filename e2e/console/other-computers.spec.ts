/**
 * One console, two POP3 services: the console's own (in the test process,
 * as the Electron main process hosts it) and a second `pop3svc` process with
 * its admin endpoint on and an admin account, reached through "Connect to
 * Another Computer…" and the real connection manager. Locking there reaches
 * that service's POP3 only; a wrong admin password, a new certificate and a
 * stopped service each show as they should, and it comes back without a reload.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pop3FetchAll } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';
import { SecondService, winpop } from './second-computer.js';
import { freePort } from '../helpers/free-port.js';

const ADMIN = 'alice';
const ADMIN_PASSWORD = 'Second-admin-pw-1';
const ANN = { address: 'ann@example.org', password: 'Ann-pass-1' };

test('connect to a second computer, lock a mailbox there by right-click; wrong password, new certificate and a stop each show, and it comes back', async ({ ui, service, page }, testInfo) => {
  test.setTimeout(120_000);
  // The console's own computer has the same address, so a lock landing here would show.
  await seed(service.host.admin, { 'example.org': { ann: ANN.password } });

  const dir = await mkdtemp(path.join(os.tmpdir(), 'winpop-second-'));
  const second = new SecondService(path.join(dir, 'mail'), path.join(dir, 'winpop.json'), await freePort());
  try {
    await winpop(second.mailroot, second.config, ['add', 'example.org']);
    await winpop(second.mailroot, second.config, ['add', ANN.address, '/createuser', '-'], `${ANN.password}\n`);
    await winpop(second.mailroot, second.config, ['admin', 'add', ADMIN, '-'], `${ADMIN_PASSWORD}\n`);
    await second.start();
    const firstFingerprint = await second.fingerprint();

    await ui.open();
    await ui.treeItem('root').click({ button: 'right' });
    await ui.menuItem('Connect to Another Computer…').click();
    const connect = ui.dialog('Connect to Another Computer');
    await connect.getByTestId('input-host').fill('127.0.0.1');
    await connect.getByTestId('input-port').fill(String(second.adminPort));
    await connect.getByTestId('input-admin').fill(ADMIN);
    await connect.getByTestId('input-password').fill('not-the-password');
    await connect.getByRole('button', { name: 'Connect' }).click();

    // First contact: the certificate's fingerprint, to compare with the one on that computer.
    const confirm = ui.dialog("Confirm the Computer's Certificate");
    await expect(confirm.getByTestId('fingerprint')).toHaveText(firstFingerprint);
    await ui.screenshot('computer-fingerprint');
    await confirm.getByRole('button', { name: 'Trust and Connect' }).click();

    // The wrong admin password: a clear error, the dialog stays for another try.
    await expect(connect).toContainText(/Log-in failed: The admin name or password is wrong/);
    await connect.getByTestId('input-password').fill(ADMIN_PASSWORD);
    await connect.getByRole('button', { name: 'Connect' }).click();
    await expect(connect).toBeHidden();

    const [info] = (await ui.page.evaluate(() => (window as unknown as { winpop: { computers: { listComputers(a: object): Promise<{ id: string }[]> } } }).winpop.computers.listComputers({}))) as { id: string }[];
    expect(info, 'the main process gave the computer an id').toBeTruthy();
    const id = (info as { id: string }).id;
    const node = ui.treeItem(`remote:${id}`);
    const state = ui.page.getByTestId(`state-remote:${id}`);
    await expect(state).toHaveText('(connected)');

    // Its domain, its mailboxes, right-click Lock: that computer's POP3 refuses; this one's is untouched.
    const remoteDomain = ui.treeItem(`domain:${id}:example.org`);
    await remoteDomain.click();
    await expect(page.getByRole('grid', { name: 'Mailboxes of example.org' })).toBeVisible();
    await expect(ui.cell(ANN.address, 'state')).toHaveText('Unlocked');
    await ui.rightClick(ANN.address);
    await ui.menuItem('Lock').click();
    await expect(ui.cell(ANN.address, 'state')).toHaveText('Locked');
    const refused = await pop3FetchAll(second.pop3Port, ANN.address, ANN.password);
    expect(refused.ok, 'the second computer refuses the right password').toBe(false);
    if (!refused.ok) expect(refused.error).toMatch(/\[AUTH\].*disabled by the administrator/i);
    const here = await pop3FetchAll(service.pop3Port, ANN.address, ANN.password);
    expect(here.ok, 'the console\'s own computer still lets ann in').toBe(true);
    expect((await service.host.admin.listMailboxes({ domain: 'example.org' }))[0]?.locked).toBe(false);
    await ui.screenshot('computer-remote-locked');

    // Stopped: unreachable (with the reason), then back by itself after it restarts, with no reload.
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    await second.stop();
    await expect(state).toHaveText('(unreachable)');
    await expect(node).toHaveAttribute('title', /Unreachable: .*trying again in \d+ s/);
    await second.start();
    await expect(state).toHaveText('(connected)', { timeout: 20_000 });
    await remoteDomain.click();
    await expect(ui.cell(ANN.address, 'state')).toHaveText('Locked');

    // Restarted with a new certificate: refused, with the warning, until accepted on purpose.
    await second.stop();
    await rm(path.join(second.mailroot, '.winpop', 'tls'), { recursive: true, force: true });
    await second.start();
    const newFingerprint = await second.fingerprint();
    expect(newFingerprint).not.toBe(firstFingerprint);
    await expect(state).toHaveText('(CERTIFICATE CHANGED)', { timeout: 20_000 });
    await expect(node).toHaveAttribute('title', /WARNING: the certificate of 127\.0\.0\.1:\d+ has changed/);
    await node.click({ button: 'right' });
    await ui.menuItem('Accept New Certificate…').click();
    const changed = ui.dialog('Certificate Changed');
    await expect(changed.getByTestId('fingerprint-warning')).toContainText(`offered now: ${newFingerprint}`);
    await expect(changed.getByTestId('fingerprint')).toHaveText(newFingerprint);
    await ui.screenshot('computer-certificate-changed');
    await changed.getByRole('button', { name: 'Accept New Certificate' }).click();
    await expect(changed).toBeHidden();
    await expect(state).toHaveText('(connected)');
    expect(navigations, 'the page was never reloaded').toEqual([]);
  } catch (err) {
    await testInfo.attach('second-pop3svc.log', { body: second.output(), contentType: 'text/plain' });
    throw err;
  } finally {
    await second.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

