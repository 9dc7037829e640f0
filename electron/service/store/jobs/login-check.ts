/**
 * POP3 log-in against the store: the password, then the locks, both read
 * from disk so that a lock written by any process takes effect at once.
 *
 * Verified passwords are remembered (verified-cache.ts) so that a client
 * polling every few minutes pays one scrypt an hour; locks never are.
 */

import { isLocked, loginLockedBy } from '../../../../shared/lock-rule.js';
import { parseAddress, type Address } from '../../../../shared/names.js';
import { domainDir, mailboxDir } from '../layout.js';
import { spendLoginCost, verifyPassword, type CheckOptions } from '../passwords.js';
import { noteLock, readDomainMetaStrict, readMailboxMetaStrict } from '../state-reads.js';
import type { StoreCore } from '../store-core.js';
import type { LoginCheck } from '../types.js';
import { createVerifiedCache } from '../verified-cache.js';

export class LoginChecks {
  private readonly verified = createVerifiedCache();

  constructor(private readonly core: StoreCore) {}

  async checkLogin(address: string, password: string, options?: CheckOptions): Promise<LoginCheck> {
    const { core } = this;
    let a: Address;
    try {
      a = parseAddress(address);
    } catch {
      await spendLoginCost(password, options);
      return { ok: false, reason: 'bad-credentials' };
    }
    const meta = await core.guard(mailboxDir(core.root, a), () => readMailboxMetaStrict(core, a, { missingIsNull: true }));
    if (meta === null) {
      // Without its mail root every user would look unknown: say what is really wrong.
      await core.throwIfRootGone();
      await spendLoginCost(password, options);
      return { ok: false, reason: 'bad-credentials' };
    }
    if (!(await this.verify(password, meta.password, options))) return { ok: false, reason: 'bad-credentials' };
    // Read the lock state again: hashing takes a while, and a lock written meanwhile must win.
    const now = await core.guard(mailboxDir(core.root, a), () => readMailboxMetaStrict(core, a, { missingIsNull: true }));
    if (now === null) {
      await core.throwIfRootGone();
      return { ok: false, reason: 'bad-credentials' };
    }
    const domain = await core.guard(domainDir(core.root, a.domain), () => readDomainMetaStrict(core, a.domain));
    noteLock(core, a, now.lock);
    const by = loginLockedBy(domain.lock, now.lock);
    if (by !== null) return { ok: false, reason: 'locked', by };
    return { ok: true, address: a.address };
  }

  async isLocked(address: string): Promise<boolean> {
    const { core } = this;
    const a = parseAddress(address);
    return core.guard(mailboxDir(core.root, a), async () => {
      const meta = await readMailboxMetaStrict(core, a, { missingIsNull: false });
      const domain = await readDomainMetaStrict(core, a.domain);
      noteLock(core, a, meta?.lock ?? null);
      return isLocked(domain.lock, meta?.lock ?? null);
    });
  }

  /** scrypt, unless this very password was verified against this very hash recently. */
  private async verify(password: string, storedHash: string, options?: CheckOptions): Promise<boolean> {
    if (this.verified.has(storedHash, password)) return true;
    const ok = await verifyPassword(password, storedHash, options);
    if (ok) this.verified.remember(storedHash, password);
    return ok;
  }
}
