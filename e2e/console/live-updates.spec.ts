/**
 * The view follows changes made elsewhere: a `winpop lock` from a shell shows
 * in the open view, and so do mail arriving and mailboxes added or removed.
 *
 * Each check allows ten seconds (the service shares this worker with
 * Chromium, on a machine that may be busy) and reports how long after the
 * service's event the page showed the change; the one-second target is
 * measured by bench/console-live-updates.spec.ts.
 */

import type { AdminEvent } from '../../shared/contract.js';
import { smtpSend } from './mail-clients.js';
import { expect, seed, test } from './fixtures.js';
import { cellSelector, domainNodeSelector, reportLatency, rowSelector, watchChange, type ScreenCondition } from './screen-latency.js';
import { winpop } from './winpop-cli.js';

/** Generous: the page shows a change well within a second on an idle machine (see the reported latencies). */
const SHOWN = { timeout: 10_000 };

test('a lock made with winpop in a shell shows in the open view', async ({ ui, service }, testInfo) => {
  await seed(service.host.admin, { 'example.com': { ann: 'Ann-pass-1', bob: 'Bob-pass-2' } });
  await ui.open();
  await ui.openDomain('example.com');
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');
  const watch = (screen: ScreenCondition, isEvent: (e: AdminEvent) => boolean) => watchChange(ui.page, service.host.admin, screen, isEvent);

  let shown = await watch({ selector: cellSelector('bob@example.com', 'state'), text: 'Locked' }, (e) => e.type === 'locked' && e.target === 'bob@example.com');
  const locked = await winpop(service, ['lock', 'bob@example.com', '--reason', 'left the company']);
  expect(locked.code, locked.stderr).toBe(0);
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Locked', SHOWN);
  await reportLatency(testInfo, 'winpop lock → the state cell says Locked', shown);
  await expect(ui.cell('bob@example.com', 'state').locator('span')).toHaveAttribute('title', /left the company/);

  shown = await watch({ selector: cellSelector('bob@example.com', 'state'), text: 'Unlocked' }, (e) => e.type === 'unlocked' && e.target === 'bob@example.com');
  const unlocked = await winpop(service, ['unlock', 'bob@example.com']);
  expect(unlocked.code, unlocked.stderr).toBe(0);
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked', SHOWN);
  await reportLatency(testInfo, 'winpop unlock → Unlocked', shown);

  // A domain locked from the shell: its mark in the tree, and every mailbox shows it.
  const isDomainLock = (e: AdminEvent): boolean => e.type === 'locked' && e.target === 'example.com';
  const marked = await watch({ selector: domainNodeSelector('example.com'), attribute: ['data-locked', 'true'] }, isDomainLock);
  shown = await watch({ selector: cellSelector('ann@example.com', 'state'), text: 'Locked (domain)' }, isDomainLock);
  const domainLocked = await winpop(service, ['lock', 'example.com']);
  expect(domainLocked.code, domainLocked.stderr).toBe(0);
  await expect(ui.domainNode('example.com')).toHaveAttribute('data-locked', 'true', SHOWN);
  await expect(ui.cell('ann@example.com', 'state')).toHaveText('Locked (domain)', SHOWN);
  await reportLatency(testInfo, 'winpop lock of the domain → its tree node marked locked', marked);
  await reportLatency(testInfo, 'winpop lock of the domain → a mailbox says Locked (domain)', shown);
});

