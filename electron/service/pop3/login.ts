/**
 * PASS: the log-in, ordered so that an administrator's lock is never missed.
 *
 * The admin layer writes a lock to disk first and then closes the sessions of
 * that maildrop. Here the password is checked, then the session claims the
 * maildrop in the registry (synchronously, so closeSessions can find it from
 * that moment), and only then is the lock read again from disk. Whichever
 * order the two race in, a log-in either sees the lock or is closed by it.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { parseAddress } from '../../../shared/names.js';
import type { LoginCheck, Maildrop } from '../store/types.js';
import { failedLoginDelayMs } from './login-delay.js';
import { REPLY } from './responses.js';
import { errorText, type Pop3Session } from './session.js';

/** The canonical address for a typed user name, or null when it cannot be one. */
function canonicalAddress(user: string): string | null {
  try {
    return parseAddress(user).address;
  } catch {
    return null;
  }
}

/** Store errors that mean "no such mailbox" rather than "store unavailable". */
function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'NOT_FOUND' || code === 'INVALID_ARGUMENT';
}

export async function passCommand(session: Pop3Session, password: string): Promise<void> {
  const { store, log } = session.deps;
  if (session.pendingUser === null) return session.reject(REPLY.userFirst);
  if (password === '') return session.reject(REPLY.passMissing);
  if (!session.plainLoginAllowed()) return session.reject(REPLY.secureRequired);
  const user = session.pendingUser;
  // RFC 1939: after a failed PASS the client starts again with USER.
  session.pendingUser = null;

  const address = canonicalAddress(user);
  let check: LoginCheck = { ok: false, reason: 'bad-credentials' };
  if (address !== null) {
    try {
      check = await store.checkLogin(address, password);
    } catch (err) {
      if (!isNotFound(err)) {
        log.error('pop3 login check failed', { remote: session.remote, user: printable(user), error: errorText(err) });
        if (!session.isEnding) session.reply(REPLY.storeTemp);
        return;
      }
    }
  }
  if (session.isEnding) return;

  if (!check.ok) {
    if (check.reason === 'locked') {
      log.info('pop3 login refused: mailbox locked', { remote: session.remote, address, by: check.by });
      return session.reply(REPLY.lockedAtLogin);
    }
    log.warn('pop3 login failed', { remote: session.remote, user: printable(user) });
    await sleep(failedLoginDelayMs(session.remote));
    // Counted like a bad command, so endless guessing on one connection ends it.
    if (!session.isEnding) session.reject(REPLY.badCredentials);
    return;
  }

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
      return session.reply(isNotFound(err) ? '-ERR [SYS/PERM] The mailbox no longer exists.' : REPLY.storeTemp);
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
    session.reply(REPLY.storeTemp);
  }
}

/** A user name as it may appear in the log: printable ASCII, bounded. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}
