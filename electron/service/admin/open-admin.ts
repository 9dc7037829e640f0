/**
 * How a tool reaches the admin operations: through the running service when
 * there is one (so a lock is enforced on its open sessions at once), or on
 * the store directly when none runs.
 */

import os from 'node:os';
import type { AccountApi, AdminApi, ServerInfo } from '../../../shared/contract.js';
import { defaultConfigPath, loadConfig } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import { createSettingsHolder } from '../settings-holder.js';
import { openMailStore } from '../store/index.js';
import { SERVICE_VERSION } from '../version.js';
import { createAdminService } from './admin-service.js';
import { connectControl } from './control-client.js';
import { createAccountService } from './remote/account-service.js';
import { AdminAccounts } from './remote/admin-accounts.js';

export interface OpenAdminOptions {
  readonly configPath?: string;
  readonly mailroot?: string;
  readonly actor?: string;
  /** Where a store opened directly reports problems; stderr at warnings by default. */
  readonly log?: Logger;
  /** Make the mail root when it does not exist (default false: a missing store is an error, not a new empty one). */
  readonly create?: boolean;
}

export interface OpenedAdmin {
  readonly api: AdminApi;
  /** The admin endpoint's accounts: through the running service (which ends sessions at once), or on the store. */
  readonly accounts: AccountApi;
  readonly mode: 'remote' | 'store-only';
  readonly mailroot: string;
  close(): void;
}

export function currentActor(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

export async function openAdmin(options: OpenAdminOptions = {}): Promise<OpenedAdmin> {
  const configPath = options.configPath ?? defaultConfigPath();
  const fromFile = await loadConfig(configPath);
  const overrides = options.mailroot === undefined ? {} : { mailroot: options.mailroot };
  const settings = createSettingsHolder(configPath, fromFile, overrides);
  const mailroot = settings.get().mailroot;
  const actor = options.actor ?? currentActor();

  const remote = await connectControl(mailroot, actor);
  if (remote) return { api: remote, accounts: remote, mode: 'remote', mailroot, close: () => remote.close() };

  const log = options.log ?? createLogger(() => 1, (line) => process.stderr.write(line));
  // A one-shot command recovers only the mailboxes it touches, not the whole store.
  const store = await openMailStore(mailroot, { log, recovery: 'lazy', create: options.create ?? false });
  const info = (): ServerInfo => ({
    computer: os.hostname(),
    version: SERVICE_VERSION,
    mailroot,
    mode: 'store-only',
    listeners: [],
    sessions: 0,
  });
  const service = createAdminService({ store, settings, info, log });
  const accounts = createAccountService({ accounts: new AdminAccounts(mailroot), root: mailroot, log });
  return { api: service.forActor(actor), accounts: accounts.forActor(actor), mode: 'store-only', mailroot, close: () => {} };
}
