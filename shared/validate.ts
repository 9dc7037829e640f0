/**
 * Runtime checks of every operation's arguments.
 *
 * Whatever arrives from a renderer or over the control channel is untrusted:
 * it is checked here for shape, type and size before any operation runs, and
 * a bad call gets an INVALID_ARGUMENT error that names the problem. Name rules
 * (what a mailbox may be called) are checked by the operations themselves.
 */

import {
  ACCOUNT_OPERATION_NAMES,
  AUTH_METHODS,
  COMPUTER_OPERATION_NAMES,
  type AccountOperationName,
  type AccountOperations,
  type Args,
  type ComputerOperationName,
  type ComputerOperations,
  type DirectoryPatch,
  type OperationName,
  type SettingsPatch,
} from './contract.js';
import { AdminError } from './errors.js';
import { isSessionId } from './session-id.js';

export const PASSWORD_MAX_LENGTH = 256;
export const REASON_MAX_LENGTH = 500;
export const NAME_ARG_MAX_LENGTH = 320;
export const BULK_MAX_TARGETS = 100_000;

type Obj = Record<string, unknown>;

function bad(message: string): never {
  throw new AdminError('INVALID_ARGUMENT', message);
}

function object(value: unknown, op: string): Obj {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(`${op}: expected an object of arguments.`);
  return value as Obj;
}

function onlyKeys(obj: Obj, op: string, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) bad(`${op}: unknown argument "${key.slice(0, 40)}".`);
  }
}

function string(obj: Obj, key: string, op: string, max: number): string {
  const value = obj[key];
  if (typeof value !== 'string') bad(`${op}: "${key}" must be a string.`);
  if (value.length > max) bad(`${op}: "${key}" is too long (${value.length} characters, at most ${max}).`);
  if (value.includes('\0')) bad(`${op}: "${key}" contains a NUL character.`);
  return value;
}

function optionalString(obj: Obj, key: string, op: string, max: number): string | undefined {
  return obj[key] === undefined ? undefined : string(obj, key, op, max);
}

function password(obj: Obj, op: string): string {
  const value = string(obj, 'password', op, PASSWORD_MAX_LENGTH);
  if (value.length === 0) bad(`${op}: the password cannot be empty.`);
  if (/[\r\n]/.test(value)) bad(`${op}: the password cannot contain line breaks.`);
  return value;
}

function integer(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) bad(`${what} must be a whole number.`);
  if (value < min || value > max) bad(`${what} must be from ${min} to ${max}; got ${value}.`);
  return value;
}

function targets(obj: Obj, op: string): string[] {
  const value = obj.targets;
  if (!Array.isArray(value)) bad(`${op}: "targets" must be a list of domains or addresses.`);
  if (value.length === 0) bad(`${op}: "targets" is empty; name at least one domain or address.`);
  if (value.length > BULK_MAX_TARGETS) bad(`${op}: at most ${BULK_MAX_TARGETS} targets at once.`);
  return value.map((item, i) => {
    if (typeof item !== 'string' || item.length > NAME_ARG_MAX_LENGTH || item.includes('\0')) {
      bad(`${op}: target ${i + 1} must be a domain or address string.`);
    }
    return item;
  });
}

export const SOCKET_LIMIT_MAX = 32_000;
/** Most worker processes the setting `workers` takes: far beyond the cores of any one server, short of a typo's 10,000 processes. */
export const WORKERS_MAX = 256;
/** RFC 1939 section 3: the autologout timer MUST be of at least 10 minutes. */
export const IDLE_TIMEOUT_MIN_SECONDS = 600;
export const IDLE_TIMEOUT_MAX_SECONDS = 86_400;
export const LOGIN_TIMEOUT_MIN_SECONDS = 10;
export const LOGIN_TIMEOUT_MAX_SECONDS = 600;
export const LISTEN_MAX_ADDRESSES = 16;

/** `*` (every IPv4 address), `::` (every IPv6 address) or one literal IPv4 or IPv6 address; null when it is none of these. */
export function listenAddressProblem(text: string): string | null {
  if (text === '*' || text === '::') return null;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) return v4.slice(1).every((n) => Number(n) <= 255 && String(Number(n)) === n) ? null : `"${text}" is not an IPv4 address.`;
  if (text.includes(':') && /^[0-9a-fA-F:.]+$/.test(text)) {
    try {
      // The URL parser knows IPv6 syntax in Node and in the browser alike.
      new URL(`http://[${text}]/`);
      return null;
    } catch {
      return `"${text}" is not an IPv6 address.`;
    }
  }
  return `"${text.slice(0, 60)}" is not a listen address: use *, ::, or an IPv4 or IPv6 address.`;
}

