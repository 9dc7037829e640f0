/**
 * Who a client is, for the limits that count per client: the connection cap,
 * the log-in penalty and the line of password checks.
 *
 * An IPv4 client counts by its address, also when it reaches an IPv6 socket
 * as `::ffff:a.b.c.d`. An IPv6 client counts by its /64 network: one host
 * usually owns a whole /64 and can pick any address in it, so counting single
 * addresses would let it take every slot and make every guess it likes.
 */

import { isIPv4, isIPv6 } from 'node:net';

/** The key a client is counted by: `a.b.c.d`, or `xxxx:xxxx:xxxx:xxxx::/64`. */
export function clientKey(remoteAddress: string): string {
  const address = remoteAddress.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return mapped[1] as string;
  if (isIPv4(address)) return address;
  // A zone (fe80::1%eth0) names the link, not the host.
  const bare = address.split('%')[0] as string;
  if (!isIPv6(bare)) return address;
  return `${ipv6Groups(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, without leading zeros. */
function ipv6Groups(address: string): string[] {
  let text = address;
  // An embedded IPv4 tail (::1.2.3.4, 64:ff9b::1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16).toString(16));
}
