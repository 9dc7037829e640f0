/**
 * The Server Properties form: settings as editable text, their checks, and
 * the patch of what changed.
 */

import { AUTH_METHODS, DIRECTORY_AUTH, type AuthMethod, type DirectoryPatch, type Settings, type SettingsPatch } from '../../../shared/contract.js';
import {
  DIRECTORY_CACHE_TTL_MAX_SECONDS,
  DIRECTORY_MAX_URLS,
  DIRECTORY_TIMEOUT_MAX_SECONDS,
  directoryFilterProblem,
  directoryUrlProblem,
  IDLE_TIMEOUT_MAX_SECONDS,
  IDLE_TIMEOUT_MIN_SECONDS,
  listenAddressProblem,
  LOGIN_TIMEOUT_MAX_SECONDS,
  LOGIN_TIMEOUT_MIN_SECONDS,
} from '../../../shared/validate.js';
import { integerProblem, portProblem, socketProblem } from './validation.js';

export interface SettingsForm {
  readonly auth: AuthMethod;
  readonly port: string;
  readonly smtpPort: string;
  readonly pop3sPort: string;
  readonly logging: Settings['logging'];
  readonly mailroot: string;
  readonly sparequired: boolean;
  readonly backlog: string;
  readonly max: string;
  readonly min: string;
  readonly threshold: string;
  readonly idleTimeoutSeconds: string;
  readonly loginTimeoutSeconds: string;
  readonly connectionsPerAddress: string;
  readonly smtpMaxConnections: string;
  readonly smtpConnectionsPerAddress: string;
  /** Addresses separated by spaces or commas. */
  readonly listen: string;
  readonly plaintextRemote: boolean;
  readonly maxMessageKb: string;
  /** Empty: the service makes a self-signed certificate. */
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  /** The Directory method (auth 2): URLs separated by spaces, commas or lines. */
  readonly directoryUrls: string;
  readonly directoryBaseDn: string;
  readonly directoryFilter: string;
  /** Empty: search anonymously. */
  readonly directoryBindDn: string;
  /** Empty: keep the saved password (it is never shown). */
  readonly directoryBindPassword: string;
  /** Empty: trust the system's CAs. */
  readonly directoryCaFile: string;
  readonly directoryTimeout: string;
  readonly directoryCacheTtl: string;
}

export type FormProblems = Partial<Record<keyof SettingsForm, string>>;

/** Which tab of the dialog shows each field. */
export const FIELD_TABS: Readonly<Record<keyof SettingsForm, 'general' | 'connections' | 'security' | 'directory'>> = {
  directoryUrls: 'directory',
  directoryBaseDn: 'directory',
  directoryFilter: 'directory',
  directoryBindDn: 'directory',
  directoryBindPassword: 'directory',
  directoryCaFile: 'directory',
  directoryTimeout: 'directory',
  directoryCacheTtl: 'directory',
  auth: 'general',
  port: 'general',
  smtpPort: 'general',
  logging: 'general',
  mailroot: 'general',
  listen: 'general',
  pop3sPort: 'security',
  plaintextRemote: 'security',
  sparequired: 'security',
  tlsCertFile: 'security',
  tlsKeyFile: 'security',
  backlog: 'connections',
  max: 'connections',
  min: 'connections',
  threshold: 'connections',
  idleTimeoutSeconds: 'connections',
  loginTimeoutSeconds: 'connections',
  connectionsPerAddress: 'connections',
  smtpMaxConnections: 'connections',
  smtpConnectionsPerAddress: 'connections',
  maxMessageKb: 'connections',
};

export const LOGGING_LEVELS: readonly { value: Settings['logging']; label: string }[] = [
  { value: 0, label: 'None' },
  { value: 1, label: 'Minimum' },
  { value: 2, label: 'Medium' },
  { value: 3, label: 'Maximum' },
];

export const AUTH_CHOICES = (Object.keys(AUTH_METHODS).map(Number) as AuthMethod[]).map((value) => ({ value, label: AUTH_METHODS[value] }));

const MAX_MESSAGE_KB = Math.floor((2 ** 31 - 1) / 1024);

export function formFromSettings(s: Settings): SettingsForm {
  return {
    auth: s.auth,
    port: String(s.port),
    smtpPort: String(s.smtpPort),
    pop3sPort: String(s.pop3sPort),
    logging: s.logging,
    mailroot: s.mailroot,
    sparequired: s.sparequired,
    backlog: String(s.socket.backlog),
    max: String(s.socket.max),
    min: String(s.socket.min),
    threshold: String(s.socket.threshold),
    idleTimeoutSeconds: String(s.idleTimeoutSeconds),
    loginTimeoutSeconds: String(s.loginTimeoutSeconds),
    connectionsPerAddress: String(s.connectionsPerAddress),
    smtpMaxConnections: String(s.smtpMaxConnections),
    smtpConnectionsPerAddress: String(s.smtpConnectionsPerAddress),
    listen: s.listen.join(' '),
    plaintextRemote: s.plaintextRemote,
    maxMessageKb: String(Math.round(s.maxMessageBytes / 1024)),
    tlsCertFile: s.tlsCertFile ?? '',
    tlsKeyFile: s.tlsKeyFile ?? '',
    directoryUrls: s.directory.urls.join(' '),
    directoryBaseDn: s.directory.baseDn,
    directoryFilter: s.directory.filter,
    directoryBindDn: s.directory.bindDn ?? '',
    directoryBindPassword: '',
    directoryCaFile: s.directory.caFile ?? '',
    directoryTimeout: String(s.directory.timeoutSeconds),
    directoryCacheTtl: String(s.directory.cacheTtlSeconds),
  };
}

