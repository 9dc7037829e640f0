/**
 * The Encrypted Password File method (auth 3) as a password authority: the
 * scrypt hash in each mailbox's state file.
 *
 * Verified passwords are remembered (verified-cache.ts) so that a client
 * polling every few minutes pays one scrypt an hour. Unlike the other
 * authorities it may throw: a damaged state file or a missing mail root is
 * the store's own fault, answered as the log-in always answered it.
 */

import { PASSWORD_FILE_AUTH } from '../../../shared/contract.js';
import type { Address } from '../../../shared/names.js';
import type { AuthorityVerdict, PasswordAuthority, VerifyOptions } from '../auth/password-authority.js';
import { mailboxDir } from './layout.js';
import { spendLoginCost, verifyPassword } from './passwords.js';
import { readMailboxMetaStrict } from './state-reads.js';
import type { StoreCore } from './store-core.js';
import { createVerifiedCache } from './verified-cache.js';

export function createPasswordFileAuthority(core: StoreCore): PasswordAuthority {
  // Shared with the service's other processes when it runs on workers (verified-cache.ts).
  const verified = createVerifiedCache({ shared: true });
  const bad: AuthorityVerdict = { verdict: 'bad' };

  /** scrypt, unless this very password was verified against this very hash recently. */
  async function check(a: Address, password: string, storedHash: string, options?: VerifyOptions): Promise<boolean> {
    if (verified.has(storedHash, password)) return true;
    const ok = await verifyPassword(password, storedHash, options);
    core.log.debug('password checked with scrypt', { address: a.address, ok });
    if (ok) verified.remember(storedHash, password);
    return ok;
  }

  return {
    method: PASSWORD_FILE_AUTH,
    async verify(a: Address, password: string, options?: VerifyOptions): Promise<AuthorityVerdict> {
      const meta = await core.guard(mailboxDir(core.root, a), () => readMailboxMetaStrict(core, a, { missingIsNull: true }));
      if (meta === null) {
        // Without its mail root every user would look unknown: say what is really wrong.
        await core.throwIfRootGone();
        await spendLoginCost(password, options);
        return bad;
      }
      // A mailbox made under another method has no hash: nothing can match it.
      if (meta.password === null) {
        await spendLoginCost(password, options);
        return bad;
      }
      return (await check(a, password, meta.password, options)) ? { verdict: 'ok' } : bad;
    },
    async close() {},
  };
}
