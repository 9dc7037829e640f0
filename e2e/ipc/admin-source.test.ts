/**
 * Which service the console administers: a running one for the same mail
 * root (through its control channel, reported as "remote"), else one started
 * in the console's process. Real services, real sockets, a temp mail root.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openConsoleAdmin } from '../../electron/admin-source.js';
import { silentLogger } from '../../electron/service/log.js';
import { startService } from '../../electron/service/host.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

let dir: TempDir;
let mailroot: string;
let configPath: string;

before(async () => {
  dir = await tempDir('winpop-console-admin-');
  mailroot = path.join(dir.path, 'mailroot');
  configPath = path.join(dir.path, 'config.json');
});

after(async () => {
  await dir?.remove();
});

test('with a service running for the mail root, the console uses it through the control channel', async () => {
  const running = await startService({ mailroot, configPath, pop3Port: 0, smtpPort: 0, log: silentLogger });
  try {
    await running.admin.addDomain({ domain: 'example.com' });
    await running.admin.addMailbox({ address: 'alice@example.com', password: 'Correct-Horse-7' });

    const consoleAdmin = await openConsoleAdmin({ mailroot, configPath, pop3Port: 0, smtpPort: 0, actor: 'console-test', log: silentLogger });
    try {
      assert.equal(consoleAdmin.mode, 'remote');
      const info = await consoleAdmin.admin.serverInfo({});
      assert.equal(info.mode, 'remote');
      // The listeners shown are the running service's, not new ones.
      const pop3 = info.listeners.find((l) => l.protocol === 'pop3');
      assert.deepEqual(pop3?.addresses, running.info().listeners.find((l) => l.protocol === 'pop3')?.addresses);
      assert.ok(pop3?.addresses?.includes(`0.0.0.0:${running.pop3Port}`), JSON.stringify(pop3));

      // Events come through the control channel too, so the console stays live in remote mode.
      const lockedEvent = new Promise<string>((resolve) => {
        const off = consoleAdmin.admin.onEvent((e) => {
          if (e.type === 'locked') {
            off();
            resolve(e.target);
          }
        });
      });
      const result = await consoleAdmin.admin.lock({ target: 'alice@example.com' });
      assert.equal(result.locked, true);
      assert.equal(await lockedEvent, 'alice@example.com');
      // The running service enforces it: its own view says locked, by the console's actor.
      const [alice] = await running.admin.listMailboxes({ domain: 'example.com' });
      assert.equal(alice?.locked, true);
      assert.equal(alice?.lock?.by, 'console-test');

      const refused = await consoleAdmin.admin.unlock({ target: 'nobody@example.com' }).then(
        () => null,
        (e: unknown) => e as { code?: string },
      );
      assert.equal(refused?.code, 'NOT_FOUND');
    } finally {
      await consoleAdmin.close();
    }
    // Closing the console's connection leaves the running service alone.
    const [alice] = await running.admin.listMailboxes({ domain: 'example.com' });
    assert.equal(alice?.locked, true);
  } finally {
    await running.stop();
  }
});

test('with no service running, the console starts one in its own process', async () => {
  const consoleAdmin = await openConsoleAdmin({ mailroot, configPath, pop3Port: 0, smtpPort: 0, log: silentLogger });
  try {
    assert.equal(consoleAdmin.mode, 'in-process');
    assert.equal(consoleAdmin.mailroot, mailroot);
    const info = await consoleAdmin.admin.serverInfo({});
    assert.equal(info.mode, 'in-process');
    for (const protocol of ['pop3', 'smtp'] as const) {
      const listener = info.listeners.find((l) => l.protocol === protocol);
      assert.equal(listener?.listening, true, JSON.stringify(listener));
      // The default listen addresses: every IPv4 address, and every IPv6 one where the machine has IPv6.
      assert.match(listener?.address ?? '', /^0\.0\.0\.0:([1-9][0-9]*)(, \[::\]:\1)?$/);
    }
    // The store from the first test is the same store.
    const [alice] = await consoleAdmin.admin.listMailboxes({ domain: 'example.com' });
    assert.equal(alice?.locked, true);
  } finally {
    await consoleAdmin.close();
  }
});
