/**
 * The POP3 sessions this process serves, by id: what `listSessions` shows
 * and `endSession` ends.
 *
 * Per process on purpose: with POP3 on several worker processes each worker
 * keeps its own, and the process holding the admin operations gathers their
 * lists and sends an `endSession` to the worker named by the id's pid part
 * (see SessionControl in admin/admin-service.ts).
 */

import type { SessionInfo } from '../../../shared/contract.js';
import { normalizeDomain } from '../../../shared/names.js';

/** What the registry needs of a session. */
export interface LiveSession {
  readonly id: string;
  readonly info: SessionInfo;
  /** True once it is closing: no longer listed, and no longer to be ended. */
  readonly isEnding: boolean;
  endByAdministrator(reason: string): void;
}

let issued = 0;

/** A new session id: this process's pid and its count of sessions, so no two processes of one service give the same. */
export function newSessionId(): string {
  issued += 1;
  return `${process.pid}-${issued}`;
}

export class LiveSessions<S extends LiveSession> {
  private readonly byId = new Map<string, S>();

  add(session: S): void {
    this.byId.set(session.id, session);
  }

  /** Forgets a session that is closing; false when it was forgotten already. */
  remove(session: S): boolean {
    if (this.byId.get(session.id) !== session) return false;
    this.byId.delete(session.id);
    return true;
  }

  /** The sessions, oldest first; with a domain, those logged in to one of its mailboxes. */
  list(domain?: string): SessionInfo[] {
    const suffix = domain === undefined ? null : `@${normalizeDomain(domain)}`;
    const rows: SessionInfo[] = [];
    // A Map iterates in insertion order: the oldest session first.
    for (const session of this.byId.values()) {
      if (session.isEnding) continue;
      const info = session.info;
      if (suffix === null || (info.address !== null && info.address.endsWith(suffix))) rows.push(info);
    }
    return rows;
  }

  /** Ends one session as a lock would (deletions discarded); its row as it was, or null when no such session lives here. */
  end(id: string, reason: string): SessionInfo | null {
    const session = this.byId.get(id);
    if (session === undefined || session.isEnding) return null;
    const info = session.info;
    session.endByAdministrator(reason);
    return info;
  }

  get size(): number {
    return this.byId.size;
  }
}
