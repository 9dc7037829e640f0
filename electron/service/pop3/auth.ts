/**
 * AUTH (RFC 5034) with the PLAIN mechanism (RFC 4616).
 *
 * `AUTH PLAIN <base64>` carries the credentials at once (the initial
 * response, "=" for an empty one); `AUTH PLAIN` alone gets an empty "+ "
 * challenge and the client's next line is its response, or "*" to cancel.
 * Like USER/PASS, it is refused on an unencrypted connection where a
 * password may not be sent (see Pop3Session.plainLoginAllowed).
 */

import { canonicalAddress, logIn } from './login.js';
import { REPLY, usageError } from './responses.js';
import { decodePlain } from './sasl-plain.js';
import type { Pop3Session } from './session.js';

/** The mechanisms this connection may use now. */
export function saslMechanisms(session: Pop3Session): string[] {
  return session.plainLoginAllowed() ? ['PLAIN'] : [];
}

export async function authCommand(session: Pop3Session, rest: string): Promise<void> {
  const words = rest.split(' ').filter((w) => w !== '');
  // Not in RFC 5034, but older clients (RFC 1734 era) list the mechanisms this way.
  if (words.length === 0) return session.replyLines('+OK SASL mechanisms follow', saslMechanisms(session));
  if (words.length > 2) return session.reject(usageError('AUTH', 'AUTH PLAIN [initial-response]'));
  const mechanism = (words[0] as string).toUpperCase();
  if (mechanism !== 'PLAIN') return session.reject(REPLY.authUnsupported);
  if (!session.plainLoginAllowed()) return session.reject(session.secureRequiredReply());
  // A USER given before counts for nothing once another way of logging in starts.
  session.pendingUser = null;
  const initial = words[1];
  if (initial !== undefined) return plainResponse(session, initial === '=' ? '' : initial);
  session.continuation = (line) => plainResponse(session, line);
  session.reply('+ ');
}

async function plainResponse(session: Pop3Session, response: string): Promise<void> {
  if (response === '*') return session.reject(REPLY.authCancelled);
  const decoded = decodePlain(response);
  if (!decoded.ok) return session.reject(`-ERR ${decoded.error}`);
  const { authzid, authcid, password } = decoded.credentials;
  if (authzid !== '' && authzid !== authcid) {
    const asked = canonicalAddress(authzid);
    if (asked === null || asked !== canonicalAddress(authcid)) return session.reject(REPLY.authzidRefused);
  }
  await logIn(session, authcid, password, 'AUTH PLAIN');
}
