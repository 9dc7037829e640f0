/**
 * Which envelope recipients the delivery listener accepts: mailboxes of the
 * domains this server hosts, locked or not (a locked mailbox still receives
 * mail). Anything else is refused at RCPT time, so the server never relays.
 */

import { domainNameProblem, mailboxNameProblem } from '../../../shared/names.js';
import type { Logger } from '../log.js';
import type { SmtpStorePort } from '../store/types.js';
import { badAddress, relayDenied, SmtpReply, storeUnavailable, unknownMailbox } from './replies.js';

/**
 * The canonical `user@domain` a recipient is delivered to.
 *
 * Throws an SmtpReply: 550 5.1.1 for an unknown mailbox of a hosted domain,
 * 550 5.7.1 for any other domain, 553 for text that is no address at all, and
 * 451 when the store cannot be read.
 */
export async function acceptRecipient(store: SmtpStorePort, address: string, log: Logger): Promise<string> {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) throw badAddress(address);
  const domain = address.slice(at + 1).toLowerCase();
  // An address literal or a malformed domain can never be one of ours.
  if (domainNameProblem(domain) !== null) throw relayDenied(address);
  const mailbox = address.slice(0, at).toLowerCase();
  const canonical = `${mailbox}@${domain}`;
  try {
    if (mailboxNameProblem(mailbox) === null && (await store.hasMailbox(canonical))) return canonical;
    if (await store.hasDomain(domain)) throw unknownMailbox(address);
  } catch (err) {
    if (err instanceof SmtpReply) throw err;
    log.error('smtp: cannot check a recipient', { to: canonical, error: err instanceof Error ? err.message : String(err) });
    throw storeUnavailable();
  }
  throw relayDenied(address);
}
