/**
 * A real admin service over a new store in a temp folder, in this process:
 * the same operations and events the console gets over IPC (the renderer's
 * unit tests put it behind `window.winpop`).
 */

import os from 'node:os';
import path from 'node:path';
import type { AdminApi, AdminEvent, ServerInfo } from '../../shared/contract.js';
import { createAdminService } from '../../electron/service/admin/admin-service.js';
import { loadConfig } from '../../electron/service/config.js';
import { silentLogger } from '../../electron/service/log.js';
import { createSettingsHolder } from '../../electron/service/settings-holder.js';
import { openMailStore } from '../../electron/service/store/index.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { tempDir } from './temp.js';

export const PASSWORD = 'some-password';

export interface TestService {
  /** The operations as the administrator `tester` calls them. */
  readonly admin: AdminApi;
  readonly store: MailStore;
  /** Every event the service emitted since it opened, in order. */
  readonly events: AdminEvent[];
  /** Stops listening, closes the store and removes the folder. */
  close(): Promise<void>;
}

/** Opens a service with `domains` added and the mailboxes `addresses` in them. */
export async function openTestService(domains: readonly string[], addresses: readonly string[] = []): Promise<TestService> {
  const dir = await tempDir('winpop-renderer-');
  const mailroot = path.join(dir.path, 'mail');
  const configPath = path.join(dir.path, 'winpop.json');
  const store = await openMailStore(mailroot, { fsync: false });
  const settings = createSettingsHolder(configPath, await loadConfig(configPath), { mailroot });
  const info = (): ServerInfo => ({ computer: os.hostname(), version: 'test', mailroot, mode: 'in-process', listeners: [], sessions: 0 });
  const admin = createAdminService({ store, settings, info, log: silentLogger }).forActor('tester');
  for (const domain of domains) await admin.addDomain({ domain });
  for (const address of addresses) await admin.addMailbox({ address, password: PASSWORD });
  const events: AdminEvent[] = [];
  const unsubscribe = admin.onEvent((event) => events.push(event));
  return {
    admin,
    store,
    events,
    close: async () => {
      unsubscribe();
      await store.close();
      await dir.remove();
    },
  };
}
