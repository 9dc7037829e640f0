/**
 * Whether a request comes from the endpoint's own pages, by its Origin
 * header: the WebSocket upgrade must come from there, and a log-in or
 * log-out from a browser too, so that another web page open in the admin's
 * browser cannot drive the endpoint (the browser would send the cookie of a
 * top-level visit, and it always names the page's origin).
 *
 * Own means all of: `https:`; the port the request came in on; the same
 * host and port as the request's Host header (the page and the endpoint are
 * one origin); and a host that is a name or address of this computer or of
 * its certificate, so that a DNS name an attacker points at this computer
 * (DNS rebinding) is not taken for ours.
 */

import { isIP } from 'node:net';

/** A host name or address in the form the URL parser gives (lower case; IPv6 in brackets, compressed). */
function canonicalHost(host: string): string | null {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  try {
    return new URL(`https://${isIP(bare) === 6 ? `[${bare}]` : bare}/`).hostname;
  } catch {
    return null;
  }
}

/** `host:port` parts of an authority (`example.com:8443`, `[::1]:8443`); null when it is not one. */
function splitAuthority(authority: string): { host: string; port: number } | null {
  try {
    const url = new URL(`https://${authority}/`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return null;
    return { host: url.hostname, port: url.port === '' ? 443 : Number(url.port) };
  } catch {
    return null;
  }
}

export class OriginCheck {
  private readonly exact = new Set<string>();
  /** `*.example.com` as `.example.com`: one more label in front matches. */
  private readonly wildcards: string[] = [];

  /** `names`: DNS names (`*.example.com` allowed, as in a certificate) and IP addresses that are this computer's. */
  constructor(names: Iterable<string>) {
    for (const name of names) {
      if (name.startsWith('*.')) {
        const rest = canonicalHost(name.slice(2));
        if (rest !== null) this.wildcards.push(`.${rest}`);
        continue;
      }
      const host = canonicalHost(name);
      if (host !== null) this.exact.add(host);
    }
  }

  /** True when `host` (canonical) is one of ours. */
  isOwnHost(host: string): boolean {
    if (this.exact.has(host)) return true;
    return this.wildcards.some((suffix) => host.endsWith(suffix) && !host.slice(0, -suffix.length).includes('.') && host.length > suffix.length);
  }

  /**
   * Why a request with these headers, arrived on `port`, is not from this
   * endpoint's own origin; null when it is.
   */
  problem(origin: string | undefined, hostHeader: string | undefined, port: number): string | null {
    if (origin === undefined || origin === '') return 'it names no Origin; a browser always sends one, and a program must send this endpoint\'s own';
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return 'its Origin header is not an origin';
    }
    const shown = origin.slice(0, 100);
    if (url.origin !== origin) return `its Origin ${shown} is not an origin as a browser writes it (https://host:port)`;
    if (url.protocol !== 'https:') return `its Origin ${shown} is not https`;
    const originPort = url.port === '' ? 443 : Number(url.port);
    if (originPort !== port) return `its Origin ${shown} names another port than this endpoint's (${port})`;
    const host = hostHeader === undefined ? null : splitAuthority(hostHeader);
    if (host === null || host.host !== url.hostname || host.port !== originPort) {
      return `its Origin ${shown} is another site than this endpoint (${hostHeader === undefined ? 'no Host header' : `https://${hostHeader.slice(0, 100)}`})`;
    }
    if (!this.isOwnHost(url.hostname)) return `its Origin ${shown} is not a name or address of this computer or its certificate`;
    return null;
  }
}
