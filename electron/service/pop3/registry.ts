/**
 * Which maildrop is held by which session: the RFC 1939 exclusive lock.
 *
 * Kept in memory and claimed synchronously, so that a check and a claim can
 * never interleave with another log-in or with the administrator closing
 * sessions.
 */

import { lockCovers, type LockTarget } from '../../../shared/lock-rule.js';

export class SessionRegistry<S> {
  private readonly byAddress = new Map<string, S>();

  /** Claims the maildrop; false when another session holds it. */
  claim(address: string, session: S): boolean {
    if (this.byAddress.has(address)) return false;
    this.byAddress.set(address, session);
    return true;
  }

  /** Releases the maildrop, but only if this session is the one holding it. */
  release(address: string, session: S): void {
    if (this.byAddress.get(address) === session) this.byAddress.delete(address);
  }

  /** Sessions holding a mailbox that a lock of `target` covers: the address, or every mailbox of the domain. */
  matching(target: LockTarget): S[] {
    if ('address' in target) {
      // The one mailbox a mailbox's lock covers, found without a walk.
      const session = this.byAddress.get(target.address.toLowerCase());
      return session === undefined ? [] : [session];
    }
    const found: S[] = [];
    for (const [address, session] of this.byAddress) {
      if (lockCovers(target, address)) found.push(session);
    }
    return found;
  }

  get size(): number {
    return this.byAddress.size;
  }
}
