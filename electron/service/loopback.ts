/**
 * Whether a client address is this computer itself: 127.0.0.0/8, ::1, or an
 * IPv4 loopback address written as IPv6 (::ffff:127.x.x.x, how a dual-stack
 * socket shows it).
 */

import { isIPv4 } from 'node:net';

export function isLoopbackAddress(address: string): boolean {
  const lower = address.toLowerCase();
  if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
  const v4 = lower.startsWith('::ffff:') ? lower.slice('::ffff:'.length) : lower;
  return isIPv4(v4) && v4.startsWith('127.');
}
