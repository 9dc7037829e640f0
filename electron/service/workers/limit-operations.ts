/**
 * What a worker process asks its primary about the service's limits
 * (shared-limits.ts): the questions that need an answer (`LimitQuestions`,
 * sent as `ask`, answered with `answer`) and the notes that need none
 * (`LimitNotes`, sent as `tell`: slots given back, a turn ended). One IPC
 * channel keeps a worker's messages in order, so a note sent before a
 * question is applied before it is answered.
 *
 * Each message is a wake-up of the other process, so a session's share is
 * kept small: a new connection asks for its connection slot and its session
 * slot at once (`pop3Open`), and the notes of one turn of the event loop
 * travel together (`tell` carries a list; an `ask` carries those not yet
 * sent).
 */

import type { SlotVerdict } from '../connection-slots.js';
import type { FailureCounts } from '../pop3/login-penalty.js';

/** A log-in attempt's turn as the primary's gate gives it; `ticket` ends it (`release`). */
export type RemoteAdmission =
  | { readonly kind: 'turn'; readonly delayMs: number; readonly priority: number; readonly known: boolean; readonly ticket: number }
  | { readonly kind: 'busy'; readonly line: 'client' | 'mailbox' }
  | { readonly kind: 'gone' };

export interface LimitQuestions {
  /** A connection slot and, when it is granted and one is free within `max`, a session slot with it. */
  pop3Open: { args: { readonly client: string; readonly perAddress: number; readonly max: number }; result: { readonly connected: boolean; readonly session: boolean } };
  pop3Session: { args: { readonly max: number }; result: boolean };
  smtpConnect: { args: { readonly client: string; readonly total: number; readonly perAddress: number }; result: SlotVerdict };
  unknownRecipient: { args: { readonly client: string }; result: number };
  /** Waits for the attempt's turn; a `cancel` of this question answers `gone`. */
  admit: { args: { readonly remote: string; readonly mailbox: string }; result: RemoteAdmission };
  failed: { args: { readonly remote: string; readonly mailbox: string }; result: FailureCounts };
  refused: { args: { readonly remote: string }; result: number };
}

export interface LimitNotes {
  pop3Disconnect: { readonly client: string };
  pop3SessionEnd: Record<string, never>;
  smtpDisconnect: { readonly client: string };
  delivered: { readonly client: string };
  succeeded: { readonly remote: string; readonly mailbox: string };
  release: { readonly ticket: number };
}

export type LimitQuestion = keyof LimitQuestions;
export type LimitNote = keyof LimitNotes;

/** One note as it travels: its name and its arguments. */
export interface NoteMessage {
  readonly op: string;
  readonly args: unknown;
}
