/**
 * One running service: the store, the POP3 and SMTP listeners, the control
 * channel, the admin endpoint and the admin operations, wired together.
 *
 * `pop3svc`, the console's main process and the tests all start the service
 * through `startService`, so they run the same code.
 *
 * On several processes (`workers`, pop3svc's case) this process is the
 * primary: it keeps the store for the admin operations, the control channel,
 * the admin endpoint and the events, and worker processes serve POP3, POP3S
 * and SMTP on the same store (workers/worker-pool.ts).
 */

import os from 'node:os';
import type { AdminApi, AdminEvent, ListenerStatus, ServerInfo, Settings } from '../../shared/contract.js';
import { AdminError } from '../../shared/errors.js';
import { listenAddressProblem } from '../../shared/validate.js';
import { createAdminService, type AdminDeps, type AdminService } from './admin/admin-service.js';
import { controlSocketPath } from './admin/control-path.js';
import { serveControl } from './admin/control-server.js';
import { createAccountService } from './admin/remote/account-service.js';
import { AdminAccounts } from './admin/remote/admin-accounts.js';
import { createAdminEndpoint, type AdminEndpoint, type AdminEndpointOptions } from './admin/remote/endpoint-server.js';
import { createAuthorities } from './auth/authorities.js';
import { openDirectorySecret } from './auth/directory-secret.js';
import { defaultConfigPath, loadConfig } from './config.js';
import { bindTargets } from './listen-addresses.js';
import { createLogger, type Logger } from './log.js';
import { startMailListeners } from './mail-listeners.js';
import { startCounterEvents } from './observe/counter-events.js';
import { countersReport, mergeCounterSnapshots, processCounters, type CounterSnapshot } from './observe/counters.js';
import type { LoginHoldForTests } from './pop3/session.js';
import { createSettingsHolder } from './settings-holder.js';
import { openMailStore, type AdminStorePort, type MailStore } from './store/index.js';
import { stopPasswordWorkers } from './store/passwords.js';
import { setUpTls } from './tls/setup.js';
import { SERVICE_VERSION } from './version.js';
import { createChangeDedupe, type ChangeFilter } from './workers/change-dedupe.js';
import { workerCount } from './workers/worker-count.js';
import { startWorkerPool, type WorkerPool } from './workers/worker-pool.js';

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
  /** Test-only hold points of a POP3 log-in (see Pop3Options); pop3svc and the console never set it. Only in one process. */
  readonly loginHoldForTests?: LoginHoldForTests;
  /**
   * Serve POP3, POP3S and SMTP on worker processes: `setting` takes the
   * setting `workers` (0: one per CPU), a number is this run's count. A count
   * of 1, or this option absent, serves everything in this process.
   *
   * pop3svc passes it. The console, hosting the service itself, does not:
   * there the service is the desktop's trial or small office one, beside a
   * window, and a worker would be the Electron binary run as Node
   * (ELECTRON_RUN_AS_NODE), which packaged apps may forbid (Electron's
   * RunAsNode fuse); a server runs pop3svc. Tests that look inside the
   * process (its log, its hold points) leave it out too.
   */
  readonly workers?: number | 'setting';
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
  /** The worker processes' pids, when POP3 and SMTP are served by workers; empty in one process. */
  workerPids(): number[];
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
  const ports = { pop3: settings.get().port, smtp: settings.get().smtpPort, pop3s: settings.get().pop3sPort };
  const processes = options.workers === undefined ? 1 : workerCount(options.workers === 'setting' ? settings.get().workers : options.workers);
  if (processes > 1 && options.loginHoldForTests !== undefined) {
    throw new AdminError('INVALID_ARGUMENT', 'loginHoldForTests works in one process only: start the service without workers.');
  }

  /** The mail side: in this process, or on workers. */
  let mail: { pop3Port: number | null; smtpPort: number | null; pop3sPort: number | null; sessions: AdminDeps['sessions']; close(): Promise<void> };
  let pool: WorkerPool | undefined;
  /** With workers, store changes reach the subscribers from two stores: each is announced once. */
  let once: ChangeFilter | undefined;
  if (processes > 1) {
    once = createChangeDedupe();
    const pass = once;
    pool = await startWorkerPool({
      count: processes,
      init: { settings: settings.get(), ports, ...(options.fsync === undefined ? {} : { fsync: options.fsync }) },
      log,
      onEvent: (event: AdminEvent) => {
        if (event.type === 'mailArrived' || event.type === 'mailboxChanged' || event.type === 'stateProblem') {
          // A worker's log-in found a mailbox's state file damaged or whole again: the primary's listing reads it too.
          if (event.type === 'stateProblem' && event.kind === 'mailbox') void store.isLocked(event.target).catch(() => {});
          if (!pass(event)) return;
        }
        service?.emit(event);
      },
    }).catch(async (err: unknown) => {
      await store.close().catch(() => {});
      await stopPasswordWorkers();
      throw err;
    });
    for (const status of pool.listeners) listeners.set(status.protocol, status);
    const workers = pool;
    mail = { pop3Port: pool.ports.pop3, smtpPort: pool.ports.smtp, pop3sPort: pool.ports.pop3s, sessions: pool, close: () => workers.stop() };
  } else {
    const local = await startMailListeners({
      store,
      log,
      settings: () => settings.get(),
      tls,
      targets,
      ports,
      onSessionEvent: (event) => service?.emit(event),
      onSessionChange: (id, session) => service?.emit({ type: 'sessionChanged', id, session }),
      ...(options.loginHoldForTests === undefined ? {} : { loginHoldForTests: options.loginHoldForTests }),
    });
    for (const status of local.statuses) listeners.set(status.protocol, status);
    mail = { pop3Port: local.pop3Port, smtpPort: local.smtpPort, pop3sPort: local.pop3sPort, sessions: local.pop3, close: () => local.close() };
  }

  let endpoint: AdminEndpoint | undefined;
  const info = (): ServerInfo => {
    const admin = endpoint?.status();
    return {
      computer: os.hostname(),
      version: SERVICE_VERSION,
      mailroot,
      mode: 'in-process',
      listeners: [...listeners.values(), ...(admin ? [admin] : [])],
      sessions: mail.sessions?.sessionCount() ?? 0,
      tls: tls.status,
      ...(pool ? { workers: pool.statuses() } : {}),
    };
  };
  const workers = pool;
  // With workers, `serverInfo` counts the sessions now rather than as last reported.
  const currentInfo = workers === undefined ? info : async (): Promise<ServerInfo> => (await workers.refreshCounts(), info());

  /** The counters of every process serving this service: this one's, and each worker's last report. */
  const counterSnapshot = (): CounterSnapshot => (workers?.counterSnapshots() ?? []).reduce(mergeCounterSnapshots, processCounters.snapshot());
  service = createAdminService({
    store: once === undefined ? store : filteredChanges(store, once),
    settings,
    info: currentInfo,
    log,
    ...(mail.sessions ? { sessions: mail.sessions } : {}),
    counters: () => countersReport(counterSnapshot()),
    directorySecret,
  });
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
  const { pop3Port, smtpPort, pop3sPort } = mail;

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
    if (event.type !== 'settingsChanged') return;
    void adminEndpoint.apply(place(settings.get()));
    workers?.settingsChanged(settings.get());
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
    workerPids: () => workers?.statuses().map((w) => w.pid) ?? [],
    stop() {
      stopped ??= (async () => {
        stopFollowing();
        stopCounterEvents();
        await Promise.allSettled([control?.close(), adminEndpoint.close(), mail.close()]);
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

/** The store as the admin layer sees it, its change announcements passed through `pass` (the others untouched). */
function filteredChanges(store: MailStore, pass: ChangeFilter): AdminStorePort {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'onChange') {
        return (listener: Parameters<MailStore['onChange']>[0]) => target.onChange((change) => {
          if (pass(change)) listener(change);
        });
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