function listenAddresses(value: unknown, key = 'listen'): string[] {
  if (!Array.isArray(value)) bad(`${key} must be a list of addresses, e.g. ["*", "::"].`);
  if (value.length === 0) bad(`${key} needs at least one address; use ["*", "::"] for every interface, or ["127.0.0.1"] for this machine only.`);
  if (value.length > LISTEN_MAX_ADDRESSES) bad(`${key} takes at most ${LISTEN_MAX_ADDRESSES} addresses.`);
  const out: string[] = [];
  for (const item of value) {
    if (typeof item !== 'string') bad(`${key}: every address must be a string.`);
    const problem = listenAddressProblem(item.trim());
    if (problem) bad(`${key}: ${problem}`);
    if (!out.includes(item.trim())) out.push(item.trim());
  }
  return out;
}

// --- the Directory method (auth 2) ---------------------------------------------------------------

export const DIRECTORY_MAX_URLS = 8;
export const DIRECTORY_TIMEOUT_MAX_SECONDS = 60;
export const DIRECTORY_CACHE_TTL_MAX_SECONDS = 3600;
const DN_MAX_LENGTH = 1000;
const FILTER_MAX_LENGTH = 1000;
/** The placeholders a directory filter may hold, each replaced by an escaped value. */
export const DIRECTORY_FILTER_PLACEHOLDERS = ['{address}', '{user}', '{domain}'] as const;

/** Why a text cannot be a directory URL (`ldaps://host[:port]` or `ldap://host[:port]`), or null. */
export function directoryUrlProblem(text: string): string | null {
  const m = /^(ldaps?):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/i.exec(text);
  if (!m) return `"${text.slice(0, 80)}" is not a directory URL: use ldaps://host[:port] or ldap://host[:port] (StartTLS), e.g. ldaps://dc1.example.com.`;
  const host = (m[2] as string).replace(/^\[(.*)\]$/, '$1');
  const problem = host.includes(':') ? listenAddressProblem(host) : hostProblem(host);
  if (problem !== null || host === '::') return `${text.slice(0, 80)}: ${problem ?? 'not a host.'}`;
  if (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535)) return `${text.slice(0, 80)}: the port must be from 1 to 65535.`;
  return null;
}

/** Why a text cannot be a directory search filter, or null: one parenthesized RFC 4515 filter naming the log-in. */
export function directoryFilterProblem(filter: string): string | null {
  if (!filter.startsWith('(') || !filter.endsWith(')')) return `The filter must be in parentheses, e.g. (mail={address}); got "${filter.slice(0, 80)}".`;
  let depth = 0;
  for (const [i, ch] of Array.from(filter).entries()) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (depth < 0 || (depth === 0 && i < Array.from(filter).length - 1)) return `The filter's parentheses do not match: "${filter.slice(0, 80)}".`;
  }
  if (depth !== 0) return `The filter's parentheses do not match: "${filter.slice(0, 80)}".`;
  if (!DIRECTORY_FILTER_PLACEHOLDERS.some((p) => filter.includes(p))) {
    return 'The filter must name the log-in with {address}, {user} or {domain}, e.g. (|(mail={address})(userPrincipalName={address})).';
  }
  const unknown = /\{[a-z]*\}/g.exec(filter.replace(/\{(address|user|domain)\}/g, ''));
  if (unknown) return `The filter has an unknown placeholder ${unknown[0]}: use {address}, {user} or {domain}.`;
  return null;
}

function nullableText(obj: Obj, key: string, what: string, max: number, hint: string): string | null {
  if (obj[key] === null) return null;
  const value = string(obj, key, 'setSettings', max).trim();
  if (value === '') bad(`${what} cannot be empty; ${hint}`);
  return value;
}

