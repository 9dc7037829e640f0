/**
 * `winpop get` and `winpop set`: the original's setting names mapped onto the
 * service's settings.
 */

import path from 'node:path';
import { AUTH_METHODS, type Settings, type SettingsPatch } from '../../shared/contract.js';
import { cpuCount, workerCount } from '../service/workers/worker-count.js';
import { UsageError, type SettingName } from './winpop-args.js';

export interface SettingView {
  readonly text: string;
  readonly json: Record<string, unknown>;
}

const RESTART_NEEDED: ReadonlySet<SettingName> = new Set(['port', 'smtpport', 'mailroot', 'pop3sport', 'certfile', 'keyfile', 'listen', 'workers']);

/** The word that clears a certificate or key setting, going back to the self-signed certificate. */
const NONE = 'none';

export function needsRestart(setting: SettingName): boolean {
  return RESTART_NEEDED.has(setting);
}

export function viewSetting(setting: SettingName, s: Settings): SettingView {
  switch (setting) {
    case 'auth':
      return { text: `${s.auth} ${AUTH_METHODS[s.auth]}`, json: { auth: s.auth, name: AUTH_METHODS[s.auth] } };
    case 'logging':
      return { text: String(s.logging), json: { logging: s.logging } };
    case 'mailroot':
      return { text: s.mailroot, json: { mailroot: s.mailroot } };
    case 'port':
      return { text: String(s.port), json: { port: s.port } };
    case 'smtpport':
      return { text: String(s.smtpPort), json: { smtpport: s.smtpPort } };
    case 'sparequired':
      return { text: s.sparequired ? '1' : '0', json: { sparequired: s.sparequired ? 1 : 0 } };
    case 'socket':
      return {
        text: `backlog ${s.socket.backlog}\nmax ${s.socket.max}\nmin ${s.socket.min}\nthreshold ${s.socket.threshold}`,
        json: { ...s.socket },
      };
    case 'socketbacklog':
      return { text: String(s.socket.backlog), json: { socketbacklog: s.socket.backlog } };
    case 'socketmax':
      return { text: String(s.socket.max), json: { socketmax: s.socket.max } };
    case 'socketmin':
      return { text: String(s.socket.min), json: { socketmin: s.socket.min } };
    case 'socketthreshold':
      return { text: String(s.socket.threshold), json: { socketthreshold: s.socket.threshold } };
    case 'timeout':
      return { text: String(s.idleTimeoutSeconds), json: { timeout: s.idleTimeoutSeconds } };
    case 'maxmessagesize':
      return { text: String(s.maxMessageBytes), json: { maxmessagesize: s.maxMessageBytes } };
    case 'pop3sport':
      return { text: String(s.pop3sPort), json: { pop3sport: s.pop3sPort } };
    case 'certfile':
      return { text: s.tlsCertFile ?? `${NONE} (a self-signed certificate is used)`, json: { certfile: s.tlsCertFile } };
    case 'keyfile':
      return { text: s.tlsKeyFile ?? `${NONE} (a self-signed certificate is used)`, json: { keyfile: s.tlsKeyFile } };
    case 'logintimeout':
      return { text: String(s.loginTimeoutSeconds), json: { logintimeout: s.loginTimeoutSeconds } };
    case 'peraddress':
      return { text: String(s.connectionsPerAddress), json: { peraddress: s.connectionsPerAddress } };
    case 'listen':
      return { text: s.listen.join(' '), json: { listen: [...s.listen] } };
    case 'plaintextremote':
      return { text: s.plaintextRemote ? '1' : '0', json: { plaintextremote: s.plaintextRemote ? 1 : 0 } };
    case 'smtpmax':
      return { text: String(s.smtpMaxConnections), json: { smtpmax: s.smtpMaxConnections } };
    case 'smtpperaddress':
      return { text: String(s.smtpConnectionsPerAddress), json: { smtpperaddress: s.smtpConnectionsPerAddress } };
    case 'adminport':
      return { text: s.adminPort === 0 ? '0 (the admin endpoint is off)' : String(s.adminPort), json: { adminport: s.adminPort } };
    case 'adminlisten':
      return { text: s.adminListen.join(' '), json: { adminlisten: [...s.adminListen] } };
    case 'workers':
      return {
        text: s.workers === 0 ? `0 (one per CPU: ${cpuCount()} on this computer)` : String(s.workers),
        json: { workers: s.workers, processes: workerCount(s.workers) },
      };
    case 'ldapurls':
      return { text: s.directory.urls.length === 0 ? `${NONE} (set ldapurls before choosing auth 2)` : s.directory.urls.join(' '), json: { ldapurls: [...s.directory.urls] } };
    case 'ldapbase':
      return { text: s.directory.baseDn === '' ? NONE : s.directory.baseDn, json: { ldapbase: s.directory.baseDn } };
    case 'ldapfilter':
      return { text: s.directory.filter, json: { ldapfilter: s.directory.filter } };
    case 'ldapbinddn':
      return { text: s.directory.bindDn ?? `${NONE} (the directory is searched anonymously)`, json: { ldapbinddn: s.directory.bindDn } };
    case 'ldapbindpassword':
      throw new UsageError('The directory service password is never shown. Set a new one with winpop set ldapbindpassword, or forget it with winpop set ldapbindpassword none.');
    case 'ldapcafile':
      return { text: s.directory.caFile ?? `${NONE} (the system's CAs are trusted)`, json: { ldapcafile: s.directory.caFile } };
    case 'ldaptimeout':
      return { text: String(s.directory.timeoutSeconds), json: { ldaptimeout: s.directory.timeoutSeconds } };
    case 'ldapcachettl':
      return { text: String(s.directory.cacheTtlSeconds), json: { ldapcachettl: s.directory.cacheTtlSeconds } };
    case 'threadcount':
      throw new UsageError(threadcountText);
  }
}

