/**
 * Server settings: where the config file lives, its defaults, and checked
 * reading and writing.
 *
 * The file is JSON, written atomically. A missing file means defaults; a
 * damaged one is an error that names the file and the fix, never a silent
 * fallback that would serve with settings nobody chose.
 */

import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DIRECTORY_AUTH, type Settings, type SettingsPatch } from '../../shared/contract.js';
import { AdminError } from '../../shared/errors.js';
import { validateSettingsPatch } from '../../shared/validate.js';
import { DEFAULT_DIRECTORY_FILTER } from './auth/ldap-filter.js';
import { writeFileAtomic } from './store/atomic-file.js';

const APP_DIR = 'winpop';

function isAdministrator(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Where system-wide (administrator) or per-user data of the service lives on this platform. */
function platformDirs(): { config: string; data: string } {
  const home = os.homedir();
  if (process.platform === 'win32') {
    const base = process.env.ProgramData ?? 'C:\\ProgramData';
    return { config: path.join(base, APP_DIR), data: path.join(base, APP_DIR) };
  }
  if (process.platform === 'darwin') {
    const base = isAdministrator() ? '/Library/Application Support' : path.join(home, 'Library', 'Application Support');
    return { config: path.join(base, APP_DIR), data: path.join(base, APP_DIR) };
  }
  if (isAdministrator()) return { config: path.join('/etc', APP_DIR), data: path.join('/var/lib', APP_DIR) };
  const config = process.env.XDG_CONFIG_HOME || path.join(home, '.config');
  const data = process.env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  return { config: path.join(config, APP_DIR), data: path.join(data, APP_DIR) };
}

export function defaultConfigPath(): string {
  return process.env.WINPOP_CONFIG || path.join(platformDirs().config, 'config.json');
}

export function defaultSettings(): Settings {
  return {
    auth: 3,
    directory: {
      urls: [],
      baseDn: '',
      filter: DEFAULT_DIRECTORY_FILTER,
      bindDn: null,
      caFile: null,
      timeoutSeconds: 5,
      // A minute: a client polling every few minutes mostly costs the directory one bind, and a password changed there applies within a minute.
      cacheTtlSeconds: 60,
    },
    logging: 2,
    mailroot: path.join(platformDirs().data, 'mailroot'),
    port: 110,
    smtpPort: 25,
    sparequired: false,
    // 5,000 sessions. Measured (bench/idle-connections.ts, Node 20, Linux): an idle connection costs
    // the service 3–5 KiB (25–35 KiB over TLS) and the kernel 3.6 KiB, so 5,000 are about 40 MiB
    // (under 200 MiB were all of them TLS), cheap on any server today. With 10 per address, filling
    // them takes 500 addresses, each reconnecting every log-in timeout; 2003's 50 took one.
    socket: { backlog: 100, max: 5000, min: 10, threshold: 3 },
    idleTimeoutSeconds: 600,
    loginTimeoutSeconds: 60,
    connectionsPerAddress: 10,
    // Dovecot's default: every IPv4 and every IPv6 address.
    listen: ['*', '::'],
    plaintextRemote: false,
    smtpMaxConnections: 1000,
    // Postfix sends at most 20 messages at once to one destination by default, so a real MTA never meets this.
    smtpConnectionsPerAddress: 20,
    maxMessageBytes: 100 * 1024 * 1024,
    pop3sPort: 995,
    tlsCertFile: null,
    tlsKeyFile: null,
    // Off: serving administration over the network is the administrator's explicit choice.
    adminPort: 0,
    adminListen: ['127.0.0.1'],
    // One per CPU, counted at each start: a config copied to a bigger server uses all of it.
    workers: 0,
  };
}

/** Applies a checked patch; throws INVALID_ARGUMENT when the result breaks a cross-field rule. */
export function applySettingsPatch(current: Settings, fullPatch: SettingsPatch): Settings {
  // The service account's password is never a setting: the admin layer keeps it apart (auth/directory-secret.ts).
  const { directoryBindPassword: _secret, ...patch } = fullPatch;
  const next: Settings = {
    ...current,
    ...patch,
    directory: { ...current.directory, ...patch.directory },
    socket: { ...current.socket, ...patch.socket },
    listen: patch.listen ? [...patch.listen] : current.listen,
    adminListen: patch.adminListen ? [...patch.adminListen] : current.adminListen,
  } as Settings;
  if (next.socket.min >= next.socket.max) {
    throw new AdminError(
      'INVALID_ARGUMENT',
      `socketmin (${next.socket.min}) must be smaller than socketmax (${next.socket.max}).`,
    );
  }
  if (next.socket.threshold > next.socket.max) {
    throw new AdminError(
      'INVALID_ARGUMENT',
      `socketthreshold (${next.socket.threshold}) cannot exceed socketmax (${next.socket.max}).`,
    );
  }
  if (next.mailroot !== current.mailroot && !path.isAbsolute(next.mailroot)) {
    throw new AdminError('INVALID_ARGUMENT', `The mail root must be an absolute path; got "${next.mailroot}".`);
  }
  if (next.auth === DIRECTORY_AUTH && (next.directory.urls.length === 0 || next.directory.baseDn === '')) {
    throw new AdminError(
      'INVALID_ARGUMENT',
      'The Directory method needs the directory\'s URL and base DN first: winpop set ldapurls ldaps://HOST and winpop set ldapbase dc=example,dc=com (or both in Server Properties).',
    );
  }
  if (next.directory.caFile !== null && next.directory.caFile !== current.directory.caFile && !path.isAbsolute(next.directory.caFile)) {
    throw new AdminError('INVALID_ARGUMENT', `directory.caFile must be an absolute path; got "${next.directory.caFile}".`);
  }
  // The service may run from another folder than the one the path was typed in.
  for (const [key, file] of [['tlsCertFile', next.tlsCertFile], ['tlsKeyFile', next.tlsKeyFile]] as const) {
    if (file !== null && file !== current[key] && !path.isAbsolute(file)) {
      throw new AdminError('INVALID_ARGUMENT', `${key} must be an absolute path; got "${file}".`);
    }
  }
  return next;
}

/** Reads the config file; defaults where it is missing. */
export async function loadConfig(file: string = defaultConfigPath()): Promise<Settings> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return defaultSettings();
    throw new AdminError('STORE_ERROR', `Cannot read the config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new AdminError(
      'STORE_ERROR',
      `The config file ${file} is not valid JSON (${(err as Error).message}). Fix it, or remove it to start from the defaults.`,
    );
  }
  try {
    return applySettingsPatch(defaultSettings(), validateSettingsPatch(parsed));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new AdminError('STORE_ERROR', `The config file ${file} has a bad setting: ${why} Fix it, or remove it to start from the defaults.`);
  }
}

export async function saveConfig(file: string, settings: Settings): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(settings, null, 2)}\n`);
}
