/**
 * Turns a failed `listen` into a sentence an administrator can act on.
 */

export function listenFailure(protocol: string, host: string, port: number, err: unknown, portOption: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = `${host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return `${protocol} cannot listen on ${where}: another program already uses that port. Stop that program, or choose another port (${portOption}).`;
    case 'EACCES':
    case 'EPERM':
      return port < 1024
        ? `${protocol} cannot listen on ${where}: ports below 1024 need administrator rights. Run the service as an administrator (root), allow Node to bind low ports (setcap cap_net_bind_service=+ep on the node binary), or choose a port above 1023 (${portOption}).`
        : `${protocol} cannot listen on ${where}: permission denied. Choose another port (${portOption}).`;
    case 'EADDRNOTAVAIL':
      return `${protocol} cannot listen on ${where}: ${host} is not an address of this computer. Use --listen 127.0.0.1, or --listen 0.0.0.0 for all addresses.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${protocol} cannot listen on ${where}: the host name ${host} does not resolve. Use an IP address with --listen.`;
    default:
      return `${protocol} cannot listen on ${where}: ${(err as Error | undefined)?.message ?? String(err)}`;
  }
}
