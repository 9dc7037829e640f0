/**
 * One-time sign-in links, like a notebook server's: whoever runs the service
 * (`npm start`) gets a link with a random token that signs a browser in
 * once, within a few minutes, without an admin account.
 *
 * The token is good for one exchange: the first request that shows it takes
 * it, whatever happens next. Only digests are kept, and at most `maxLinks`
 * at once (the oldest goes first).
 */

import { createHash } from 'node:crypto';
import { isTokenShape, newToken } from './sessions.js';

export interface LinkOptions {
  /** How long a link stays valid, ms. */
  readonly ttlMs: number;
  /** Links not yet used that are kept at once. */
  readonly maxLinks: number;
}

export const DEFAULT_LINK_OPTIONS: LinkOptions = { ttlMs: 5 * 60 * 1000, maxLinks: 100 };

interface Pending {
  /** Who the session will act as: the OS user that made the link. */
  readonly actor: string;
  readonly expires: number;
}

const digest = (token: string): string => createHash('sha256').update(token).digest('base64url');

export class SignInLinks {
  readonly options: LinkOptions;
  /** By digest; insertion order is age. */
  private readonly pending = new Map<string, Pending>();

  constructor(
    options: Partial<LinkOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...DEFAULT_LINK_OPTIONS, ...options };
  }

  /** A new token for `actor`, and when it expires (ms since the epoch). */
  mint(actor: string): { token: string; expires: number } {
    this.forgetExpired();
    const token = newToken();
    const expires = this.now() + this.options.ttlMs;
    this.pending.set(digest(token), { actor, expires });
    for (const oldest of this.pending.keys()) {
      if (this.pending.size <= this.options.maxLinks) break;
      this.pending.delete(oldest);
    }
    return { token, expires };
  }

  /** Takes a token: the actor it was made for, once; null when unknown, used or expired. */
  redeem(token: string): string | null {
    if (!isTokenShape(token)) return null;
    const key = digest(token);
    const found = this.pending.get(key);
    this.pending.delete(key);
    if (found === undefined || found.expires <= this.now()) return null;
    return found.actor;
  }

  /** Forgets every link (the endpoint turned off). */
  clear(): void {
    this.pending.clear();
  }

  private forgetExpired(): void {
    const at = this.now();
    for (const [key, link] of this.pending) if (link.expires <= at) this.pending.delete(key);
  }
}