function flag(text: string, setting: string): boolean {
  if (text !== '0' && text !== '1') throw new UsageError(`${setting} must be 0 or 1; got "${text}".`);
  return text === '1';
}

/** A file path as typed, made absolute from the current folder (the service may run elsewhere); `none` clears it. */
function tlsFile(value: string, setting: string): string | null {
  if (value.toLowerCase() === NONE) return null;
  if (value.trim() === '') throw new UsageError(`${setting} needs the path of a PEM file, or ${NONE}.`);
  return path.resolve(value);
}

const threadcountText =
  'threadcount does not apply: each process of the service serves its connections from one event loop and needs no thread pool setting; the number of processes is the setting workers (winpop set workers Count).';

function whole(text: string, what: string): number {
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`${what} must be a whole number; got "${text}".`);
  return Number(text);
}

/** Commas or spaces between addresses, as an administrator may type either. */
function addressList(values: readonly string[]): string[] {
  return values.flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
}

/** `none` clears an optional text setting. */
function textOrNone(value: string): string | null {
  return value.toLowerCase() === NONE ? null : value;
}

/**
 * The settings patch of `winpop set`. `secret` is the directory service
 * password, obtained by winpop from a prompt or standard input (never the
 * command line); undefined for every other setting.
 */
export function patchFor(setting: SettingName, values: readonly string[], secret?: string | null): SettingsPatch {
  const v = values[0] ?? '';
  switch (setting) {
    case 'ldapurls':
      return { directory: { urls: addressList(values) } };
    case 'ldapbase':
      return { directory: { baseDn: v } };
    case 'ldapfilter':
      return { directory: { filter: v } };
    case 'ldapbinddn':
      return { directory: { bindDn: textOrNone(v) } };
    case 'ldapbindpassword':
      return { directoryBindPassword: secret ?? null };
    case 'ldapcafile':
      return { directory: { caFile: tlsFile(v, 'ldapcafile') } };
    case 'ldaptimeout':
      return { directory: { timeoutSeconds: whole(v, 'ldaptimeout') } };
    case 'ldapcachettl':
      return { directory: { cacheTtlSeconds: whole(v, 'ldapcachettl') } };
    case 'auth':
      return { auth: whole(v, 'auth') as Settings['auth'] };
    case 'logging':
      return { logging: whole(v, 'logging') as Settings['logging'] };
    case 'mailroot':
      return { mailroot: v };
    case 'port':
      return { port: whole(v, 'port') };
    case 'smtpport':
      return { smtpPort: whole(v, 'smtpport') };
    case 'sparequired':
      return { sparequired: flag(v, 'sparequired') };
    case 'plaintextremote':
      return { plaintextRemote: flag(v, 'plaintextremote') };
    case 'logintimeout':
      return { loginTimeoutSeconds: whole(v, 'logintimeout') };
    case 'peraddress':
      return { connectionsPerAddress: whole(v, 'peraddress') };
    case 'smtpmax':
      return { smtpMaxConnections: whole(v, 'smtpmax') };
    case 'smtpperaddress':
      return { smtpConnectionsPerAddress: whole(v, 'smtpperaddress') };
    case 'listen':
      return { listen: addressList(values) };
    case 'adminport':
      return { adminPort: whole(v, 'adminport') };
    case 'adminlisten':
      return { adminListen: addressList(values) };
    case 'socket': {
      const [backlog, max, min, threshold] = values.map((x, i) => whole(x, ['Backlog', 'Max', 'Min', 'Threshold'][i] as string));
      return { socket: { backlog: backlog as number, max: max as number, min: min as number, threshold: threshold as number } };
    }
    case 'socketbacklog':
      return { socket: { backlog: whole(v, 'socketbacklog') } };
    case 'socketmax':
      return { socket: { max: whole(v, 'socketmax') } };
    case 'socketmin':
      return { socket: { min: whole(v, 'socketmin') } };
    case 'socketthreshold':
      return { socket: { threshold: whole(v, 'socketthreshold') } };
    case 'timeout':
      return { idleTimeoutSeconds: whole(v, 'timeout') };
    case 'maxmessagesize':
      return { maxMessageBytes: whole(v, 'maxmessagesize') };
    case 'pop3sport':
      return { pop3sPort: whole(v, 'pop3sport') };
    case 'certfile':
      return { tlsCertFile: tlsFile(v, 'certfile') };
    case 'keyfile':
      return { tlsKeyFile: tlsFile(v, 'keyfile') };
    case 'workers':
      return { workers: whole(v, 'workers') };
    case 'threadcount':
      throw new UsageError(threadcountText);
  }
}
