/**
 * A session's view of its maildrop: message numbers, sizes and DELE marks.
 *
 * Marks live only here, in memory, until QUIT; discarding the view (dropped
 * connection, autologout, a lock) therefore deletes nothing.
 */

import type { Maildrop, StoredMessage } from '../store/types.js';

/** The largest message number text we parse; longer is an error, not a huge number. */
const MAX_NUMBER_DIGITS = 10;

export type Lookup = { readonly ok: true; readonly number: number; readonly message: StoredMessage } | { readonly ok: false; readonly error: string };

export class MaildropView {
  private readonly deleted = new Set<number>();

  constructor(readonly maildrop: Maildrop) {}

  get total(): number {
    return this.maildrop.messages.length;
  }

  /** Messages not marked, and their octets: what STAT reports. */
  stat(): { count: number; octets: number } {
    let count = 0;
    let octets = 0;
    this.forEachLive((_n, message) => {
      count++;
      octets += message.size;
    });
    return { count, octets };
  }

  forEachLive(visit: (number: number, message: StoredMessage) => void): void {
    const messages = this.maildrop.messages;
    for (let i = 0; i < messages.length; i++) {
      if (!this.deleted.has(i + 1)) visit(i + 1, messages[i] as StoredMessage);
    }
  }

  /** Resolves a message number argument, with an error text a user can act on. */
  lookup(arg: string | undefined, command: string): Lookup {
    const range = this.total === 0 ? 'the maildrop is empty' : `messages are numbered 1 to ${this.total}`;
    if (arg === undefined) return { ok: false, error: `-ERR ${command} needs a message number; ${range}.` };
    if (!/^[0-9]+$/.test(arg) || arg.length > MAX_NUMBER_DIGITS) {
      return { ok: false, error: `-ERR Invalid message number; use a decimal number (${range}).` };
    }
    const number = Number(arg);
    const message = this.maildrop.messages[number - 1];
    if (number < 1 || message === undefined) return { ok: false, error: `-ERR No such message; ${range}.` };
    if (this.deleted.has(number)) return { ok: false, error: `-ERR Message ${number} is already marked as deleted.` };
    return { ok: true, number, message };
  }

  markDeleted(number: number): void {
    this.deleted.add(number);
  }

  /** RSET: unmarks everything. */
  unmarkAll(): void {
    this.deleted.clear();
  }

  /** The marked messages, in maildrop order. */
  marked(): StoredMessage[] {
    return [...this.deleted].sort((a, b) => a - b).map((n) => this.maildrop.messages[n - 1] as StoredMessage);
  }
}