/** Checks the `directory` part of a settings patch (or of a connection test). */
export function validateDirectoryPatch(value: unknown): DirectoryPatch {
  const d = object(value, 'directory');
  onlyKeys(d, 'directory', ['urls', 'baseDn', 'filter', 'bindDn', 'caFile', 'timeoutSeconds', 'cacheTtlSeconds']);
  const out: DirectoryPatch = {};
  if (d.urls !== undefined) {
    if (!Array.isArray(d.urls)) bad('directory.urls must be a list of URLs, e.g. ["ldaps://dc1.example.com", "ldaps://dc2.example.com"].');
    if (d.urls.length > DIRECTORY_MAX_URLS) bad(`directory.urls takes at most ${DIRECTORY_MAX_URLS} URLs.`);
    out.urls = d.urls.map((url, i) => {
      if (typeof url !== 'string') bad(`directory.urls: URL ${i + 1} must be a string.`);
      const problem = directoryUrlProblem(url.trim());
      if (problem) bad(`directory.urls: ${problem}`);
      return url.trim();
    });
  }
  if (d.baseDn !== undefined) {
    const dn = string(d, 'baseDn', 'directory', DN_MAX_LENGTH).trim();
    if (dn !== '' && !dn.includes('=')) bad(`directory.baseDn must be a DN such as dc=example,dc=com; got "${dn.slice(0, 80)}".`);
    out.baseDn = dn;
  }
  if (d.filter !== undefined) {
    const filter = string(d, 'filter', 'directory', FILTER_MAX_LENGTH).trim();
    const problem = directoryFilterProblem(filter);
    if (problem) bad(`directory.filter: ${problem}`);
    out.filter = filter;
  }
  if (d.bindDn !== undefined) {
    out.bindDn = nullableText(d, 'bindDn', 'directory.bindDn', DN_MAX_LENGTH, 'give the service account (a DN, or user@domain on Active Directory), or null to search anonymously.');
  }
  if (d.caFile !== undefined) {
    out.caFile = nullableText(d, 'caFile', 'directory.caFile', 4096, "give the path of the PEM file of the directory's CA, or null to trust the system's CAs.");
  }
  if (d.timeoutSeconds !== undefined) out.timeoutSeconds = integer(d.timeoutSeconds, 'directory.timeoutSeconds', 1, DIRECTORY_TIMEOUT_MAX_SECONDS);
  if (d.cacheTtlSeconds !== undefined) {
    out.cacheTtlSeconds = integer(d.cacheTtlSeconds, 'directory.cacheTtlSeconds (0 remembers no password)', 0, DIRECTORY_CACHE_TTL_MAX_SECONDS);
  }
  return out;
}

function directoryBindPassword(obj: Obj, key: string, op: string): string {
  const value = string(obj, key, op, PASSWORD_MAX_LENGTH);
  if (value.length === 0) bad(`${op}: ${key} cannot be empty; use null to forget the saved one.`);
  return value;
}

