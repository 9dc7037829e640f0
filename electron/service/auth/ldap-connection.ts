/**
 * One connection to a directory server, opened step by step (TCP, then TLS
 * by ldaps or StartTLS) so that a failure says which step failed, and that
 * can be torn down at once whatever the server does (a server that accepts
 * and never answers must not keep a socket, or the process, alive).
 */

import net from 'node:net';
import tls from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';

export type ConnectStep = 'tcp' | 'tls';

/** A connection attempt that failed: at which step, and why, in words. */
export class DirectoryConnectError extends Error {
  constructor(
    readonly step: ConnectStep,
    readonly url: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'DirectoryConnectError';
  }
}

export interface ParsedUrl {
  readonly url: string;
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
}

/** `ldaps://host[:port]` (port 636) or `ldap://host[:port]` (port 389), as checked by shared/validate.ts. */
export function parseDirectoryUrl(url: string): ParsedUrl {
  const parsed = new URL(url);
  const secure = parsed.protocol.toLowerCase() === 'ldaps:';
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  return { url, secure, host, port: parsed.port === '' ? (secure ? 636 : 389) : Number(parsed.port) };
}

export interface OpenOptions {
  /** PEM of the CA(s) to trust; undefined trusts the system's. */
  readonly ca: string | undefined;
  readonly timeoutMs: number;
}

export interface DirectoryConnection {
  readonly client: Client;
  readonly url: string;
  /** Ends the connection now: every socket destroyed, pending operations rejected. */
  kill(): void;
}

/** TLS options that check the server's name against `host` (an IP address is checked against the certificate's IP entries). */
function tlsOptions(target: ParsedUrl, ca: string | undefined): tls.ConnectionOptions {
  return { ...(ca === undefined ? {} : { ca }), host: target.host, ...(net.isIP(target.host) === 0 ? { servername: target.host } : {}), minVersion: 'TLSv1.2' };
}

function words(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? err);
}

/**
 * Opens a connection: TCP and TLS (ldaps), or TCP, the StartTLS request and
 * TLS (ldap://). Throws DirectoryConnectError naming the step that failed;
 * the whole of it is bounded by `timeoutMs`.
 */
export async function openDirectoryConnection(target: ParsedUrl, options: OpenOptions): Promise<DirectoryConnection> {
  const sockets = new Set<net.Socket>();
  let tcpUp = false;
  let tlsUp = false;
  const track = <S extends net.Socket>(socket: S): S => {
    sockets.add(socket);
    socket.once('connect', () => {
      tcpUp = true;
    });
    socket.once('secureConnect', () => {
      tlsUp = true;
    });
    return socket;
  };
  const client = new Client({
    url: target.url,
    timeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
    // Only for ldaps: given to an ldap:// client as well, they break its StartTLS handshake (ldapts 8).
    ...(target.secure ? { tlsOptions: tlsOptions(target, options.ca) } : {}),
    createConnection: ((port: number, host: string) => track(net.connect(port, host))) as typeof net.connect,
    createSecureConnection: ((...args: Parameters<typeof tls.connect>) => track(tls.connect(...args))) as typeof tls.connect,
  });
  const kill = (): void => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  // Neither a TCP connect nor a TLS handshake that hangs may outlive the timeout.
  const timer = setTimeout(kill, options.timeoutMs);
  timer.unref();
  try {
    // StartTLS connects first; with ldaps the Root DSE read is the first operation, which connects.
    if (target.secure) await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
    else await client.startTLS(tlsOptions(target, options.ca));
  } catch (err) {
    // A server that answers, even with a refusal of the Root DSE, is connected.
    if (!(tlsUp && err instanceof ResultCodeError)) return fail(err);
  } finally {
    clearTimeout(timer);
  }
  return { client, url: target.url, kill };

  function fail(err: unknown): never {
    kill();
    const where = `${target.host}:${target.port}`;
    if (!tcpUp) throw new DirectoryConnectError('tcp', target.url, `cannot connect to ${where} (${words(err)}).`);
    const how = target.secure ? 'TLS (ldaps)' : 'StartTLS';
    if (!tlsUp) throw new DirectoryConnectError('tls', target.url, `${how} with ${where} failed (${words(err)}); check the URL's host name against the server's certificate, and the CA file.`);
    throw new DirectoryConnectError('tls', target.url, `${where} did not answer over TLS (${words(err)}).`);
  }
}
