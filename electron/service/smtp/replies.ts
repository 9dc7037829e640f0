/**
 * SMTP replies the delivery listener gives, each with its RFC 3463 enhanced
 * status code written into the text.
 *
 * smtp-server can add enhanced codes by itself, but only from the basic code,
 * which would answer a refused relay with 5.1.1 ("no such mailbox") instead of
 * 5.7.1 ("not authorized"). So the listener turns that off and says exactly
 * what it means.
 */

/** An error smtp-server sends to the client as `<responseCode> <message>`. */
export class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** 550 5.1.1: what a harvester probing for mailbox names collects, so the listener counts these (see recipient-throttle.ts). */
export class UnknownMailboxReply extends SmtpReply {}

export const unknownMailbox = (address: string): SmtpReply => new UnknownMailboxReply(550, `5.1.1 <${address}>: no such mailbox here`);

export const relayDenied = (address: string): SmtpReply =>
  new SmtpReply(550, `5.7.1 <${address}>: relaying denied; this server accepts mail only for its own domains`);

export const badAddress = (address: string): SmtpReply =>
  new SmtpReply(553, `5.1.3 <${address}>: not a mailbox address; use the form user@domain`);

export const tooBig = (limit: number): SmtpReply =>
  new SmtpReply(552, `5.3.4 Message too big: this server accepts messages of at most ${limit} bytes`);

export const notStored = (storedCopies: number): SmtpReply =>
  new SmtpReply(
    451,
    storedCopies === 0
      ? '4.3.0 The message could not be stored; nothing was kept, please try again later'
      : '4.3.0 The message could not be stored for every recipient; please try again later',
  );

export const storeUnavailable = (): SmtpReply =>
  new SmtpReply(451, '4.3.0 The mail store cannot be read just now; please try again later');

// 421 closes the connection (RFC 5321 section 3.8); the server's name follows the code, as there.

export const tooManyFromAddress = (host: string): SmtpReply =>
  new SmtpReply(421, `4.7.0 ${host} Too many connections from your address; try again later`);

export const tooManyConnections = (host: string): SmtpReply =>
  new SmtpReply(421, `4.3.2 ${host} Too many connections to this server; try again later`);

export const tooManyUnknownRecipients = (host: string): SmtpReply =>
  new SmtpReply(421, `4.7.0 ${host} Too many unknown recipients; closing the connection, try again later`);
