/**
 * A bounded pool of connections to a directory, tried in the order of its
 * URLs (fail-over): at most `size` connections at once, reused from one
 * log-in to the next; a log-in that finds them all busy waits its turn.
 *
 * A URL whose server could not be reached is passed over for a while, so a
 * dead first server does not cost every new connection its timeout.
 */

import { DirectoryConnectError, openDirectoryConnection, parseDirectoryUrl, type DirectoryConnection, type ParsedUrl } from './ldap-connection.js';

/** How long a URL that failed is tried only after the others. */
const DOWN_FOR_MS = 30_000;

export interface PooledConnection extends DirectoryConnection {
  /** Who the connection is bound as now: nobody (a new connection), the service account, or a user after a log-in's bind. */
  identity: 'anonymous' | 'service' | 'user';
}

export class DirectoryUnreachableError extends Error {
  constructor(readonly failures: readonly DirectoryConnectError[]) {
    super(failures.map((f) => `${f.url}: ${f.message}`).join(' ') || 'no directory URL is set.');
    this.name = 'DirectoryUnreachableError';
  }
}

export class LdapPool {
  private readonly targets: ParsedUrl[];
  private readonly idle: PooledConnection[] = [];
  private readonly waiters: Array<(conn: PooledConnection | null) => void> = [];
  private readonly downUntil = new Map<string, number>();
  private readonly all = new Set<PooledConnection>();
  private opening = 0;
  private closed = false;

  constructor(
    urls: readonly string[],
    private readonly options: { readonly ca: string | undefined; readonly timeoutMs: number; readonly size: number },
  ) {
    this.targets = urls.map(parseDirectoryUrl);
  }

  /** A connection for one log-in; give it back with `release`. Null when the pool was closed while waiting. */
  async acquire(): Promise<PooledConnection | null> {
    if (this.closed) return null;
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.all.size + this.opening < this.options.size) return this.open();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Gives a connection back; `healthy` false ends it (a failed or abandoned operation may have left it in any state). */
  release(conn: PooledConnection, healthy: boolean): void {
    if (!healthy || this.closed) {
      this.discard(conn);
      const waiter = this.waiters.shift();
      if (waiter) this.open().then(waiter, () => waiter(null));
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter(conn);
    else this.idle.push(conn);
  }

  /** Ends every connection; waiting log-ins get null. */
  close(): void {
    this.closed = true;
    for (const conn of this.all) conn.kill();
    this.all.clear();
    this.idle.length = 0;
    for (const waiter of this.waiters.splice(0)) waiter(null);
  }

  private discard(conn: PooledConnection): void {
    conn.kill();
    this.all.delete(conn);
  }

  /** A new connection to the first URL that answers, those that failed lately last. */
  private async open(): Promise<PooledConnection> {
    this.opening += 1;
    try {
      const now = Date.now();
      const order = [...this.targets].sort((a, b) => Number((this.downUntil.get(a.url) ?? 0) > now) - Number((this.downUntil.get(b.url) ?? 0) > now));
      const failures: DirectoryConnectError[] = [];
      for (const target of order) {
        try {
          const conn: PooledConnection = { ...(await openDirectoryConnection(target, this.options)), identity: 'anonymous' };
          this.downUntil.delete(target.url);
          if (this.closed) {
            conn.kill();
            break;
          }
          this.all.add(conn);
          return conn;
        } catch (err) {
          if (!(err instanceof DirectoryConnectError)) throw err;
          this.downUntil.set(target.url, Date.now() + DOWN_FOR_MS);
          failures.push(err);
        }
      }
      throw new DirectoryUnreachableError(failures);
    } finally {
      this.opening -= 1;
    }
  }
}
