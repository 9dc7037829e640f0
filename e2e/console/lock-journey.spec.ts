/**
 * The seed's journey, end to end against the real service: open the
 * computer, pick the domain, right-click a mailbox, Lock. A real POP3 client
 * with the right password is refused with the locked message; mail sent
 * meanwhile over SMTP is delivered and the counts update; Unlock, and the
 * client logs in and gets all of it.
 */

import { pop3FetchAll, smtpSend } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';

test('right-click Lock refuses POP3 log-in, mail still arrives, Unlock returns it all', async ({ ui, service }) => {
  const { host, pop3Port, smtpPort } = service;
  await seed(host.admin, { 'example.com': { ann: 'Ann-pass-1', bob: 'Bob-pass-2', carol: 'Carol-pass-3' } });
  await smtpSend(smtpPort, 'ann@example.com', 'Before the lock');

  await ui.open();
  await ui.selectComputer();
  await expect(ui.cell('example.com', 'mailboxes')).toHaveText('3');
  await expect(ui.cell('example.com', 'messages')).toHaveText('1');
  await ui.screenshot('computer-view');

  await ui.openDomain('example.com');
  await expect(ui.cell('ann@example.com', 'messages')).toHaveText('1');
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Unlocked');

  const menu = await ui.rightClick('ann@example.com');
  await expect(ui.menuItem('Unlock')).toHaveAttribute('aria-disabled', 'true');
  await ui.screenshot('context-menu');
  await ui.menuItem('Lock').click();
  await expect(menu).toBeHidden();
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Locked');
  await expect(ui.status).toHaveText('Locked ann@example.com.');

  const refused = await pop3FetchAll(pop3Port, 'ann@example.com', 'Ann-pass-1');
  expect(refused.ok).toBe(false);
  if (!refused.ok) expect(refused.error).toMatch(/\[AUTH\].*disabled by the administrator/i);

  await smtpSend(smtpPort, 'ann@example.com', 'While locked');
  await expect(ui.cell('ann@example.com', 'messages')).toHaveText('2');
  await ui.screenshot('domain-view-locked-mailbox');

  await ui.rightClick('ann@example.com');
  await expect(ui.menuItem('Lock')).toHaveAttribute('aria-disabled', 'true');
  await ui.menuItem('Unlock').click();
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Unlocked');

  const fetched = await pop3FetchAll(pop3Port, 'ann@example.com', 'Ann-pass-1');
  expect(fetched.ok, JSON.stringify(fetched)).toBe(true);
  if (fetched.ok) {
    expect(fetched.count).toBe(2);
    expect(fetched.messages.join('\n')).toContain('Subject: Before the lock');
    expect(fetched.messages.join('\n')).toContain('Subject: While locked');
  }
});
