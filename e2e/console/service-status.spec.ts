/**
 * The status bar says how the console reaches the service and where it
 * listens; a listener that cannot start is shown with its fix, and the
 * console still administers the store.
 */

import os from 'node:os';
import { expect, seed, test } from './fixtures.js';

/** Whether ::1 is configured (the service can then listen on IPv6 loopback). */
const ipv6Loopback = Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.address === '::1'));

test('the status bar shows the mode and the real listener addresses', async ({ ui, service, page }) => {
  await ui.open();
  await expect(page.getByTestId('status-mode')).toHaveText('Service running in this console');
  await expect(page.getByTestId('status-mode')).toHaveAttribute('data-mode', 'in-process');
  await expect(page.getByTestId('status-pop3')).toHaveText(`POP3 127.0.0.1:${service.pop3Port}`);
  await expect(page.getByTestId('status-smtp')).toHaveText(`SMTP 127.0.0.1:${service.smtpPort}`);
  await expect(page.getByTestId('listener-alert-pop3')).toHaveCount(0);
});

test.describe('with the POP3 port taken by another program', () => {
  test.use({ pop3PortTaken: true });

  test('the failed listener is shown with the fix, and the store is still administered', async ({ ui, service, page }) => {
    expect(service.host.pop3Port).toBeNull();
    await seed(service.host.admin, { 'example.com': { ann: 'a-pass-1' } });
    await ui.open();

    const alert = page.getByTestId('listener-alert-pop3');
    await expect(alert).toContainText('The POP3 listener is not running.');
    await expect(alert).toContainText(`127.0.0.1:${service.pop3Port}: another program already uses that port`);
    await expect(alert).toContainText('choose another port');
    // Where the console sets it, not which command or option to type.
    await expect(alert).toContainText('The POP3 port and the listen addresses are set on the General tab of Server Properties');
    await expect(alert).not.toContainText(/winpop|--pop3-port/);
    await expect(page.getByTestId('status-pop3')).toHaveText('POP3 not listening');
    await expect(page.getByTestId('status-pop3')).toHaveAttribute('title', /another program already uses that port/);
    await ui.screenshot('listener-error');

    await ui.openDomain('example.com');
    await ui.rightClick('ann@example.com');
    await ui.menuItem('Lock').click();
    await expect(ui.cell('ann@example.com', 'state')).toHaveText('Locked');
    expect((await service.host.admin.listMailboxes({ domain: 'example.com' }))[0]?.locked).toBe(true);
  });
});

test.describe('listening on IPv4 and IPv6 loopback', () => {
  test.use({ listen: ['127.0.0.1', '::1'] });
  // Before the fixtures start: without ::1 the service could not listen there.
  test.skip(!ipv6Loopback, '::1 is not configured on this machine, so the service cannot listen on IPv6 loopback');

  test('the status bar shows every address of each listener', async ({ ui, service, page }) => {
    await ui.open();
    await expect(page.getByTestId('status-pop3')).toHaveText(`POP3 127.0.0.1:${service.pop3Port}, [::1]:${service.pop3Port}`);
    await expect(page.getByTestId('status-smtp')).toHaveText(`SMTP 127.0.0.1:${service.smtpPort}, [::1]:${service.smtpPort}`);
    const pop3s = service.host.pop3sPort as number;
    await expect(page.getByTestId('status-pop3s')).toHaveText(`POP3S 127.0.0.1:${pop3s}, [::1]:${pop3s}`);
  });
});
