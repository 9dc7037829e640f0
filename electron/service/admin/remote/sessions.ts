/**
 * The admin endpoint's sessions: a random token per sign-in, carried by the
 * browser in a cookie, ended when idle, when too old, on log-out, and when
 * its admin is deleted or given a new password.
 *
 * Only a SHA-256 digest of each token is kept, and sessions are looked up by
 * it: the lookup's timing says nothing about the token, and the memory of
 * the service holds nothing a stolen dump could replay. The table is
 * bounded: past `maxSessions` the session idle longest ends first.
 */

import { createHash, randomBytes } from 'node:crypto';

export interface SessionOptions {
  /** A session not used for this long ends, ms. */
  readonly idleMs: number;
  /** A session ends this long after its sign-in, used or not, ms. */
  readonly maxAgeMs: number;
  /** Most sessions at once. */
  readonly maxSessions: number;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  idleMs: 30 * 60 * 1000,
  maxAgeMs: 12 * 60 * 60 * 1000,
  maxSessions: 1000,
};

/** Who a session acts as: an admin account, or the OS user that made a one-time sign-in link. */
export interface SessionIdentity {
  readonly name: string;
  readonly kind: 'account' | 'link';
}

export interface Session {
  /** The digest of its token: its key in the table. */
  readonly key: string;
  readonly identity: SessionIdentity;
  /** The address it signed in from. */
  readonly remote: string;
  readonly created: number;
  lastUsed: number;
}

/** 32 random bytes: guessing one is hopeless. */
const TOKEN_BYTES = 32;

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** A token as this module makes them: 43 base64url characters. */
export function isTokenShape(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token);
}

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export class Sessions {
  readonly options: SessionOptions;
  /** By digest of the token; insertion order is "idle longest first". */
  private readonly byDigest = new Map<string, Session>();
  private readonly endListeners = new Set<(session: Session, reason: string) => void>();

  constructor(
    options: Partial<SessionOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...DEFAULT_SESSION_OPTIONS, ...options };
  }

  /** Starts a session; returns its token (for the cookie) and the session. */
  create(identity: SessionIdentity, remote: string): { token: string; session: Session } {
    this.sweep();
    const token = newToken();
    const at = this.now();
    const session: Session = { key: digest(token), identity, remote, created: at, lastUsed: at };
    this.byDigest.set(session.key, session);
    for (const [key, oldest] of this.byDigest) {
      if (this.byDigest.size <= this.options.maxSessions) break;
      this.byDigest.delete(key);
      this.announce(oldest, 'too many sessions are open; the one idle longest ended');
    }
    return { token, session };
  }

  /** The live session of a token, marked as used now; null when there is none (never was, ended, expired). */
  use(token: string | null): Session | null {
    if (token === null || !isTokenShape(token)) return null;
    const session = this.byDigest.get(digest(token));
    return session !== undefined && this.touch(session) ? session : null;
  }

  /** Marks a session used (a request, a WebSocket message); false, ending it, when it has expired meanwhile. */
  touch(session: Session): boolean {
    if (this.byDigest.get(session.key) !== session) return false;
    const why = this.expiry(session);
    if (why !== null) {
      this.byDigest.delete(session.key);
      this.announce(session, why);
      return false;
    }
    session.lastUsed = this.now();
    // Re-inserted so the Map's order stays "idle longest first".
    this.byDigest.delete(session.key);
    this.byDigest.set(session.key, session);
    return true;
  }

  /** True while the session has not ended. */
  isLive(session: Session): boolean {
    return this.byDigest.get(session.key) === session && this.expiry(session) === null;
  }

  /** Ends the session of a token (log-out); false when there was none. */
  endToken(token: string | null, reason: string): boolean {
    if (token === null || !isTokenShape(token)) return false;
    const key = digest(token);
    const session = this.byDigest.get(key);
    if (session === undefined) return false;
    this.byDigest.delete(key);
    this.announce(session, reason);
    return true;
  }

  /** Ends every session `which` picks; returns how many ended. */
  endWhere(which: (session: Session) => boolean, reason: string): number {
    let ended = 0;
    for (const [key, session] of [...this.byDigest]) {
      if (!which(session)) continue;
      this.byDigest.delete(key);
      this.announce(session, reason);
      ended++;
    }
    return ended;
  }

  /** Live sessions `which` picks. */
  count(which: (session: Session) => boolean = () => true): number {
    let n = 0;
    for (const session of this.byDigest.values()) if (this.expiry(session) === null && which(session)) n++;
    return n;
  }

  /** Ends the sessions that are idle or too old. */
  sweep(): void {
    for (const [key, session] of [...this.byDigest]) {
      const why = this.expiry(session);
      if (why === null) continue;
      this.byDigest.delete(key);
      this.announce(session, why);
    }
  }

  /** Called for every session that ends, with the reason; returns the unsubscribe. */
  onEnd(listener: (session: Session, reason: string) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  /** Seconds of idleness after which a session ends. */
  get idleSeconds(): number {
    return Math.round(this.options.idleMs / 1000);
  }

  private expiry(session: Session): string | null {
    const at = this.now();
    if (at - session.lastUsed >= this.options.idleMs) return `the session was idle for ${duration(this.options.idleMs)}; sign in again`;
    if (at - session.created >= this.options.maxAgeMs) return `the session is ${duration(this.options.maxAgeMs)} old, the longest one lasts; sign in again`;
    return null;
  }

  private announce(session: Session, reason: string): void {
    for (const listener of this.endListeners) listener(session, reason);
  }
}

/** `90 seconds`, `30 minutes`, `12 hours`. */
function duration(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} seconds`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} minutes`;
  return `${Math.round(ms / 3_600_000)} hours`;
}