/**
 * The problems of the fields the administrator changed; an empty object when
 * the form can be saved. A value left as the service has it is not judged
 * again (a test or `pop3svc --pop3-port 0` runs on port 0, which is fine).
 */
export function formProblems(f: SettingsForm, original: SettingsForm): FormProblems {
  const problems: FormProblems = {};
  const changed = (key: keyof SettingsForm): boolean => f[key] !== original[key];
  const put = (key: keyof SettingsForm, problem: string | null): void => {
    if (problem && changed(key)) problems[key] = problem;
  };
  put('port', portProblem(f.port, 'POP3 port'));
  put('smtpPort', portProblem(f.smtpPort, 'SMTP port'));
  put('pop3sPort', portProblem(f.pop3sPort, 'POP3S port'));
  const ports: [keyof SettingsForm, string][] = [
    ['port', 'POP3'],
    ['smtpPort', 'SMTP'],
    ['pop3sPort', 'POP3S'],
  ];
  for (const [key, name] of ports) {
    if (!changed(key) || problems[key] || Number(f[key]) === 0) continue;
    const clash = ports.find(([other]) => other !== key && Number(f[other]) === Number(f[key]));
    if (clash) problems[key] = `${name} and ${clash[1]} need different ports.`;
  }
  put('mailroot', f.mailroot.trim() === '' ? 'Type the folder that holds the mail store.' : null);
  put('backlog', socketProblem(f.backlog, 'backlog'));
  put('max', socketProblem(f.max, 'maximum'));
  put('min', socketProblem(f.min, 'minimum'));
  put('threshold', socketProblem(f.threshold, 'threshold'));
  if ((changed('min') || changed('max')) && !problems.min && !problems.max && Number(f.min) >= Number(f.max)) {
    problems.min = `The minimum (${f.min.trim()}) must be less than the maximum (${f.max.trim()}).`;
  }
  put('idleTimeoutSeconds', integerProblem(f.idleTimeoutSeconds, 'autologout time', IDLE_TIMEOUT_MIN_SECONDS, IDLE_TIMEOUT_MAX_SECONDS));
  put('loginTimeoutSeconds', integerProblem(f.loginTimeoutSeconds, 'time to log in', LOGIN_TIMEOUT_MIN_SECONDS, LOGIN_TIMEOUT_MAX_SECONDS));
  put('connectionsPerAddress', socketProblem(f.connectionsPerAddress, 'POP3 connections per address'));
  put('smtpMaxConnections', socketProblem(f.smtpMaxConnections, 'most SMTP connections'));
  put('smtpConnectionsPerAddress', socketProblem(f.smtpConnectionsPerAddress, 'SMTP connections per address'));
  const addresses = listenList(f.listen);
  put('listen', addresses.length === 0 ? 'Type at least one address: * for every IPv4 address, :: for every IPv6 address.' : addresses.map(listenAddressProblem).find((p) => p !== null) ?? null);
  put('maxMessageKb', integerProblem(f.maxMessageKb, 'largest message size', 1, MAX_MESSAGE_KB));
  if ((changed('tlsCertFile') || changed('tlsKeyFile')) && (f.tlsCertFile.trim() === '') !== (f.tlsKeyFile.trim() === '')) {
    const missing = f.tlsCertFile.trim() === '' ? 'tlsCertFile' : 'tlsKeyFile';
    problems[missing] = 'Give both the certificate and its private key, or leave both empty for a self-signed certificate.';
  }
  Object.assign(problems, directoryProblems(f, original));
  return problems;
}

