/**
 * The administrator's lock: the one rule the store, POP3, the admin layer,
 * `winpop` and the console all follow.
 *
 * A mailbox is locked when it has a lock of its own or its domain has one;
 * then POP3 log-in is refused and open sessions are closed, while mail is
 * still delivered. The two locks are kept apart: unlocking a domain leaves
 * its mailboxes' own locks as they were, and a mailbox cannot be unlocked on
 * its own while its domain is locked. Every decision that depends on a lock
 * is made with these functions on state read from disk, and every view of a
 * lock is computed with them, so no two places can disagree.
 *
 * How a lock takes hold: the admin layer writes it first and, in the same
 * step of the store, closes the sessions it covers (`lockClosesSessions`,
 * `lockCovers`); POP3 log-in checks the password, claims the maildrop, and
 * only then reads the locks from disk again, so a log-in that races a lock
 * either sees it or is closed by it.
 *
 * No Node and no Electron here: the renderer uses it too.
 */

import type { LockInfo } from './contract.js';
import { AdminError } from './errors.js';

/** What a lock or unlock acts on: a mailbox by its full address, or a domain. */
export type LockTarget = { readonly address: string } | { readonly domain: string };

/** A lock as a state file holds it (the lock, or null), or as a listing row says it (true or false). */
export type LockState = LockInfo | boolean | null;

const present = (lock: LockState): boolean => lock !== null && lock !== false;

/** True when log-in to the mailbox is refused: locked itself, or through its domain. */
export function isLocked(domainLock: LockState, mailboxLock: LockState): boolean {
  return present(domainLock) || present(mailboxLock);
}

/**
 * Which lock a refused log-in names, or null when log-in is allowed. The
 * domain's wins: it is the one that must be lifted first.
 */
export function loginLockedBy(domainLock: LockState, mailboxLock: LockState): 'domain' | 'mailbox' | null {
  if (present(domainLock)) return 'domain';
  if (present(mailboxLock)) return 'mailbox';
  return null;
}

/**
 * What a lock (a lock given) or unlock (null) leaves on a target that has
 * `current`: a lock keeps a lock that is already there (its who, when and
 * why stay), and unlocking what is not locked changes nothing.
 */
export function decideLock(current: LockInfo | null, requested: LockInfo | null): { readonly after: LockInfo | null; readonly changed: boolean } {
  const changed = (requested === null) !== (current === null);
  return { after: changed ? requested : current, changed };
}

/** Throws DOMAIN_LOCKED when a mailbox is to be unlocked on its own while its domain is locked. */
export function assertMailboxUnlockable(mailbox: { readonly address: string; readonly domain: string }, domainLock: LockState): void {
  if (!present(domainLock)) return;
  throw new AdminError(
    'DOMAIN_LOCKED',
    `The domain ${mailbox.domain} is locked, so ${mailbox.address} cannot be unlocked on its own. Unlock the domain first (winpop unlock ${mailbox.domain}).`,
  );
}

/** True when the two are the same lock (or both none). */
export function sameLock(a: LockInfo | null, b: LockInfo | null): boolean {
  return a === b || (a !== null && b !== null && a.by === b.by && a.at === b.at && a.reason === b.reason);
}

/**
 * A target's lock serial once `after` is written over `before`: one more
 * per change, so that equal serials name the same state and a higher one a
 * later state.
 */
export function nextLockSerial(serial: number, before: LockInfo | null, after: LockInfo | null): number {
  return serial + (sameLock(before, after) ? 0 : 1);
}

/** The lock as it is written: its own fields only, in a fixed order. */
export function copyLock(lock: LockInfo): LockInfo {
  return lock.reason === undefined ? { by: lock.by, at: lock.at } : { by: lock.by, at: lock.at, reason: lock.reason };
}

/**
 * True when a call that leaves `after` on its target closes the target's
 * open sessions: every lock does, also one that was there already (a lock
 * promises that nobody is logged in); an unlock closes none.
 */
export function lockClosesSessions(after: LockInfo | null): boolean {
  return after !== null;
}

/** True when a lock of `target` applies to the mailbox `address`: its own, or its domain's. */
export function lockCovers(target: LockTarget, address: string): boolean {
  const lower = address.toLowerCase();
  if ('address' in target) return target.address.toLowerCase() === lower;
  return lower.endsWith(`@${target.domain.toLowerCase()}`);
}
