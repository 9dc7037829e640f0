/**
 * Which service the console administers.
 *
 * If a service (a running `pop3svc`) already serves the mail root, the
 * console talks to it over the control channel, so there is one set of
 * listeners and a lock reaches its open sessions at once; the status bar then
 * says "remote". Otherwise the console starts the service in its own process,
 * the same code as `pop3svc`. No Electron import: tested under plain Node.
 */

import type { AdminApi, OperationName, ServerInfo } from '../shared/contract.js';
import { OPERATION_NAMES } from '../shared/contract.js';
import { currentActor } from './service/admin/open-admin.js';
import { connectControl } from './service/admin/control-client.js';
import { defaultConfigPath, loadConfig } from './service/config.js';
import { startService } from './service/host.js';
import type { Logger } from './service/log.js';
import type { LaunchOptions } from './launch-options.js';

export interface ConsoleAdmin {
  readonly admin: AdminApi;
  readonly mode: 'in-process' | 'remote';
  readonly mailroot: string;
  /** Stops the in-process service, or disconnects from the remote one. */
  close(): Promise<void>;
}

export interface ConsoleAdminOptions extends LaunchOptions {
  /** The OS user named in the audit log; the current user unless given. */
  readonly actor?: string;
  readonly log?: Logger;
}

/** A remote admin whose serverInfo says it is reached through the control channel. */
function asRemote(remote: AdminApi): AdminApi {
  const forwarded: Partial<Record<OperationName, (args: never) => Promise<unknown>>> = {};
  for (const op of OPERATION_NAMES) {
    const method = remote[op] as (args: never) => Promise<unknown>;
    forwarded[op] = (args) => method.call(remote, args);
  }
  return {
    ...(forwarded as Omit<AdminApi, 'onEvent'>),
    serverInfo: async (args): Promise<ServerInfo> => ({ ...(await remote.serverInfo(args)), mode: 'remote' }),
    onEvent: (listener) => remote.onEvent(listener),
  };
}

/** Connects to the running service for the mail root, or starts one in this process. */
export async function openConsoleAdmin(options: ConsoleAdminOptions = {}): Promise<ConsoleAdmin> {
  const configPath = options.configPath ?? defaultConfigPath();
  const mailroot = options.mailroot ?? (await loadConfig(configPath)).mailroot;
  const actor = options.actor ?? currentActor();

  const remote = await connectControl(mailroot, actor);
  if (remote) {
    options.log?.info('administering the running service through its control channel', { mailroot, address: remote.address });
    remote.onClose((error) => {
      // Calls from now on fail with UNAVAILABLE, which the console shows; restarting the console reconnects or hosts the service.
      if (error) options.log?.warn('the running service closed the control channel', { mailroot, error: error.message });
    });
    return {
      admin: asRemote(remote),
      mode: 'remote',
      mailroot,
      close: async () => remote.close(),
    };
  }

  const host = await startService({
    mailroot,
    configPath,
    ...(options.pop3Port !== undefined ? { pop3Port: options.pop3Port } : {}),
    ...(options.smtpPort !== undefined ? { smtpPort: options.smtpPort } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  return {
    admin: options.actor === undefined ? host.admin : host.service.forActor(options.actor),
    mode: 'in-process',
    mailroot: host.mailroot,
    close: () => host.stop(),
  };
}