/** Checks a settings patch; cross-field rules (min < max) are checked where the patch is applied. */
export function validateSettingsPatch(value: unknown): SettingsPatch {
  const patch = object(value, 'setSettings');
  onlyKeys(patch, 'setSettings', [
    'auth',
    'logging',
    'mailroot',
    'port',
    'smtpPort',
    'sparequired',
    'socket',
    'idleTimeoutSeconds',
    'maxMessageBytes',
    'pop3sPort',
    'tlsCertFile',
    'tlsKeyFile',
    'loginTimeoutSeconds',
    'connectionsPerAddress',
    'listen',
    'plaintextRemote',
    'smtpMaxConnections',
    'smtpConnectionsPerAddress',
    'adminPort',
    'adminListen',
    'workers',
    'directory',
    'directoryBindPassword',
  ]);
  const out: Record<string, unknown> = {};
  if (patch.directory !== undefined) out.directory = validateDirectoryPatch(patch.directory);
  if (patch.directoryBindPassword !== undefined) {
    out.directoryBindPassword = patch.directoryBindPassword === null ? null : directoryBindPassword(patch, 'directoryBindPassword', 'setSettings');
  }
  if (patch.auth !== undefined) {
    const auth = integer(patch.auth, 'auth', 1, 3);
    if (!(auth in AUTH_METHODS)) bad('auth must be 1, 2 or 3.');
    out.auth = auth;
  }
  if (patch.logging !== undefined) out.logging = integer(patch.logging, 'logging', 0, 3);
  if (patch.mailroot !== undefined) {
    const root = string(patch, 'mailroot', 'setSettings', 4096);
    if (root.trim() === '') bad('mailroot cannot be empty.');
    out.mailroot = root;
  }
  if (patch.port !== undefined) out.port = integer(patch.port, 'port', 1, 65535);
  if (patch.smtpPort !== undefined) out.smtpPort = integer(patch.smtpPort, 'smtpPort', 1, 65535);
  if (patch.pop3sPort !== undefined) out.pop3sPort = integer(patch.pop3sPort, 'pop3sPort', 1, 65535);
  for (const key of ['tlsCertFile', 'tlsKeyFile'] as const) {
    if (patch[key] === undefined) continue;
    if (patch[key] === null) {
      out[key] = null;
      continue;
    }
    const file = string(patch, key, 'setSettings', 4096);
    if (file.trim() === '') bad(`${key} cannot be empty; give the path of a PEM file, or null to use a self-signed certificate.`);
    out[key] = file;
  }
  for (const key of ['sparequired', 'plaintextRemote'] as const) {
    if (patch[key] === undefined) continue;
    if (typeof patch[key] !== 'boolean') bad(`${key} must be true or false.`);
    out[key] = patch[key];
  }
  if (patch.idleTimeoutSeconds !== undefined) {
    out.idleTimeoutSeconds = integer(patch.idleTimeoutSeconds, 'idleTimeoutSeconds (the autologout timer; RFC 1939 requires at least ten minutes)', IDLE_TIMEOUT_MIN_SECONDS, IDLE_TIMEOUT_MAX_SECONDS);
  }
  if (patch.loginTimeoutSeconds !== undefined) {
    out.loginTimeoutSeconds = integer(patch.loginTimeoutSeconds, 'loginTimeoutSeconds', LOGIN_TIMEOUT_MIN_SECONDS, LOGIN_TIMEOUT_MAX_SECONDS);
  }
  for (const key of ['connectionsPerAddress', 'smtpMaxConnections', 'smtpConnectionsPerAddress'] as const) {
    if (patch[key] !== undefined) out[key] = integer(patch[key], key, 1, SOCKET_LIMIT_MAX);
  }
  if (patch.listen !== undefined) out.listen = listenAddresses(patch.listen);
  // 0 is off, not "a free port": an admin endpoint on a port nobody chose could not be found.
  if (patch.adminPort !== undefined) out.adminPort = integer(patch.adminPort, 'adminPort (0 turns the admin endpoint off)', 0, 65535);
  if (patch.adminListen !== undefined) out.adminListen = listenAddresses(patch.adminListen, 'adminListen');
  if (patch.workers !== undefined) out.workers = integer(patch.workers, `workers (0 is one per CPU, 1 serves everything in one process)`, 0, WORKERS_MAX);
  if (patch.maxMessageBytes !== undefined) out.maxMessageBytes = integer(patch.maxMessageBytes, 'maxMessageBytes', 1024, 2 ** 31 - 1);
  if (patch.socket !== undefined) {
    const socket = object(patch.socket, 'setSettings.socket');
    onlyKeys(socket, 'setSettings.socket', ['backlog', 'max', 'min', 'threshold']);
    const s: Record<string, number> = {};
    for (const key of ['backlog', 'max', 'min', 'threshold'] as const) {
      if (socket[key] !== undefined) s[key] = integer(socket[key], `socket${key}`, 1, SOCKET_LIMIT_MAX);
    }
    out.socket = s;
  }
  return out as SettingsPatch;
}

type Validators = { readonly [K in OperationName]: (value: unknown) => Args<K> };

const none =
  (op: string) =>
  (value: unknown): Record<string, never> => {
    onlyKeys(object(value, op), op, []);
    return {};
  };

