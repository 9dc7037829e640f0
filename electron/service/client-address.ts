/**
 * The client a connection comes from, as per-address limits count it.
 *
 * An IPv4 client seen through an IPv6 socket (`::ffff:192.0.2.1`) is that
 * IPv4 address. An IPv6 client counts by its /64 network: one host usually
 * has a whole /64 to itself and can pick a new address in it for every
 * connection, so counting single IPv6 addresses would limit nobody.
 */

import { isIPv4, isIPv6, SocketAddress } from 'node:net';

/** The eight 16-bit groups of an IPv6 address. */
function ipv6Groups(address: string): number[] {
  let text = address;
  // An embedded IPv4 tail (64:ff9b::192.0.2.1) is the last two groups.
  const lastColon = text.lastIndexOf(':');
  const dotted = text.slice(lastColon + 1);
  if (isIPv4(dotted)) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const gap = text.indexOf('::');
  if (gap < 0) return parse(text);
  const head = parse(text.slice(0, gap));
  const rest = parse(text.slice(gap + 2));
  return [...head, ...Array.from({ length: 8 - head.length - rest.length }, () => 0), ...rest];
}

/** The key a client address is counted under: the IPv4 address, or its /64 network (`2001:db8:1:2::/64`). */
export function clientAddressKey(address: string): string {
  // A zone index (fe80::1%eth0) names the interface, not the client.
  const plain = address.replace(/%.*$/, '').toLowerCase();
  if (plain.startsWith('::ffff:') && isIPv4(plain.slice(7))) return plain.slice(7);
  if (!isIPv6(plain)) return plain;
  const network = [...ipv6Groups(plain).slice(0, 4), 0, 0, 0, 0].map((group) => group.toString(16)).join(':');
  // SocketAddress writes it in the short form of RFC 5952.
  return `${new SocketAddress({ address: network, family: 'ipv6' }).address}/64`;
}
