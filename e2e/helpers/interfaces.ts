/**
 * This machine's network addresses as the listen and plaintext tests need
 * them: IPv6 on loopback, an address that is not loopback (connecting to it
 * gives the server a client that is "another computer"), and one that is
 * not on this machine at all.
 */

import { connect } from 'node:net';
import os from 'node:os';
import type { TestContext } from 'node:test';

function addresses(): os.NetworkInterfaceInfo[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => list ?? []);
}

/** Whether ::1 is configured, so the service can be reached over IPv6 loopback. */
export function hasIpv6Loopback(): boolean {
  return addresses().some((a) => a.family === 'IPv6' && a.address === '::1');
}

/** The first address of this machine that is not loopback (and, for IPv6, not link-local), or null. */
export function nonLoopbackAddress(family: 'IPv4' | 'IPv6'): string | null {
  const found = addresses().find((a) => !a.internal && a.family === family && !a.address.toLowerCase().startsWith('fe80:'));
  return found?.address ?? null;
}

/**
 * A non-loopback IPv4 address of this machine. Without one the test is
 * skipped with the reason, except under CI=true: there it fails, since the
 * refusal of passwords from other computers would go unchecked.
 */
export function requireNonLoopbackAddress(ctx: TestContext): string | null {
  const found = nonLoopbackAddress('IPv4');
  if (found !== null) return found;
  const why =
    'this machine has no IPv4 address other than loopback (os.networkInterfaces()), so no connection can come from "another computer"; ' +
    'give it one, e.g. ip link add winpop0 type dummy && ip addr add 192.0.2.10/24 dev winpop0 && ip link set winpop0 up';
  if (process.env.CI === 'true') throw new Error(`${why} (under CI this check must run).`);
  ctx.skip(why);
  return null;
}

/** An IPv4 address from the documentation ranges (RFC 5737) that this machine does not have. */
export function absentAddress(): string {
  const mine = new Set(addresses().map((a) => a.address));
  const free = ['203.0.113.77', '198.51.100.77', '192.0.2.77'].find((a) => !mine.has(a));
  if (free === undefined) throw new Error('every documentation address is configured on this machine');
  return free;
}

/**
 * What a TCP connection to host:port meets: the server's first line, or the
 * error code (ECONNREFUSED when nothing listens there).
 */
export function firstLine(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let data = '';
    const done = (result: string): void => {
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('ETIMEDOUT'), 10_000);
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        done(data.slice(0, end));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      done(err.code ?? err.message);
    });
  });
}
