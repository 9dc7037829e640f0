/**
 * Turns a failed `listen` into a sentence an administrator can act on.
 */

import { hostPort } from './listen-addresses.js';

export function listenFailure(protocol: string, host: string, port: number, err: unknown, portOption: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = hostPort(host, port);
  switch (code) {
    case 'EADDRINUSE':
      return `${protocol} cannot listen on ${where}: another program already uses that port. Stop that program, or choose another port (${portOption}).`;
    case 'EACCES':
    case 'EPERM':
      return port < 1024
        ? `${protocol} cannot listen on ${where}: ports below 1024 need administrator rights. Run the service as an administrator (root), allow Node to bind low ports (setcap cap_net_bind_service=+ep on the node binary), or choose a port above 1023 (${portOption}).`
        : `${protocol} cannot listen on ${where}: permission denied. Choose another port (${portOption}).`;
    case 'EADDRNOTAVAIL':
      return `${protocol} cannot listen on ${where}: ${host} is not an address of this computer. Choose its addresses with winpop set listen (* for every IPv4 address, :: for every IPv6 address), or --listen for one run.`;
    case 'EAFNOSUPPORT':
      return `${protocol} cannot listen on ${where}: this computer has no IPv6. Leave IPv6 addresses out of the listen addresses (winpop set listen *).`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${protocol} cannot listen on ${where}: the host name ${host} does not resolve. Use an IP address (winpop set listen).`;
    default:
      return `${protocol} cannot listen on ${where}: ${(err as Error | undefined)?.message ?? String(err)}`;
  }
}
