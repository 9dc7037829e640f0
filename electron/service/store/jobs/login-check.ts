/**
 * POP3 log-in against the store: the password, asked of the authority of the
 * server's authentication method (the password file, a directory, the
 * system's accounts), then the locks, read from disk so that a lock written
 * by any process takes effect at once.
 *
 * An authority that cannot answer (`unavailable`) is never replaced by
 * another: the log-in fails with AuthorityUnavailableError ([SYS/TEMP]).
 * Locks are never cached, whatever an authority remembers.
 */

import { isLocked, loginLockedBy } from '../../../../shared/lock-rule.js';
import { parseAddress, type Address } from '../../../../shared/names.js';
import { AuthorityUnavailableError, type PasswordAuthority } from '../../auth/password-authority.js';
import { domainDir, mailboxDir } from '../layout.js';
import { createPasswordFileAuthority } from '../password-file-authority.js';
import { spendLoginCost, type CheckOptions } from '../passwords.js';
import { noteLock, readDomainMetaStrict, readMailboxMetaStrict } from '../state-reads.js';
import type { StoreCore } from '../store-core.js';
import type { LoginCheck } from '../types.js';

export class LoginChecks {
  /** The Encrypted Password File method's authority, over this store. */
  readonly passwordFile: PasswordAuthority;
  private authority: () => PasswordAuthority;

  constructor(private readonly core: StoreCore) {
    this.passwordFile = createPasswordFileAuthority(core);
    this.authority = () => this.passwordFile;
  }

  /** Who decides passwords from now on: asked at each log-in, so a change of method or of its settings applies to the next one. */
  useAuthority(pick: () => PasswordAuthority): void {
    this.authority = pick;
  }

  async checkLogin(address: string, password: string, options?: CheckOptions): Promise<LoginCheck> {
    const { core } = this;
    const authority = this.authority();
    let a: Address;
    try {
      a = parseAddress(address);
    } catch {
      // No name the store refuses (`*`, parentheses, NUL...) ever reaches an authority.
      if (authority === this.passwordFile) await spendLoginCost(password, options);
      return { ok: false, reason: 'bad-credentials' };
    }
    const verdict = await authority.verify(a, password, options);
    if (verdict.verdict === 'unavailable') throw new AuthorityUnavailableError(authority.method, verdict.detail);
    if (verdict.verdict === 'bad') {
      if (verdict.detail !== undefined) core.log.info('pop3 password refused', { address: a.address, method: authority.method, detail: verdict.detail });
      return { ok: false, reason: 'bad-credentials' };
    }
    // Read the lock state after the check: it takes a while, and a lock written meanwhile must win.
    const now = await core.guard(mailboxDir(core.root, a), () => readMailboxMetaStrict(core, a, { missingIsNull: true }));
    if (now === null) {
      // A directory's user for whom no mailbox was made here.
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
}
