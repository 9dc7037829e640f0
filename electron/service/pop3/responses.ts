/**
 * The fixed texts the POP3 listener sends, in one place.
 *
 * Response codes in brackets follow RFC 2449 and RFC 3206, so that a client
 * can tell "wrong password" from "locked" from "try again later" without
 * parsing the prose after them.
 */

export const REPLY = {
  badCredentials: '-ERR [AUTH] Invalid user name or password.',
  lockedAtLogin:
    '-ERR [AUTH] Mailbox is locked by the administrator; mail is still being delivered. Contact your administrator.',
  lockedSession: '-ERR [AUTH] Mailbox locked by the administrator; session closed.',
  inUse: '-ERR [IN-USE] The mailbox is already in use by another session; end that session or try again later.',
  autologout: '-ERR Autologout; idle for too long',
  lineTooLong: '-ERR Line too long',
  unknownCommand: '-ERR Unknown command',
  emptyCommand: '-ERR Empty command line; send a command such as CAPA, USER or QUIT.',
  tooManyBadCommands: '-ERR Too many bad commands; closing the connection.',
  tooManyConnections: '-ERR [SYS/TEMP] Too many connections; try again later.',
  tooManyFromAddress: '-ERR [SYS/TEMP] Too many connections from your address; close some of them or try again later.',
  // Not [SYS/TEMP] (nothing is wrong with the server) nor [AUTH] (no password was refused): plain, like the autologout.
  loginTimeout: '-ERR Not logged in in time; closing the connection. Connect again to log in.',
  // Can meet a real user in a rush of first log-ins (after a restart nothing is cached): "try again", not "wrong password".
  loginBudget: '-ERR [SYS/TEMP] Too many log-ins are being checked right now; try again in a minute.',
  shuttingDown: '-ERR [SYS/TEMP] The server is shutting down; try again later.',
  loginFirst: '-ERR Log in first with USER and PASS.',
  alreadyLoggedIn: '-ERR Already logged in; this command is only valid before log-in.',
  userFirst: '-ERR Send USER with your full address (user@domain) before PASS.',
  userMissing: '-ERR USER needs your full mailbox address, for example: USER someone@example.com',
  passMissing: '-ERR PASS needs your password, for example: PASS secret',
  stlsBegin: '+OK Begin TLS negotiation',
  stlsActive: '-ERR TLS is already active on this connection.',
  stlsUnavailable:
    '-ERR [SYS/PERM] STLS is not available: the server has no usable TLS certificate; ask your administrator.',
  authCancelled: '-ERR Authentication cancelled.',
  authUnsupported: '-ERR Unsupported SASL mechanism; this server offers AUTH PLAIN.',
  authzidRefused: '-ERR [AUTH] Logging in as another user is not allowed; leave the authorization identity empty.',
  apopUnsupported: '-ERR APOP is not supported; log in with USER and PASS.',
  storeTemp: '-ERR [SYS/TEMP] The mail store cannot be read right now; try again later.',
  expungeFailed:
    '-ERR [SYS/TEMP] The messages marked for deletion could not be deleted; all of them are still in the mailbox. Try again later.',
  // RFC 1939 wants -ERR when some marked messages were not removed; this one says the deletion
  // still stands, so the client neither deletes again blindly nor downloads them again.
  expungePending:
    '-ERR [SYS/TEMP] The deletion of the marked messages is recorded but could not be finished because of a disk error; it completes before the mailbox is next opened, so do not download those messages again.',
} as const;

/**
 * The answer to USER, PASS or AUTH on an unencrypted connection while secure
 * password authentication is required: what to do instead, with the port.
 */
export function secureRequired(options: { stls: boolean; pop3sPort: number | null }): string {
  const ways = [options.stls ? 'STLS' : null, options.pop3sPort === null ? null : `port ${options.pop3sPort} (POP3 over TLS)`].filter((w) => w !== null);
  if (ways.length === 0) {
    return '-ERR [AUTH] Plain-text log-in refused, encryption required, but this server has no usable TLS certificate; ask your administrator.';
  }
  return `-ERR [AUTH] Plain-text log-in refused, encryption required: use ${ways.join(' or ')}.`;
}

/** The greeting; it carries no APOP timestamp since APOP is not offered. */
export function greetingLine(host: string): string {
  return `+OK ${host} POP3 service ready.`;
}

/** `-ERR` for a command given with the wrong arguments, with a usage example. */
export function usageError(command: string, usage: string): string {
  return `-ERR Wrong arguments for ${command}; usage: ${usage}`;
}