test('mail arriving updates counts and sizes; mailboxes added or removed elsewhere appear and go', async ({ ui, service }, testInfo) => {
  await seed(service.host.admin, { 'example.com': { ann: 'Ann-pass-1' } });
  await ui.open();
  await ui.openDomain('example.com');
  await expect(ui.cell('ann@example.com', 'messages')).toHaveText('0');
  await expect(ui.cell('ann@example.com', 'bytes')).toHaveText('0 KB');
  const watch = (screen: ScreenCondition, isEvent: (e: AdminEvent) => boolean) => watchChange(ui.page, service.host.admin, screen, isEvent);
  const mailTo = (address: string, messages: number) => (e: AdminEvent): boolean => e.type === 'mailArrived' && e.address === address && e.messages === messages;

  let shown = await watch({ selector: cellSelector('ann@example.com', 'messages'), text: '1' }, mailTo('ann@example.com', 1));
  await smtpSend(service.smtpPort, 'ann@example.com', 'Hello', 'x'.repeat(3000));
  await expect(ui.cell('ann@example.com', 'messages')).toHaveText('1', SHOWN);
  await reportLatency(testInfo, 'mail delivered over SMTP → the message count', shown);
  await expect(ui.cell('ann@example.com', 'bytes')).not.toHaveText('0 KB');
  shown = await watch({ selector: cellSelector('ann@example.com', 'messages'), text: '2' }, mailTo('ann@example.com', 2));
  await smtpSend(service.smtpPort, 'ann@example.com', 'Hello again');
  await expect(ui.cell('ann@example.com', 'messages')).toHaveText('2', SHOWN);
  await reportLatency(testInfo, 'a second message → the message count', shown);

  shown = await watch({ selector: rowSelector('dave@example.com') }, (e) => e.type === 'mailboxAdded' && e.address === 'dave@example.com');
  const added = await winpop(service, ['add', 'dave@example.com', '/createuser', 'Dave-pass-4']);
  expect(added.code, added.stderr).toBe(0);
  await expect(ui.row('dave@example.com')).toBeVisible(SHOWN);
  await reportLatency(testInfo, 'winpop add of a mailbox → its row', shown);
  await expect(ui.page.getByTestId('details-summary')).toHaveText('2 mailboxes');

  shown = await watch({ selector: rowSelector('dave@example.com'), absent: true }, (e) => e.type === 'mailboxRemoved' && e.address === 'dave@example.com');
  const removed = await winpop(service, ['delete', 'dave@example.com']);
  expect(removed.code, removed.stderr).toBe(0);
  await expect(ui.row('dave@example.com')).toHaveCount(0, SHOWN);
  await reportLatency(testInfo, 'winpop delete of a mailbox → its row gone', shown);

  // The computer's domain list follows too.
  await ui.selectComputer();
  await expect(ui.cell('example.com', 'messages')).toHaveText('2');
  shown = await watch({ selector: rowSelector('example.org') }, (e) => e.type === 'domainAdded' && e.domain === 'example.org');
  const domain = await winpop(service, ['add', 'example.org']);
  expect(domain.code, domain.stderr).toBe(0);
  await expect(ui.row('example.org')).toBeVisible(SHOWN);
  await reportLatency(testInfo, 'winpop add of a domain → its row', shown);
  await expect(ui.domainNode('example.org')).toBeVisible();
});

test("a lock's reply that arrives after another admin's later unlock does not put the lock back", async ({ ui, service }) => {
  await seed(service.host.admin, { 'example.com': { bob: 'Bob-pass-2' } });
  await ui.open();
  await ui.openDomain('example.com');
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');

  // The lock runs at once; only its reply to the page waits, as over a slow link.
  let release: () => void = () => undefined;
  ui.transport?.holdReplies('lock', new Promise<void>((resolve) => (release = resolve)));
  await ui.rightClick('bob@example.com');
  await ui.menuItem('Lock').click();
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Locked');

  const unlocked = await winpop(service, ['unlock', 'bob@example.com']);
  expect(unlocked.code, unlocked.stderr).toBe(0);
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');

  release();
  await expect(ui.status).toHaveText('Locked bob@example.com.');
  await expect(ui.cell('bob@example.com', 'state')).toHaveText('Unlocked');
  expect((await service.host.admin.listMailboxes({ domain: 'example.com' }))[0]?.locked).toBe(false);
});
