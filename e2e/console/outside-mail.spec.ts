/**
 * Mail that another program writes straight into a mailbox's Maildir (a
 * Python script, as an MTA's delivery agent would: tmp/ then new/, no
 * `,S=`/`,W=` in the name) shows in the console: in the open view by
 * itself, and in every other view at the next F5.
 */

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { AdminEvent } from '../../shared/contract.js';
import { expect, seed, test } from './fixtures.js';
import { cellSelector, reportLatency, watchChange } from './screen-latency.js';

/** Generous: a watch reports a change at once and a poll comes every 2 s; the machine may be busy. */
const SHOWN = { timeout: 15_000 };

/** Writes one message the Maildir way, from another process. */
function deliverAsAnotherProgram(mailbox: string, body: string): void {
  execFileSync('python3', [
    '-c',
    `import os, sys, time
box, body = sys.argv[1], sys.argv[2]
unique = '%d.P%dQ1.otherhost' % (int(time.time()), os.getpid())
with open(os.path.join(box, 'tmp', unique), 'w') as f:
    f.write(body)
os.rename(os.path.join(box, 'tmp', unique), os.path.join(box, 'new', unique))`,
    mailbox,
    body,
  ]);
}

test('the open view shows mail another program delivers, by itself', async ({ ui, service }, testInfo) => {
  await seed(service.host.admin, { 'example.com': { ann: 'Ann-pass-1', bob: 'Bob-pass-2' } });
  await ui.open();
  await ui.openDomain('example.com');
  await expect(ui.cell('ann@example.com', 'messages')).toHaveText('0');
  const calls = ui.calls.length;

  const shown = await watchChange(
    ui.page,
    service.host.admin,
    { selector: cellSelector('ann@example.com', 'messages'), text: '1' },
    (e: AdminEvent) => e.type === 'mailArrived' && e.address === 'ann@example.com' && e.messages === 1,
  );
  deliverAsAnotherProgram(path.join(service.mailroot, 'example.com', 'ann'), `Subject: from another program\n\n${'x'.repeat(4000)}\n`);
  await expect(ui.cell('ann@example.com', 'messages')).toHaveText('1', SHOWN);
  await expect(ui.cell('ann@example.com', 'bytes')).toHaveText('4 KB');
  await reportLatency(testInfo, 'a message written into new/ by another program → the message count', shown);
  expect(ui.calls.slice(calls).filter((op) => op === 'listMailboxTable'), 'no fetch: the service told the page').toEqual([]);
});

test('F5 shows mail another program delivered into a domain the console is not showing', async ({ ui, service, page }) => {
  await seed(service.host.admin, { 'example.com': { ann: 'Ann-pass-1' }, 'example.org': { carl: 'Carl-pass-3' } });
  await ui.open();
  await ui.selectComputer();
  await expect(ui.cell('example.org', 'messages')).toHaveText('0');

  deliverAsAnotherProgram(path.join(service.mailroot, 'example.org', 'carl'), 'Subject: one\n\nbody\n');
  deliverAsAnotherProgram(path.join(service.mailroot, 'example.org', 'carl'), 'Subject: two\r\n\r\nbody');
  await page.keyboard.press('F5');
  await expect(ui.cell('example.org', 'messages')).toHaveText('2');

  await ui.openDomain('example.org');
  await expect(ui.cell('carl@example.org', 'messages')).toHaveText('2');
});
