/**
 * The admin service has the store follow (watch, or poll, for mail other
 * programs deliver) the domains a console shows: the last two whose mailbox
 * table was fetched, while a client listens for events, and nothing once
 * the last one has gone. The service's own listeners do not count. A real
 * admin service over a real store; the store's followDomains calls are
 * recorded on their way through.
 */

import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ServerInfo } from '../../shared/contract.js';
import { createAdminService } from '../../electron/service/admin/admin-service.js';
import { loadConfig } from '../../electron/service/config.js';
import { silentLogger } from '../../electron/service/log.js';
import { createSettingsHolder } from '../../electron/service/settings-holder.js';
import { openMailStore } from '../../electron/service/store/index.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { tempDir } from '../helpers/temp.js';

test('the store follows the domains whose table a listening client fetched last, and stops when no client listens', async () => {
  const dir = await tempDir('winpop-follow-');
  const mailroot = path.join(dir.path, 'mail');
  const real = await openMailStore(mailroot, { fsync: false, watchFolders: false });
  const followed: string[][] = [];
  const store = new Proxy(real, {
    get(target, key, receiver) {
      if (key === 'followDomains') return (domains: readonly string[]) => (followed.push([...domains]), target.followDomains(domains));
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as MailStore;
  const configPath = path.join(dir.path, 'winpop.json');
  const settings = createSettingsHolder(configPath, await loadConfig(configPath), { mailroot });
  const info = (): ServerInfo => ({ computer: os.hostname(), version: 'test', mailroot, mode: 'in-process', listeners: [], sessions: 0 });
  const service = createAdminService({ store, settings, info, log: silentLogger });
  const admin = service.forActor('tester');
  const last = (): string[] | undefined => followed[followed.length - 1];
  try {
    for (const domain of ['a.example', 'b.example', 'c.example']) await admin.addDomain({ domain });

    // The service's own listener (pop3svc follows its settings this way) is no console.
    const own = service.onServiceEvent(() => undefined);
    await admin.listMailboxTable({ domain: 'a.example' });
    assert.deepEqual(last() ?? [], [], 'nothing followed while only the service itself listens');

    const console1 = admin.onEvent(() => undefined);
    assert.deepEqual(last(), ['a.example'], 'a client listening: the domain whose table it fetched');
    await admin.listMailboxTable({ domain: 'b.example' });
    await admin.listMailboxTable({ domain: 'c.example' });
    assert.deepEqual(last(), ['c.example', 'b.example'], 'the last two');
    await admin.listMailboxes({ domain: 'a.example' });
    assert.deepEqual(last(), ['c.example', 'b.example'], "winpop's listing is no view");

    const console2 = admin.onEvent(() => undefined);
    console1();
    console1();
    assert.deepEqual(last(), ['c.example', 'b.example'], 'another client still listens (an unsubscribe counts once)');
    console2();
    assert.deepEqual(last(), [], 'the last client gone: nothing followed');
    own();
  } finally {
    await real.close();
    await dir.remove();
  }
});
