/**
 * The console in a browser, for `npm start` where there is no Electron
 * binary and for `npm start -- --browser`: the service with its admin
 * endpoint on this computer only, serving the built console, and a one-time
 * sign-in link (signing in with it needs no admin account: the session acts
 * as the OS user who ran `npm start`, who could run `winpop` anyway).
 *
 * If a service already runs for the mail root, it is used through its
 * control channel (the link comes from there) rather than started twice.
 *
 * The mail root and config are the service's defaults (those of `pop3svc`
 * and the Electron console), so all three administer the same store. The
 * ports are the config's, except that a user who may not bind ports below
 * 1024 gets POP3 on 1110, POP3S on 1995 and SMTP on 2525 instead of 110, 995
 * and 25. The admin endpoint is on 127.0.0.1, port 8110 unless the config
 * or `--admin-port` names one (a free port when that one is taken).
 */

import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ListenerStatus, ServerInfo, Settings } from '../../shared/contract.js';
import { connectControl } from '../service/admin/control-client.js';
import { currentActor } from '../service/admin/open-admin.js';
import { defaultConfigPath, loadConfig } from '../service/config.js';
import { startService, type ServiceHost } from '../service/host.js';
import { openInBrowser } from './open-browser.js';

/** The admin endpoint's port for `npm start` when the config names none: 8 and POP3's 110. */
export const DEFAULT_BROWSER_ADMIN_PORT = 8110;
/** The ports of a user who may not bind below 1024, in place of 110, 995 and 25. */
export const UNPRIVILEGED_PORTS = { pop3: 1110, pop3s: 1995, smtp: 2525 } as const;

export interface BrowserConsoleOptions {
  readonly configPath?: string;
  readonly mailroot?: string;
  readonly pop3Port?: number;
  readonly smtpPort?: number;
  readonly adminPort?: number;
  /** Do not start a browser, only print the link. */
  readonly noOpen?: boolean;
  /** The built console (dist/renderer). */
  readonly staticDir: string;
  readonly out: (line: string) => void;
}

/** What runs: a service this process started (stopped by `stop`), or one already running (left alone). */
export type BrowserConsole = { readonly kind: 'started'; readonly host: ServiceHost; stop(): Promise<void> } | { readonly kind: 'attached' };

/** The lowest port this process may bind: 0 where any, else the kernel's limit (1024 unless changed). */
function lowestBindablePort(): number {
  if (process.platform === 'win32' || process.platform === 'darwin') return 0;
  if (typeof process.getuid === 'function' && process.getuid() === 0) return 0;
  try {
    const value = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
    return Number.isInteger(value) ? value : 1024;
  } catch {
    return 1024;
  }
}

/** This run's POP3, POP3S and SMTP ports: the given ones, else the config's where this user may bind them. */
export function browserRunPorts(settings: Settings, given: { pop3Port?: number; smtpPort?: number }, lowest = lowestBindablePort()): { pop3Port: number; pop3sPort: number; smtpPort: number } {
  const pick = (port: number, instead: number): number => (port === 0 || port >= lowest ? port : instead);
  const pop3Port = given.pop3Port ?? pick(settings.port, UNPRIVILEGED_PORTS.pop3);
  return {
    pop3Port,
    // A run on free ports never reaches for a fixed POP3S port, as with pop3svc.
    pop3sPort: pop3Port === 0 ? 0 : pick(settings.pop3sPort, UNPRIVILEGED_PORTS.pop3s),
    smtpPort: given.smtpPort ?? pick(settings.smtpPort, UNPRIVILEGED_PORTS.smtp),
  };
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function describeListeners(listeners: readonly ListenerStatus[]): string {
  return listeners
    .filter((l) => l.protocol !== 'control')
    .map((l) => `${l.protocol.toUpperCase()} ${l.listening ? (l.addresses ?? [l.address]).join(', ') : 'off'}`)
    .join('; ');
}

async function announce(url: string, expires: string, info: ServerInfo, options: BrowserConsoleOptions): Promise<void> {
  const { out } = options;
  const until = new Date(expires).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  out(`Sign in to the console (this link works once, until ${until}):`);
  out(`  ${url}`);
  const certificate = info.tls?.certificate;
  if (certificate?.selfSigned) out(`The certificate is the service's own (self-signed): the browser warns once; its SHA-256 fingerprint is ${certificate.fingerprint256}.`);
  if (options.noOpen) return;
  const problem = await openInBrowser(url);
  out(problem === null ? 'Opening it in the default browser.' : `No browser opened (${problem}): open the link yourself.`);
}

/** Starts (or finds) the service with its admin endpoint, prints a one-time sign-in link, and opens a browser on it. */
export async function startBrowserConsole(options: BrowserConsoleOptions): Promise<BrowserConsole> {
  const { out } = options;
  if (!existsSync(path.join(options.staticDir, 'index.html'))) {
    throw new Error(`The console is not built (${path.join(options.staticDir, 'index.html')} is missing): run npm run build first.`);
  }
  const configPath = options.configPath ?? defaultConfigPath();
  const settings = await loadConfig(configPath);
  const mailroot = options.mailroot ?? settings.mailroot;

  const running = await connectControl(mailroot, currentActor());
  if (running) {
    try {
      const info = await running.serverInfo({});
      const endpoint = info.listeners.find((l) => l.protocol === 'admin' && l.listening);
      if (!endpoint) {
        throw new Error(
          `A service is already running for ${mailroot} with its admin endpoint off, so there is nothing for a browser to open. ` +
            `Turn it on for this computer only with: winpop set adminport ${DEFAULT_BROWSER_ADMIN_PORT}   (winpop set adminport 0 turns it off again), then npm start again.`,
        );
      }
      out(`Using the service already running for ${mailroot} (${describeListeners(info.listeners)}).`);
      const link = await running.signInLink({});
      await announce(link.url, link.expires, info, options);
      out('The service keeps running; this console only opened it.');
      return { kind: 'attached' };
    } finally {
      running.close();
    }
  }

  const ports = browserRunPorts(settings, options);
  const host = await startService({
    configPath,
    mailroot,
    ...ports,
    adminPort: options.adminPort ?? (settings.adminPort || DEFAULT_BROWSER_ADMIN_PORT),
    adminListen: ['127.0.0.1'],
    adminEndpoint: { staticDir: options.staticDir },
  });
  try {
    if (host.adminEndpoint.port === null) {
      const wanted = host.info().listeners.find((l) => l.protocol === 'admin')?.error ?? 'it did not start';
      const port = await freeLoopbackPort();
      out(`The admin endpoint could not listen where it should (${wanted}); using port ${port} instead.`);
      await host.adminEndpoint.apply({ port, listen: ['127.0.0.1'] });
    }
    const info = host.info();
    out(`POP3 Service running on ${os.hostname()}: mail root ${info.mailroot}; ${describeListeners(info.listeners)}.`);
    for (const l of info.listeners) if (!l.listening && l.protocol !== 'admin' && l.error) out(`Warning: ${l.error}`);
    const link = host.adminEndpoint.signInLink();
    await announce(link.url, link.expires, info, options);
    out('Press Ctrl+C to stop the service.');
  } catch (err) {
    await host.stop();
    throw err;
  }
  return { kind: 'started', host, stop: () => host.stop() };
}
