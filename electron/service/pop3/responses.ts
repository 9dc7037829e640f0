/**
 * The fixed texts the POP3 listener sends, in one place.
 *
 * Response codes in brackets follow RFC 2449 and RFC 3206, so that a client
 * can tell "wrong password" from "locked" from "try again later" without
 * parsing the prose after them.
 */

/*
 * fetchmail takes any -ERR before or at log-in that contains "lock", "Lock",
 * "LOCK" or "wait" (also inside "blocked" or "awaiting", and also after
 * [AUTH]) as "the maildrop is busy" and retries for ever, and "service" with
 * "unavailable" as a server outage. So the texts of a refused log-in say
 * "disabled", never those words; only [IN-USE], where "busy" is the truth,
 * may be read that way.
 */
export const REPLY = {
  badCredentials: '-ERR [AUTH] Invalid user name or password.',
  // The administrator's lock: an authentication failure to every client, in words a user understands.
  lockedAtLogin: '-ERR [AUTH] Log-in to this mailbox is disabled by the administrator; its mail is still delivered. Contact your administrator.',
  lockedSession: '-ERR [AUTH] Log-in to this mailbox was disabled by the administrator; session closed, nothing deleted.',
  // winpop kick, the console's End Session: no lock, so nothing keeps the user from connecting again.
  endedByAdministrator: '-ERR The administrator ended this session; nothing was deleted. Connect again to continue.',
  inUse: '-ERR [IN-USE] The mailbox is already in use by another session; end that session or try again later.',
  // A session closed by what another server on the same store wrote (store/maildrop-watch.ts).
  passwordChangedSession: '-ERR [AUTH] The password of this mailbox was changed; session closed, nothing deleted. Log in again with the new password.',
  deletedSession: '-ERR [SYS/PERM] This mailbox was deleted by the administrator; session closed.',
  maildropLockLost: '-ERR [SYS/TEMP] This session lost its hold on the mailbox; session closed, nothing deleted. Log in again.',
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
  // The directory (or the system's accounts) did not answer in time: never another method's answer instead.
  authorityTemp: '-ERR [SYS/TEMP] Passwords cannot be checked right now; try again later.',
  // RFC 3206: SYS/PERM, since trying again cannot help until someone repairs the file. No path: that is in the log.
  storeDamaged:
    "-ERR [SYS/PERM] The server's record of this mailbox is damaged; log-in is impossible until the administrator repairs it. Contact your administrator.",
  expungeFailed:
    '-ERR [SYS/TEMP] The messages marked for deletion could not be deleted; all of them are still in the mailbox. Try again later.',
  // RFC 1939 wants -ERR when some marked messages were not removed; this one says the deletion
  // still stands, so the client neither deletes again blindly nor downloads them again.
  expungePending:
    '-ERR [SYS/TEMP] The deletion of the marked messages is recorded but could not be finished because of a disk error; it completes before the mailbox is next opened, so do not download those messages again.',
} as const;

/**
 * The answer to USER, PASS or AUTH on an unencrypted connection where a
 * password may not be sent (secure password authentication required, or a
 * client on another computer): what to do instead, with the port.
 */
export function secureRequired(options: { stls: boolean; pop3sPort: number | null; fromAnotherComputer?: boolean }): string {
  const refused = options.fromAnotherComputer === true ? 'Plain-text log-in from another computer refused' : 'Plain-text log-in refused';
  const ways = [options.stls ? 'STLS' : null, options.pop3sPort === null ? null : `port ${options.pop3sPort} (POP3 over TLS)`].filter((w) => w !== null);
  if (ways.length === 0) {
    return `-ERR [AUTH] ${refused}, encryption required, but this server has no usable TLS certificate; ask your administrator.`;
  }
  return `-ERR [AUTH] ${refused}, encryption required: use ${ways.join(' or ')}.`;
}

/** The greeting; it carries no APOP timestamp since APOP is not offered. */
export function greetingLine(host: string): string {
  return `+OK ${host} POP3 service ready.`;
}

/** `-ERR` for a command given with the wrong arguments, with a usage example. */
export function usageError(command: string, usage: string): string {
  return `-ERR Wrong arguments for ${command}; usage: ${usage}`;
}
