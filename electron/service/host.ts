/**
 * One running service: the store, the POP3 and SMTP listeners, the control
 * channel, the admin endpoint and the admin operations, wired together.
 *
 * `pop3svc`, the console's main process and the tests all start the service
 * through `startService`, so they run the same code.
 */

import os from 'node:os';
import type { AdminApi, ListenerStatus, ServerInfo, Settings } from '../../shared/contract.js';
import { AdminError } from '../../shared/errors.js';
import { listenAddressProblem } from '../../shared/validate.js';
import { createAdminService, type AdminService } from './admin/admin-service.js';
import { controlSocketPath } from './admin/control-path.js';
import { serveControl } from './admin/control-server.js';
import { createAccountService } from './admin/remote/account-service.js';
import { AdminAccounts } from './admin/remote/admin-accounts.js';
import { createAdminEndpoint, type AdminEndpoint, type AdminEndpointOptions } from './admin/remote/endpoint-server.js';
import { createAuthorities } from './auth/authorities.js';
import { openDirectorySecret } from './auth/directory-secret.js';
import { defaultConfigPath, loadConfig } from './config.js';
import { AddressBindError, bindAll, bindTargets, hostPort, type BindOne, type BoundAddress } from './listen-addresses.js';
import { listenFailure } from './listen-failure.js';
import { createLogger, type Logger } from './log.js';
import { startCounterEvents } from './observe/counter-events.js';
import { countersReport, processCounters, type CounterSnapshot } from './observe/counters.js';
import { createPop3Server } from './pop3/index.js';
import type { LoginHoldForTests } from './pop3/session.js';
import { createSettingsHolder } from './settings-holder.js';
import { createSmtpListener } from './smtp/index.js';
import { openMailStore } from './store/index.js';
import { stopPasswordWorkers } from './store/passwords.js';
import { setUpTls } from './tls/setup.js';
import { SERVICE_VERSION } from './version.js';

export interface HostOptions {
  /** Overrides the config's mail root for this run. */
  readonly mailroot?: string;
  readonly configPath?: string;
  /**
   * This run's listen addresses, instead of the setting `listen` (shown but
   * never saved): `*`, `::` or IP addresses, as a list or one string
   * separated by commas.
   */
  readonly listen?: string | readonly string[];
  /** Override the config's ports for this run; 0 picks a free port. */
  readonly pop3Port?: number;
  readonly smtpPort?: number;
  /**
   * POP3 over TLS (implicit TLS); the config's pop3sPort (995) unless given.
   * When not given and `pop3Port` is 0, it is 0 too: a run on free ports (a
   * test, a trial) never reaches for the fixed one.
   */
  readonly pop3sPort?: number;
  /** Serve the control channel for `winpop` (default true). */
  readonly control?: boolean;
  /**
   * The admin endpoint's port for this run, instead of the setting
   * `adminPort` (shown but never saved); 0 turns it off.
   */
  readonly adminPort?: number;
  /** The admin endpoint's addresses for this run, instead of the setting `adminListen` (never saved); `npm start` keeps it on 127.0.0.1. */
  readonly adminListen?: readonly string[];
  /** What the admin endpoint serves besides the API (the console's files), and its session and link lifetimes. */
  readonly adminEndpoint?: AdminEndpointOptions;
  readonly log?: Logger;
  /** fsync each write (default true); only benchmarks that measure its cost turn it off. */
  readonly fsync?: boolean;
  /** Watch the mailbox folders of the domains a console shows (default true); false polls them (see OpenStoreOptions.watchFolders). */
  readonly watchFolders?: boolean;
  /** Test-only hold points of a POP3 log-in (see Pop3Options); pop3svc and the console never set it. */
  readonly loginHoldForTests?: LoginHoldForTests;
}

