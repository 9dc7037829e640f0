/**
 * A free TCP port on loopback, for a service whose port cannot be 0 (an
 * admin port of 0 turns the endpoint off), so one is found first. Another
 * program may take it in between; the tests accept that small race.
 */

import net from 'node:net';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