const VALIDATORS: Validators = {
  serverInfo: none('serverInfo'),
  listDomains: none('listDomains'),
  getSettings: none('getSettings'),
  counters: none('counters'),
  listMailboxes: (v) => {
    const o = object(v, 'listMailboxes');
    onlyKeys(o, 'listMailboxes', ['domain']);
    return { domain: string(o, 'domain', 'listMailboxes', NAME_ARG_MAX_LENGTH) };
  },
  listMailboxTable: (v) => {
    const o = object(v, 'listMailboxTable');
    onlyKeys(o, 'listMailboxTable', ['domain']);
    return { domain: string(o, 'domain', 'listMailboxTable', NAME_ARG_MAX_LENGTH) };
  },
  addDomain: (v) => {
    const o = object(v, 'addDomain');
    onlyKeys(o, 'addDomain', ['domain']);
    return { domain: string(o, 'domain', 'addDomain', NAME_ARG_MAX_LENGTH) };
  },
  deleteDomain: (v) => {
    const o = object(v, 'deleteDomain');
    onlyKeys(o, 'deleteDomain', ['domain']);
    return { domain: string(o, 'domain', 'deleteDomain', NAME_ARG_MAX_LENGTH) };
  },
  addMailbox: (v) => {
    const o = object(v, 'addMailbox');
    onlyKeys(o, 'addMailbox', ['address', 'password']);
    // No password for a mailbox whose password lives elsewhere (a directory, the system's accounts): the service says which method needs one.
    return { address: string(o, 'address', 'addMailbox', NAME_ARG_MAX_LENGTH), ...(o.password === undefined ? {} : { password: password(o, 'addMailbox') }) };
  },
  deleteMailbox: (v) => {
    const o = object(v, 'deleteMailbox');
    onlyKeys(o, 'deleteMailbox', ['address']);
    return { address: string(o, 'address', 'deleteMailbox', NAME_ARG_MAX_LENGTH) };
  },
  changePassword: (v) => {
    const o = object(v, 'changePassword');
    onlyKeys(o, 'changePassword', ['address', 'password']);
    return { address: string(o, 'address', 'changePassword', NAME_ARG_MAX_LENGTH), password: password(o, 'changePassword') };
  },
  lock: (v) => {
    const o = object(v, 'lock');
    onlyKeys(o, 'lock', ['target', 'reason']);
    const reason = optionalString(o, 'reason', 'lock', REASON_MAX_LENGTH);
    return { target: string(o, 'target', 'lock', NAME_ARG_MAX_LENGTH), ...(reason ? { reason } : {}) };
  },
  unlock: (v) => {
    const o = object(v, 'unlock');
    onlyKeys(o, 'unlock', ['target']);
    return { target: string(o, 'target', 'unlock', NAME_ARG_MAX_LENGTH) };
  },
  lockMany: (v) => {
    const o = object(v, 'lockMany');
    onlyKeys(o, 'lockMany', ['targets', 'reason']);
    const reason = optionalString(o, 'reason', 'lockMany', REASON_MAX_LENGTH);
    return { targets: targets(o, 'lockMany'), ...(reason ? { reason } : {}) };
  },
  unlockMany: (v) => {
    const o = object(v, 'unlockMany');
    onlyKeys(o, 'unlockMany', ['targets']);
    return { targets: targets(o, 'unlockMany') };
  },
  stat: (v) => {
    const o = object(v, 'stat');
    onlyKeys(o, 'stat', ['domain']);
    const domain = optionalString(o, 'domain', 'stat', NAME_ARG_MAX_LENGTH);
    return domain === undefined ? {} : { domain };
  },
  setSettings: (v) => {
    const o = object(v, 'setSettings');
    onlyKeys(o, 'setSettings', ['patch']);
    return { patch: validateSettingsPatch(o.patch) };
  },
  testDirectory: (v) => {
    const o = object(v, 'testDirectory');
    onlyKeys(o, 'testDirectory', ['directory', 'bindPassword', 'address']);
    const address = optionalString(o, 'address', 'testDirectory', NAME_ARG_MAX_LENGTH);
    return {
      ...(o.directory === undefined ? {} : { directory: validateDirectoryPatch(o.directory) }),
      ...(o.bindPassword === undefined ? {} : { bindPassword: directoryBindPassword(o, 'bindPassword', 'testDirectory') }),
      ...(address ? { address } : {}),
    };
  },
  listSessions: (v) => {
    const o = object(v, 'listSessions');
    onlyKeys(o, 'listSessions', ['domain']);
    const domain = optionalString(o, 'domain', 'listSessions', NAME_ARG_MAX_LENGTH);
    return domain === undefined ? {} : { domain };
  },
  endSession: (v) => {
    const o = object(v, 'endSession');
    onlyKeys(o, 'endSession', ['id']);
    const id = string(o, 'id', 'endSession', 40);
    if (!isSessionId(id)) bad(`endSession: "${id.slice(0, 40)}" is not a session id (they look like 1234-5; listSessions shows them).`);
    return { id };
  },
};

