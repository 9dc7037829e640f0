/**
 * The names and addresses this computer is reached by, for the self-signed
 * certificate: a mail client checks the name or address it connected to
 * against the certificate.
 *
 * Names: the host name, its fully qualified name when the hosts file gives
 * one (what `hostname -f` finds there; no DNS query, so a start never waits
 * for the network), and localhost. Addresses: loopback (127.0.0.1, ::1) and
 * every other address of the network interfaces except IPv6 link-local ones,
 * which mail clients do not use.
 */

import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface HostIdentity {
  /** DNS names, lower case, the host name first. */
  readonly names: readonly string[];
  /** IP addresses, loopback first. */
  readonly addresses: readonly string[];
}

/** A DNS name a certificate may carry. */
function isDnsName(name: string): boolean {
  return /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(name);
}

function hostsFile(): string {
  return process.platform === 'win32' ? path.join(process.env.SystemRoot ?? 'C:\\Windows', 'System32', 'drivers', 'etc', 'hosts') : '/etc/hosts';
}

/**
 * The fully qualified name of `host` from the text of a hosts file: the
 * canonical (first) name of a line that also lists `host`, when it is
 * `host.` followed by a domain; null when there is none.
 */
export function fqdnFromHosts(hostsText: string, host: string): string | null {
  const short = host.toLowerCase();
  for (const raw of hostsText.split(/\r?\n/)) {
    const names = (raw.split('#')[0] ?? '').trim().split(/\s+/).slice(1).map((n) => n.toLowerCase());
    if (!names.includes(short)) continue;
    const canonical = names[0];
    if (canonical !== undefined && canonical.startsWith(`${short}.`) && isDnsName(canonical)) return canonical;
  }
  return null;
}

function readHosts(): string {
  try {
    return readFileSync(hostsFile(), 'utf8');
  } catch {
    return '';
  }
}

/** This computer's names (for `hostName`, the machine's by default) and addresses, now. */
export function hostIdentity(hostName: string = os.hostname()): HostIdentity {
  const names: string[] = [];
  const add = (name: string | null): void => {
    const lower = name?.toLowerCase();
    if (lower && isDnsName(lower) && !names.includes(lower)) names.push(lower);
  };
  add(hostName);
  if (!hostName.includes('.')) add(fqdnFromHosts(readHosts(), hostName));
  add('localhost');

  const addresses = ['127.0.0.1', '::1'];
  for (const info of Object.values(os.networkInterfaces()).flat()) {
    if (info === undefined || info.internal) continue;
    const address = info.address.toLowerCase();
    if (info.family === 'IPv6' && address.startsWith('fe80:')) continue;
    if (!addresses.includes(address)) addresses.push(address);
  }
  return { names, addresses };
}