export interface ServiceHost {
  /** The admin operations, acting as the OS user running this process. */
  readonly admin: AdminApi;
  readonly service: AdminService;
  info(): ServerInfo;
  /** Bound ports; null where the listener could not start. */
  readonly pop3Port: number | null;
  readonly smtpPort: number | null;
  /** Null also when TLS is off (see `info().tls.error`). */
  readonly pop3sPort: number | null;
  /** The admin endpoint: listening while the setting `adminPort` is not 0; mints one-time sign-in links. */
  readonly adminEndpoint: AdminEndpoint;
  readonly mailroot: string;
  stop(): Promise<void>;
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** A run's `--listen` as a list, checked like the setting. */
export function listenOverride(listen: string | readonly string[]): string[] {
  const list = (typeof listen === 'string' ? listen.split(',') : [...listen]).map((a) => a.trim()).filter((a) => a !== '');
  if (list.length === 0) throw new AdminError('INVALID_ARGUMENT', 'listen: no address given; use *, ::, or IP addresses separated by commas.');
  for (const address of list) {
    const problem = listenAddressProblem(address);
    if (problem !== null) throw new AdminError('INVALID_ARGUMENT', `listen: ${problem}`);
  }
  return list;
}

function overridesFrom(options: HostOptions): Partial<Settings> {
  const overrides: { -readonly [K in keyof Settings]?: Settings[K] } = {};
  if (options.mailroot !== undefined) overrides.mailroot = options.mailroot;
  if (options.listen !== undefined) overrides.listen = listenOverride(options.listen);
  if (options.pop3Port !== undefined) overrides.port = options.pop3Port;
  if (options.smtpPort !== undefined) overrides.smtpPort = options.smtpPort;
  if (options.pop3sPort !== undefined) overrides.pop3sPort = options.pop3sPort;
  else if (options.pop3Port === 0) overrides.pop3sPort = 0;
  if (options.adminPort !== undefined) overrides.adminPort = options.adminPort;
  if (options.adminListen !== undefined) overrides.adminListen = listenOverride(options.adminListen);
  return overrides;
}

export async function startService(options: HostOptions = {}): Promise<ServiceHost> {
  const configPath = options.configPath ?? defaultConfigPath();
  const settings = createSettingsHolder(configPath, await loadConfig(configPath), overridesFrom(options));
  const log = options.log ?? createLogger(() => settings.get().logging);
  const mailroot = settings.get().mailroot;
  // Read once: like the ports, the listen addresses apply at the next start.
  const targets = bindTargets(settings.get().listen);

  // Serves at once whatever the store's size: each mailbox is recovered before its first use, all of them by a sweep in the background.
  const store = await openMailStore(mailroot, {
    log,
    recovery: 'background',
    ...(options.fsync === undefined ? {} : { fsync: options.fsync }),
    ...(options.watchFolders === undefined ? {} : { watchFolders: options.watchFolders }),
  });
  // The authentication method's authority decides each log-in's password (auth/authorities.ts).
  const directorySecret = openDirectorySecret(mailroot);
  const authorities = createAuthorities({ settings: () => settings.get(), passwordFile: store.passwordFile, directorySecret, log });
  store.useAuthority(() => authorities.current());
  // Made now, so that the start-up log says which method checks passwords (and what it needs).
  authorities.current();
  const listeners = new Map<ListenerStatus['protocol'], ListenerStatus>();
  let service: AdminService | undefined;
  // Certificate and key are read once, at start: a change to them applies at the next start.
  const tls = await setUpTls({
    certFile: settings.get().tlsCertFile,
    keyFile: settings.get().tlsKeyFile,
    mailroot,
    hostName: os.hostname(),
    log,
  });

  const pop3 = createPop3Server({
    store,
    log,
    settings: () => settings.get(),
    greeting: os.hostname(),
    tls: tls.material?.context ?? null,
    ...(options.loginHoldForTests === undefined ? {} : { loginHoldForTests: options.loginHoldForTests }),
    onSessionChange: (id, session) => service?.emit({ type: 'sessionChanged', id, session }),
    onEvent: (e: { type: string; address: string; remote: string; reason?: string }) =>
      service?.emit(
        e.type === 'sessionOpened'
          ? { type: 'sessionOpened', address: e.address, remote: e.remote }
          : { type: 'sessionClosed', address: e.address, remote: e.remote, reason: e.reason ?? 'ended' },
      ),
  });
  const smtp = createSmtpListener({
    store,
    log,
    settings: () => settings.get(),
    hostname: os.hostname(),
    tls: tls.material === null ? null : { key: tls.material.key, cert: tls.material.cert },
  });

  let endpoint: AdminEndpoint | undefined;
  const info = (): ServerInfo => {
    const admin = endpoint?.status();
    return {
      computer: os.hostname(),
      version: SERVICE_VERSION,
      mailroot,
      mode: 'in-process',
      listeners: [...listeners.values(), ...(admin ? [admin] : [])],
      sessions: pop3.sessionCount(),
      tls: tls.status,
    };
  };

  /** The counters of every process serving this service: this one's (worker processes' snapshots merge in with mergeCounterSnapshots). */
  const counterSnapshot = (): CounterSnapshot => processCounters.snapshot();
  service = createAdminService({ store, settings, info, log, sessions: pop3, counters: () => countersReport(counterSnapshot()), directorySecret });
  const counterService = service;
  const stopCounterEvents = startCounterEvents(counterSnapshot, (counters) => counterService.emit({ type: 'counters', counters }));
  const accounts = new AdminAccounts(mailroot, { ...(options.fsync === undefined ? {} : { fsync: options.fsync }) });
  endpoint = createAdminEndpoint({
    service,
    accounts,
    tls: tls.material,
    ...(tls.status.error ? { tlsError: tls.status.error } : {}),
    log,
    ...(options.adminEndpoint ? { options: options.adminEndpoint } : {}),
  });
  const adminEndpoint = endpoint;
  const accountService = createAccountService({ accounts, root: mailroot, log, sessions: adminEndpoint });

  /** Where a listener would be, for one that is not listening. */
  const wantedAt = (port: number): string => targets.map((t) => hostPort(t.host, port)).join(', ');

  /**
   * Binds one listener on every listen address; a failure is recorded with
   * its fix rather than thrown, so a console can still administer the store.
   */
  const bind = async (protocol: 'pop3' | 'smtp' | 'pop3s', label: string, wanted: number, portOption: string, listen: BindOne): Promise<number | null> => {
    try {
      const bound = await bindAll(label, targets, wanted, listen, log);
      const addresses = bound.map((b) => hostPort(b.host, b.port));
      listeners.set(protocol, { protocol, address: addresses.join(', '), addresses, listening: true });
      log.info(`${label} listening`, { address: addresses.join(',') });
      return (bound[0] as BoundAddress).port;
    } catch (err) {
      const failed = err instanceof AddressBindError ? err : new AddressBindError(targets[0]?.host ?? '?', wanted, err);
      const error = listenFailure(label, failed.host, failed.port, failed.error, portOption);
      listeners.set(protocol, { protocol, address: wantedAt(wanted), listening: false, error });
      log.error(error);
      return null;
    }
  };

  const pop3Port = await bind('pop3', 'POP3', settings.get().port, '--pop3-port N, or winpop set port N', (p, h, o) => pop3.listen(p, h, o));
  const smtpPort = await bind('smtp', 'SMTP', settings.get().smtpPort, '--smtp-port N', (p, h, o) => smtp.listen(p, h, o));
  // After SMTP, so that `pop3=… smtp=…` stay first in pop3svc's ready line.
  const pop3sWanted = settings.get().pop3sPort;
  let pop3sPort: number | null = null;
  if (tls.material === null) {
    listeners.set('pop3s', { protocol: 'pop3s', address: wantedAt(pop3sWanted), listening: false, error: tls.status.error ?? 'TLS is off.' });
  } else {
    pop3sPort = await bind('pop3s', 'POP3S', pop3sWanted, '--pop3s-port N, or winpop set pop3sport N', (p, h, o) => pop3.listenTls(p, h, o));
  }

  let control: { close(): Promise<void> } | undefined;
  if (options.control !== false) {
    const socketPath = controlSocketPath(mailroot);
    try {
      control = await serveControl(service, socketPath, log, accountService);
      listeners.set('control', { protocol: 'control', address: socketPath, listening: true });
    } catch (err) {
      const error = `The control channel for winpop could not start at ${socketPath}: ${(err as Error).message}`;
      listeners.set('control', { protocol: 'control', address: socketPath, listening: false, error });
      log.error(error);
    }
  }

  // Last, so that the ready line lists it after the others; a change of its settings applies at once.
  const place = (s: Settings): { port: number; listen: readonly string[] } => ({ port: s.adminPort, listen: s.adminListen });
  await adminEndpoint.apply(place(settings.get()));
  const admin = service.forActor(currentUser());
  const stopFollowing = service.onServiceEvent((event) => {
    if (event.type === 'settingsChanged') void adminEndpoint.apply(place(settings.get()));
  });
  let stopped: Promise<void> | undefined;
  return {
    admin,
    service,
    info,
    pop3Port,
    smtpPort,
    pop3sPort,
    adminEndpoint,
    mailroot,
    stop() {
      stopped ??= (async () => {
        stopFollowing();
        stopCounterEvents();
        await Promise.allSettled([control?.close(), adminEndpoint.close(), pop3.close(), smtp.close()]);
        await authorities.close();
        // Writes the listing snapshots of changed domains, so `winpop list` without a service stays fast.
        await store.close().catch((err: unknown) => log.warn('store close failed', { error: err instanceof Error ? err.message : String(err) }));
        await stopPasswordWorkers();
        log.info('service stopped');
      })();
      return stopped;
    },
  };
}