/** Checks one call's arguments; throws INVALID_ARGUMENT with the reason. */
export function validateArgs<K extends OperationName>(op: K, value: unknown): Args<K> {
  const validator = VALIDATORS[op] as ((value: unknown) => Args<K>) | undefined;
  if (!validator) bad(`Unknown operation "${typeof op === 'object' && op !== null ? typeof op : String(op).slice(0, 40)}".`);
  return validator(value);
}

export function isOperationName(value: unknown): value is OperationName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(VALIDATORS, value);
}

/** An admin account's name: 1 to 64 letters, digits, dots, hyphens and underscores, starting with a letter or digit. */
export const ADMIN_NAME_MAX_LENGTH = 64;
/** Admin passwords guard a network service: at least this long. */
export const ADMIN_PASSWORD_MIN_LENGTH = 8;

/** Why a text cannot be an admin account's name, or null; names are compared in lower case. */
export function adminNameProblem(name: string): string | null {
  if (name.length === 0) return 'An admin name cannot be empty.';
  if (name.length > ADMIN_NAME_MAX_LENGTH) return `An admin name has at most ${ADMIN_NAME_MAX_LENGTH} characters.`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    return `"${name.slice(0, 40)}" is not an admin name: use letters, digits, dots, hyphens and underscores, starting with a letter or digit.`;
  }
  return null;
}

function adminName(obj: Obj, op: string): string {
  const name = string(obj, 'name', op, ADMIN_NAME_MAX_LENGTH + 1);
  const problem = adminNameProblem(name);
  if (problem) bad(`${op}: ${problem}`);
  return name.toLowerCase();
}

function adminPassword(obj: Obj, op: string): string {
  const value = password(obj, op);
  if (Array.from(value).length < ADMIN_PASSWORD_MIN_LENGTH) bad(`${op}: an admin password needs at least ${ADMIN_PASSWORD_MIN_LENGTH} characters.`);
  return value;
}

type AccountValidators = { readonly [K in AccountOperationName]: (value: unknown) => AccountOperations[K]['args'] };

const ACCOUNT_VALIDATORS: AccountValidators = {
  listAdmins: none('listAdmins'),
  addAdmin: (v) => {
    const o = object(v, 'addAdmin');
    onlyKeys(o, 'addAdmin', ['name', 'password']);
    return { name: adminName(o, 'addAdmin'), password: adminPassword(o, 'addAdmin') };
  },
  deleteAdmin: (v) => {
    const o = object(v, 'deleteAdmin');
    onlyKeys(o, 'deleteAdmin', ['name']);
    return { name: adminName(o, 'deleteAdmin') };
  },
  changeAdminPassword: (v) => {
    const o = object(v, 'changeAdminPassword');
    onlyKeys(o, 'changeAdminPassword', ['name', 'password']);
    return { name: adminName(o, 'changeAdminPassword'), password: adminPassword(o, 'changeAdminPassword') };
  },
  signInLink: none('signInLink'),
};

/** Checks one account operation's arguments; throws INVALID_ARGUMENT with the reason. */
export function validateAccountArgs<K extends AccountOperationName>(op: K, value: unknown): AccountOperations[K]['args'] {
  const validator = ACCOUNT_VALIDATORS[op] as ((value: unknown) => AccountOperations[K]['args']) | undefined;
  if (!validator) bad(`Unknown operation "${String(op).slice(0, 40)}".`);
  return validator(value);
}

export function isAccountOperationName(value: unknown): value is AccountOperationName {
  return typeof value === 'string' && (ACCOUNT_OPERATION_NAMES as readonly string[]).includes(value);
}

/** The id the main process gives a computer: `c-` and 16 lower-case hexadecimal digits. */
export const COMPUTER_ID_PATTERN = /^c-[0-9a-f]{16}$/;
/** A SHA-256 fingerprint as Node and mail clients write it: 32 colon-separated upper-case hex bytes. */
export const FINGERPRINT_PATTERN = /^[0-9A-F]{2}(?::[0-9A-F]{2}){31}$/;
export const HOST_MAX_LENGTH = 253;

