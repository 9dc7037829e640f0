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
import { AuthorityUnavailableError } from '../auth/password-authority.js';
import { processCounters } from '../observe/counters.js';
import { isDamagedStateFile } from '../store/meta.js';
import { LoginBusyError, PasswordCheckAbandoned } from '../store/password-pool.js';
import { MaildropInUseError, type LoginCheck, type Maildrop } from '../store/types.js';
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
  if (err instanceof AuthorityUnavailableError) return REPLY.authorityTemp;
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
 * The attempt first waits its turn (login-gate.ts: one check at a time per
 * client and per mailbox), then the penalty of earlier failures, then the
 * check. A right password, even for a locked mailbox, clears the penalty:
 * that user is not guessing.
 */
export async function logIn(session: Pop3Session, user: string, password: string, mechanism: string): Promise<void> {
  const address = canonicalAddress(user);
  const mailbox = address ?? printable(user);
  const check = await checkInTurn(session, address, mailbox, password, mechanism);
  if (check === null || session.isEnding) return;
  const { log, store } = session.deps;

  if (!check.ok) {
    if (check.reason === 'locked') {
      log.info('pop3 login refused: mailbox locked', { remote: session.remote, address, by: check.by });
      processCounters.add('loginsLocked');
      return session.reply(REPLY.lockedAtLogin);
    }
    processCounters.add('loginsFailed');
    // Counted like a bad command, so endless guessing on one connection ends it.
    return session.reject(REPLY.badCredentials);
  }

  const claimed = check.address.toLowerCase();
  const hold = session.deps.loginHoldForTests;
  if (hold !== undefined) {
    await hold('password-checked', claimed);
    if (session.isEnding) return;
  }
  if (!session.deps.registry.claim(claimed, session)) {
    log.info('pop3 login refused: maildrop in use', { remote: session.remote, address: claimed });
    return session.reply(REPLY.inUse);
  }
  session.address = claimed;

  try {
    if (hold !== undefined) await hold('maildrop-claimed', claimed);
    const locked = await store.isLocked(claimed);
    // closeSessions reached this session meanwhile: it has answered and closed.
    if (session.isEnding) return;
    if (locked) {
      session.releaseMaildrop();
      log.info('pop3 login refused: mailbox locked', { remote: session.remote, address: claimed });
      processCounters.add('loginsLocked');
      return session.reply(REPLY.lockedAtLogin);
    }
    let maildrop: Maildrop;
    try {
      maildrop = await store.openMaildrop(claimed, { session: true });
    } catch (err) {
      if (session.isEnding) return;
      session.releaseMaildrop();
      if (err instanceof MaildropInUseError) {
        // Held by a session of another process (a worker, or another server on the same store).
        log.info('pop3 login refused: maildrop in use', { remote: session.remote, address: claimed, holder: err.holder });
        return session.reply(REPLY.inUse);
      }
      log.error('pop3 maildrop open failed', { remote: session.remote, address: claimed, error: errorText(err) });
      return session.reply(isNotFound(err) ? '-ERR [SYS/PERM] The mailbox no longer exists.' : storeFailure(err));
    }
    if (session.isEnding) {
      maildrop.release();
      return;
    }
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

/**
 * Waits for the attempt's turn and penalty, checks the password, and records
 * the outcome in the penalty table. Null when the client has been answered
 * already (refused untested, store trouble) or is gone.
 *
 * Once the password has reached the workers its outcome counts even if the
 * client has left meanwhile (an abandoned check counts as failed): otherwise
 * a guesser could hang up as soon as the answer is late, learn "wrong" from
 * the wait, and never pay a penalty.
 */
async function checkInTurn(session: Pop3Session, address: string | null, mailbox: string, password: string, mechanism: string): Promise<LoginCheck | null> {
  const { store, log, gate } = session.deps;
  const admission = await gate.admit(session.remoteAddress, mailbox, session.signal);
  if (admission.kind === 'gone') return null;
  if (admission.kind === 'busy') {
    const nextDelayMs = await gate.refused(session.remoteAddress);
    log.warn('pop3 login refused unchecked: too many attempts waiting', { remote: session.remote, mailbox, line: admission.line, nextDelayMs });
    // Only a guesser fills a line: the same answer as a wrong password.
    session.reject(REPLY.badCredentials);
    return null;
  }
  try {
    if (admission.delayMs > 0) {
      log.info('pop3 login answer delayed after failed log-ins', { remote: session.remote, mailbox, delayMs: admission.delayMs });
      try {
        // Unreferenced: a pending delay never keeps a stopping service alive.
        await sleep(admission.delayMs, undefined, { ref: false, signal: session.signal });
      } catch {
        return null;
      }
    }
    log.debug('pop3 login check started', { remote: session.remote, mailbox, knownOrigin: admission.known });
    let check: LoginCheck = { ok: false, reason: 'bad-credentials' };
    try {
      if (address !== null) check = await store.checkLogin(address, password, { priority: admission.priority, signal: session.signal });
    } catch (err) {
      if (err instanceof LoginBusyError) {
        log.debug('pop3 login check finished', { remote: session.remote, mailbox, outcome: 'refused' });
        const nextDelayMs = await gate.refused(session.remoteAddress);
        log.warn('pop3 login refused unchecked: too many password checks waiting', { remote: session.remote, mailbox, nextDelayMs });
        if (!session.isEnding) session.reject(REPLY.loginBudget);
        return null;
      }
      if (err instanceof PasswordCheckAbandoned) {
        log.debug('pop3 login check finished', { remote: session.remote, mailbox, outcome: 'abandoned' });
        const counts = await gate.failed(session.remoteAddress, mailbox);
        log.warn('pop3 login abandoned during its check; counted as failed', { remote: session.remote, mailbox, mechanism, failuresFromAddress: counts.address, failuresForMailbox: counts.mailbox });
        return null;
      }
      if (!isNotFound(err)) {
        log.debug('pop3 login check finished', { remote: session.remote, mailbox, outcome: 'error' });
        log.error('pop3 login check failed', { remote: session.remote, user: mailbox, error: errorText(err) });
        if (!session.isEnding) session.reply(storeFailure(err));
        return null;
      }
    }
    log.debug('pop3 login check finished', { remote: session.remote, mailbox, outcome: check.ok ? 'ok' : check.reason });
    if (check.ok || check.reason === 'locked') {
      gate.succeeded(session.remoteAddress, mailbox);
    } else {
      const counts = await gate.failed(session.remoteAddress, mailbox);
      // Never the password: only who tried, for which mailbox, and how often.
      log.warn('pop3 login failed', {
        remote: session.remote,
        mailbox,
        mechanism,
        failuresFromAddress: counts.address,
        failuresForMailbox: counts.mailbox,
        nextDelayMs: counts.nextDelayMs,
      });
    }
    return check;
  } finally {
    admission.release();
  }
}

/** A user name as it may appear in the log: printable ASCII, bounded. */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}
