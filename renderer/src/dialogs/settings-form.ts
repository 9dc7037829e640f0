/**
 * The Server Properties form: settings as editable text, their checks, and
 * the patch of what changed.
 */

import { AUTH_METHODS, type AuthMethod, type Settings, type SettingsPatch } from '../../../shared/contract.js';
import {
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
}

export type FormProblems = Partial<Record<keyof SettingsForm, string>>;

/** Which tab of the dialog shows each field. */
export const FIELD_TABS: Readonly<Record<keyof SettingsForm, 'general' | 'connections' | 'security'>> = {
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
  return problems;
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
  return patch;
}

/** The listen field's addresses: spaces or commas between them. */
function listenList(text: string): string[] {
  return text.split(/[\s,]+/).filter((x) => x !== '');
}
