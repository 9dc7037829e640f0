/**
 * The listen addresses of the settings, bound one socket each, all on the
 * same port.
 *
 * `*` is every IPv4 address (0.0.0.0) and `::` every IPv6 address, bound
 * IPv6-only so that both can be bound side by side on Linux, as Dovecot's
 * `listen = *, ::` does. A machine without IPv6 cannot bind `::`: that is a
 * warning and the service runs on IPv4. Any other failure fails the whole
 * protocol, so that a service never runs half-reachable without saying so.
 */

import { isIP } from 'node:net';
import type { Logger } from './log.js';

/** One address to bind, as the operating system takes it. */
export interface BindTarget {
  /** As written in the settings (`*`, `::`, `192.0.2.1`). */
  readonly setting: string;
  /** As given to `listen`: `*` becomes 0.0.0.0. */
  readonly host: string;
  /** `::` alone: only IPv6, so that 0.0.0.0 can be bound next to it. */
  readonly ipv6Only: boolean;
}

/** A bound socket of one listener. */
export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Binds one address; rejects with the system error (EADDRINUSE, EACCES, …). */
export type BindOne = (port: number, host: string, options: { ipv6Only: boolean }) => Promise<BoundAddress>;

/** A bind that failed, with the address it was for. */
export class AddressBindError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
    /** The system's error. */
    readonly error: unknown,
  ) {
    super(`cannot listen on ${hostPort(host, port)}: ${error instanceof Error ? error.message : String(error)}`);
  }

  /** The system error code of the failed bind (EADDRINUSE, …). */
  get code(): string | undefined {
    return (this.error as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** With port 0, another program may hold the first free port on a later address: try afresh this often. */
const FREE_PORT_ATTEMPTS = 8;

/** `host:port`, with an IPv6 address in brackets. */
export function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The settings' list (or a run's override) as sockets to bind, without
 * duplicates, and without addresses a wildcard of their family already
 * covers: 0.0.0.0 and 127.0.0.1 on one port would clash.
 */
export function bindTargets(listen: readonly string[]): BindTarget[] {
  const hosts = listen.map((setting) => (setting === '*' ? '0.0.0.0' : setting));
  const targets: BindTarget[] = [];
  listen.forEach((setting, i) => {
    const host = hosts[i] as string;
    const family = isIP(host);
    const covered = host !== '0.0.0.0' && host !== '::' && hosts.includes(family === 6 ? '::' : '0.0.0.0');
    if (covered || targets.some((t) => t.host === host)) return;
    targets.push({ setting, host, ipv6Only: host === '::' });
  });
  return targets;
}

/** The errors of binding `::` where the machine has no IPv6. */
function meansNoIpv6(target: BindTarget, err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return target.host === '::' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL');
}

/**
 * Binds every target on `port` (0: one free port, the same for all); resolves
 * to the bound sockets. Rejects with an AddressBindError naming the address
 * that failed, after closing those already bound.
 */
export async function bindAll(label: string, targets: readonly BindTarget[], port: number, bind: BindOne, log: Logger): Promise<BoundAddress[]> {
  for (let attempt = 1; ; attempt++) {
    const bound: BoundAddress[] = [];
    let noIpv6: AddressBindError | null = null;
    let failure: AddressBindError | null = null;
    for (const target of targets) {
      const wanted = bound[0]?.port ?? port;
      try {
        bound.push(await bind(wanted, target.host, { ipv6Only: target.ipv6Only }));
      } catch (err) {
        if (meansNoIpv6(target, err)) {
          noIpv6 = new AddressBindError(target.host, wanted, err);
          log.warn(`${label}: this computer has no IPv6, so it is not listening on ${hostPort(target.host, wanted)}; it serves IPv4 only.`, {
            error: (err as Error).message,
          });
          continue;
        }
        failure = new AddressBindError(target.host, wanted, err);
        break;
      }
    }
    if (failure === null && bound.length > 0) return bound;
    await Promise.all(bound.map((b) => b.close()));
    if (failure === null) throw noIpv6 ?? new Error(`${label}: no address to listen on.`);
    const retry = port === 0 && bound.length > 0 && failure.code === 'EADDRINUSE' && attempt < FREE_PORT_ATTEMPTS;
    if (!retry) throw failure;
  }
}
