/**
 * The CAPA list (RFC 2449): only what this server really does on this
 * connection, now.
 *
 * STLS is offered while the connection is plain and a certificate exists
 * (never after TLS has started, RFC 2595). USER and SASL PLAIN are left out
 * while a password may not be sent on the connection (no TLS yet, and secure
 * password authentication required or the client on another computer), so a
 * client knows to use STLS first.
 */

export function capabilities(options: { plainLoginAllowed: boolean; stls: boolean }): string[] {
  const list = ['TOP', 'UIDL'];
  if (options.plainLoginAllowed) list.push('USER', 'SASL PLAIN');
  if (options.stls) list.push('STLS');
  list.push('RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'IMPLEMENTATION winpop');
  return list;
}