/** Why a text cannot be a computer's host (a DNS name, an IPv4 or an IPv6 address), or null. */
export function hostProblem(host: string): string | null {
  if (host.length === 0) return 'Enter the computer\'s name or address.';
  if (host.length > HOST_MAX_LENGTH) return `A host name has at most ${HOST_MAX_LENGTH} characters.`;
  if (host.includes(':')) return listenAddressProblem(host) === null && host !== '::' ? null : `"${host.slice(0, 60)}" is not an IPv6 address.`;
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(host)) {
    return `"${host.slice(0, 60)}" is not a host name or address: use letters, digits, dots and hyphens (e.g. mail.example.com), or an IP address.`;
  }
  return null;
}

function computerId(obj: Obj, op: string): string {
  const value = obj.computer;
  if (typeof value !== 'string' || !COMPUTER_ID_PATTERN.test(value)) bad(`${op}: "computer" must be the id the console gave a computer (c- and 16 hexadecimal digits).`);
  return value;
}

type ComputerValidators = { readonly [K in ComputerOperationName]: (value: unknown) => ComputerOperations[K]['args'] };

const COMPUTER_VALIDATORS: ComputerValidators = {
  listComputers: none('listComputers'),
  connectComputer: (v) => {
    const o = object(v, 'connectComputer');
    onlyKeys(o, 'connectComputer', ['host', 'port', 'admin', 'password', 'remember', 'computer']);
    const host = string(o, 'host', 'connectComputer', HOST_MAX_LENGTH).trim().replace(/^\[(.*)\]$/, '$1');
    const hostIssue = hostProblem(host);
    if (hostIssue) bad(`connectComputer: ${hostIssue}`);
    const port = integer(o.port, 'connectComputer: "port"', 1, 65535);
    const admin = string(o, 'admin', 'connectComputer', ADMIN_NAME_MAX_LENGTH + 1);
    const adminIssue = adminNameProblem(admin);
    if (adminIssue) bad(`connectComputer: ${adminIssue}`);
    if (o.remember !== undefined && typeof o.remember !== 'boolean') bad('connectComputer: "remember" must be true or false.');
    return {
      host,
      port,
      admin: admin.toLowerCase(),
      password: password(o, 'connectComputer'),
      ...(o.remember === true ? { remember: true } : {}),
      ...(o.computer === undefined ? {} : { computer: computerId(o, 'connectComputer') }),
    };
  },
  confirmFingerprint: (v) => {
    const o = object(v, 'confirmFingerprint');
    onlyKeys(o, 'confirmFingerprint', ['computer', 'fingerprint']);
    const fingerprint = o.fingerprint;
    if (typeof fingerprint !== 'string' || !FINGERPRINT_PATTERN.test(fingerprint)) bad('confirmFingerprint: "fingerprint" must be a SHA-256 fingerprint: 32 colon-separated hexadecimal bytes.');
    return { computer: computerId(o, 'confirmFingerprint'), fingerprint };
  },
  disconnectComputer: (v) => {
    const o = object(v, 'disconnectComputer');
    onlyKeys(o, 'disconnectComputer', ['computer']);
    return { computer: computerId(o, 'disconnectComputer') };
  },
  removeComputer: (v) => {
    const o = object(v, 'removeComputer');
    onlyKeys(o, 'removeComputer', ['computer']);
    return { computer: computerId(o, 'removeComputer') };
  },
  callComputer: (v) => {
    const o = object(v, 'callComputer');
    onlyKeys(o, 'callComputer', ['computer', 'op', 'args']);
    const computer = computerId(o, 'callComputer');
    if (!isOperationName(o.op)) bad(`callComputer: unknown operation "${String(o.op).slice(0, 40)}".`);
    return { computer, op: o.op, args: validateArgs(o.op, o.args) };
  },
};

/** Checks one computer operation's arguments; throws INVALID_ARGUMENT with the reason. */
export function validateComputerArgs<K extends ComputerOperationName>(op: K, value: unknown): ComputerOperations[K]['args'] {
  const validator = COMPUTER_VALIDATORS[op] as ((value: unknown) => ComputerOperations[K]['args']) | undefined;
  if (!validator) bad(`Unknown operation "${String(op).slice(0, 40)}".`);
  return validator(value);
}

export function isComputerOperationName(value: unknown): value is ComputerOperationName {
  return typeof value === 'string' && (COMPUTER_OPERATION_NAMES as readonly string[]).includes(value);
}
