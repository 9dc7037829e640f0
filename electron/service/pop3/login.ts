/**
 * The log-in (PASS, AUTH PLAIN), ordered so that an administrator's lock is
 * never missed, and slowed for whoever keeps guessing.
 *
 * The admin layer writes a lock to disk first and then closes the sessions of
 * that maildrop. Here the password is checked, then the session claims the
 * maildrop in the registry (synchronously, so closeSessions can find it from
 * that moment), and only then is the lock read again from disk. Whichever
 * order the two race in, a log-in either sees the lock or is closed by it.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { parseAddress } from '../../../shared/names.js';
import { isDamagedStateFile } from '../store/meta.js';
import type { LoginCheck, Maildrop } from '../store/types.js';
import { REPLY } from './responses.js';
import { errorText, type Pop3Session } from './session.js';

/** The canonical address for a typed user name, or null when it cannot be one. */
export function canonicalAddress(user: string): string | null {
  try {
    return parseAddress(user).address;
  } catch {
    return null;
  }
}

/**
 * The answer when the store fails during log-in: a damaged state file stays
 * damaged until the administrator repairs it ([SYS/PERM]); anything else (a
 * missing mail root, an I/O error) may pass ([SYS/TEMP]).
 */
function storeFailure(err: unknown): string {
  return isDamagedStateFile(err) ? REPLY.storeDamaged : REPLY.storeTemp;
}

/** Store errors that mean "no such mailbox" rather than "store unavailable". */
function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'NOT_FOUND' || code === 'INVALID_ARGUMENT';
}

export async function passCommand(session: Pop3Session, password: string): Promise<void> {
  if (session.pendingUser === null) return session.reject(REPLY.userFirst);
  if (password === '') return session.reject(REPLY.passMissing);
  if (!session.plainLoginAllowed()) return session.reject(session.secureRequiredReply());
  const user = session.pendingUser;
  // RFC 1939: after a failed PASS the client starts again with USER.
  session.pendingUser = null;
  await logIn(session, user, password, 'USER/PASS');
}

/**
 * Checks the password and opens the maildrop; answers the client either way.
 *
 * The answer waits out the penalty of earlier failures from this client
 * address or for this mailbox. A right password, even for a locked mailbox,
 * clears the penalty: that user is not guessing.
 */
export async function logIn(session: Pop3Session, user: string, password: string, mechanism: string): Promise<void> {
  const { store, log, penalty } = session.deps;
  const address = canonicalAddress(user);
  const mailbox = address ?? printable(user);
  const delay = penalty.delayFor(session.remoteAddress, mailbox);
  if (delay > 0) {
    log.info('pop3 login answer delayed after failed log-ins', { remote: session.remote, mailbox, delayMs: delay });
    // Unreferenced: a pending delay never keeps a stopping service alive.
    await sleep(delay, undefined, { ref: false });
    if (session.isEnding) return;
  }

  let check: LoginCheck = { ok: false, reason: 'bad-credentials' };
  if (address !== null) {
    try {
      check = await store.checkLogin(address, password);
    } catch (err) {
      if (!isNotFound(err)) {
        log.error('pop3 login check failed', { remote: session.remote, user: printable(user), error: errorText(err) });
        if (!session.isEnding) session.reply(storeFailure(err));
        return;
      }
    }
  }
  if (session.isEnding) return;

  if (!check.ok) {
    if (check.reason === 'locked') {
      penalty.success(session.remoteAddress, mailbox);
      log.info('pop3 login refused: mailbox locked', { remote: session.remote, address, by: check.by });
      return session.reply(REPLY.lockedAtLogin);
    }
    const counts = penalty.failure(session.remoteAddress, mailbox);
    // Never the password: only who tried, for which mailbox, and how often.
    log.warn('pop3 login failed', {
      remote: session.remote,
      mailbox,
      mechanism,
      failuresFromAddress: counts.address,
      failuresForMailbox: counts.mailbox,
      nextDelayMs: counts.nextDelayMs,
    });
    // Counted like a bad command, so endless guessing on one connection ends it.
    return session.reject(REPLY.badCredentials);
  }
  penalty.success(session.remoteAddress, mailbox);

  const claimed = check.address.toLowerCase();
  if (!session.deps.registry.claim(claimed, session)) {
    log.info('pop3 login refused: maildrop in use', { remote: session.remote, address: claimed });
    return session.reply(REPLY.inUse);
  }
  session.address = claimed;

  try {
    const locked = await store.isLocked(claimed);
    // closeSessions reached this session meanwhile: it has answered and closed.
    if (session.isEnding) return;
    if (locked) {
      session.releaseMaildrop();
      log.info('pop3 login refused: mailbox locked', { remote: session.remote, address: claimed });
      return session.reply(REPLY.lockedAtLogin);
    }
    let maildrop: Maildrop;
    try {
      maildrop = await store.openMaildrop(claimed);
    } catch (err) {
      if (session.isEnding) return;
      session.releaseMaildrop();
      log.error('pop3 maildrop open failed', { remote: session.remote, address: claimed, error: errorText(err) });
      return session.reply(isNotFound(err) ? '-ERR [SYS/PERM] The mailbox no longer exists.' : storeFailure(err));
    }
    if (session.isEnding) return;
    session.enterTransaction(maildrop);
    const count = maildrop.messages.length;
    const octets = maildrop.messages.reduce((sum, m) => sum + m.size, 0);
    session.reply(`+OK Logged in; ${count} ${count === 1 ? 'message' : 'messages'} (${octets} octets).`);
  } catch (err) {
    if (session.isEnding) return;
    session.releaseMaildrop();
    log.error('pop3 lock check failed', { remote: session.remote, address: claimed, error: errorText(err) });
    session.reply(storeFailure(err));
  }
}

/** A user name as it may appear in the log: printable ASCII, bounded. */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}
