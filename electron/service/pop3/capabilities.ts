/**
 * The CAPA list (RFC 2449): only what this server really does.
 *
 * STLS and SASL join here when encrypted connections arrive; USER is left
 * out while plain-text log-in is not allowed on the connection.
 */

export function capabilities(options: { plainLoginAllowed: boolean }): string[] {
  const list = ['TOP', 'UIDL'];
  if (options.plainLoginAllowed) list.push('USER');
  list.push('RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'IMPLEMENTATION winpop');
  return list;
}