/** The Directory tab's problems: its URLs and base DN are needed once the method is Directory. */
function directoryProblems(f: SettingsForm, original: SettingsForm): FormProblems {
  const problems: FormProblems = {};
  const needed = f.auth === DIRECTORY_AUTH;
  const urls = listenList(f.directoryUrls);
  const urlProblem = urls.length > DIRECTORY_MAX_URLS ? `At most ${DIRECTORY_MAX_URLS} URLs.` : (urls.map(directoryUrlProblem).find((p) => p !== null) ?? null);
  if (urlProblem !== null && f.directoryUrls !== original.directoryUrls) problems.directoryUrls = urlProblem;
  else if (needed && urls.length === 0) problems.directoryUrls = 'Type the directory\'s URL, e.g. ldaps://dc1.example.com.';
  const base = f.directoryBaseDn.trim();
  if (needed && base === '') problems.directoryBaseDn = 'Type the base DN, e.g. dc=example,dc=com.';
  else if (base !== '' && !base.includes('=') && f.directoryBaseDn !== original.directoryBaseDn) problems.directoryBaseDn = 'A DN such as dc=example,dc=com.';
  if (f.directoryFilter !== original.directoryFilter) {
    const problem = directoryFilterProblem(f.directoryFilter.trim());
    if (problem !== null) problems.directoryFilter = problem;
  }
  if (f.directoryTimeout !== original.directoryTimeout) {
    const problem = integerProblem(f.directoryTimeout, 'directory timeout', 1, DIRECTORY_TIMEOUT_MAX_SECONDS);
    if (problem !== null) problems.directoryTimeout = problem;
  }
  if (f.directoryCacheTtl !== original.directoryCacheTtl) {
    const problem = integerProblem(f.directoryCacheTtl, 'password cache time', 0, DIRECTORY_CACHE_TTL_MAX_SECONDS);
    if (problem !== null) problems.directoryCacheTtl = problem;
  }
  return problems;
}

/** The Directory tab as a settings patch: every field as typed, for a connection test or a save. */
export function directoryFrom(f: SettingsForm): DirectoryPatch {
  return {
    urls: listenList(f.directoryUrls),
    baseDn: f.directoryBaseDn.trim(),
    filter: f.directoryFilter.trim(),
    bindDn: f.directoryBindDn.trim() || null,
    caFile: f.directoryCaFile.trim() || null,
    timeoutSeconds: Number(f.directoryTimeout),
    cacheTtlSeconds: Number(f.directoryCacheTtl),
  };
}

/** Only what changed, so that saving one field leaves the rest as the service has them. */
export function patchFrom(before: Settings, f: SettingsForm): SettingsPatch {
  const patch: { -readonly [K in keyof SettingsPatch]: SettingsPatch[K] } = {};
  if (f.auth !== before.auth) patch.auth = f.auth;
  if (Number(f.port) !== before.port) patch.port = Number(f.port);
  if (Number(f.smtpPort) !== before.smtpPort) patch.smtpPort = Number(f.smtpPort);
  if (Number(f.pop3sPort) !== before.pop3sPort) patch.pop3sPort = Number(f.pop3sPort);
  if (f.logging !== before.logging) patch.logging = f.logging;
  if (f.mailroot.trim() !== before.mailroot) patch.mailroot = f.mailroot.trim();
  if (f.sparequired !== before.sparequired) patch.sparequired = f.sparequired;
  const socket = { backlog: Number(f.backlog), max: Number(f.max), min: Number(f.min), threshold: Number(f.threshold) };
  const s = before.socket;
  // The four travel together, because min < max is checked across them.
  if (socket.backlog !== s.backlog || socket.max !== s.max || socket.min !== s.min || socket.threshold !== s.threshold) patch.socket = socket;
  if (Number(f.idleTimeoutSeconds) !== before.idleTimeoutSeconds) patch.idleTimeoutSeconds = Number(f.idleTimeoutSeconds);
  if (Number(f.loginTimeoutSeconds) !== before.loginTimeoutSeconds) patch.loginTimeoutSeconds = Number(f.loginTimeoutSeconds);
  if (Number(f.connectionsPerAddress) !== before.connectionsPerAddress) patch.connectionsPerAddress = Number(f.connectionsPerAddress);
  if (Number(f.smtpMaxConnections) !== before.smtpMaxConnections) patch.smtpMaxConnections = Number(f.smtpMaxConnections);
  if (Number(f.smtpConnectionsPerAddress) !== before.smtpConnectionsPerAddress) patch.smtpConnectionsPerAddress = Number(f.smtpConnectionsPerAddress);
  const listen = listenList(f.listen);
  if (listen.join(' ') !== before.listen.join(' ')) patch.listen = listen;
  if (f.plaintextRemote !== before.plaintextRemote) patch.plaintextRemote = f.plaintextRemote;
  if (Math.round(before.maxMessageBytes / 1024) !== Number(f.maxMessageKb)) patch.maxMessageBytes = Number(f.maxMessageKb) * 1024;
  const cert = f.tlsCertFile.trim() || null;
  const key = f.tlsKeyFile.trim() || null;
  if (cert !== before.tlsCertFile) patch.tlsCertFile = cert;
  if (key !== before.tlsKeyFile) patch.tlsKeyFile = key;
  const typed = directoryFrom(f);
  const directory: DirectoryPatch = {};
  for (const k of Object.keys(typed) as (keyof DirectoryPatch)[]) {
    if (JSON.stringify(typed[k]) !== JSON.stringify(before.directory[k])) Object.assign(directory, { [k]: typed[k] });
  }
  if (Object.keys(directory).length > 0) patch.directory = directory;
  if (f.directoryBindPassword !== '') patch.directoryBindPassword = f.directoryBindPassword;
  return patch;
}

/** The listen field's addresses: spaces or commas between them. */
function listenList(text: string): string[] {
  return text.split(/[\s,]+/).filter((x) => x !== '');
}
