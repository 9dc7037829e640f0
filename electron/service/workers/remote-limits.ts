/**
 * A worker process's side of the service's limits (shared-limits.ts): each
 * question goes to the primary (workers/shared-limits-host.ts), which keeps
 * the one table of the whole service; slots given back and turns ended are
 * notes that need no answer. The notes of one turn of the event loop go in
 * one message, or with the question that follows them (limit-operations.ts).
 *
 * The one local shortcut cannot weaken a limit: a connection from a client
 * that already holds the per-address cap in this worker alone is refused
 * without asking (the service's count can only be higher).
 */

import type { Admission } from '../pop3/login-gate.js';
import type { FailureCounts } from '../pop3/login-penalty.js';
import type { LoginGatePort, Pop3Limits, SmtpLimits } from '../shared-limits.js';
import type { SlotVerdict } from '../connection-slots.js';
import type { LimitNote, LimitNotes, LimitQuestion, LimitQuestions, NoteMessage } from './limit-operations.js';
import type { FromWorker } from './worker-protocol.js';

interface Waiting {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** The questions in flight to the primary, matched to its answers by id. */
export class PrimaryChannel {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  /** Notes not sent yet: they leave at the end of this turn of the event loop, or with the next question. */
  private notes: NoteMessage[] = [];

  constructor(private readonly send: (message: FromWorker) => boolean) {}

  ask<K extends LimitQuestion>(op: K, args: LimitQuestions[K]['args'], signal?: AbortSignal): Promise<LimitQuestions[K]['result']> {
    const id = this.nextId++;
    return new Promise<LimitQuestions[K]['result']>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const notes = this.takeNotes();
      if (!this.send(notes.length > 0 ? { t: 'ask', id, op, args, notes } : { t: 'ask', id, op, args })) {
        this.waiting.delete(id);
        reject(new Error('the primary process cannot be reached'));
        return;
      }
      // The answer is still waited for: a turn granted meanwhile must be handed back through it.
      signal?.addEventListener('abort', () => this.waiting.has(id) && this.flush() && this.send({ t: 'cancel', id }), { once: true });
    });
  }

  tell<K extends LimitNote>(op: K, args: LimitNotes[K]): void {
    if (this.notes.length === 0) setImmediate(() => this.flush());
    this.notes.push({ op, args });
  }

  /** Sends the notes not sent yet; false when the primary cannot be reached. */
  private flush(): boolean {
    const notes = this.takeNotes();
    return notes.length === 0 || this.send({ t: 'tell', notes });
  }

  private takeNotes(): NoteMessage[] {
    const notes = this.notes;
    if (notes.length > 0) this.notes = [];
    return notes;
  }

  /** The primary's answer to question `id`. */
  answered(id: number, answer: { ok: true; value: unknown } | { ok: false; error: string }): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    if (answer.ok) w.resolve(answer.value);
    else w.reject(new Error(answer.error));
  }
}

/** The service's limits, asked of the primary. */
export function remoteLimits(channel: PrimaryChannel): { pop3: Pop3Limits; smtp: SmtpLimits } {
  /** This worker's own POP3 connections per client, for the shortcut above. */
  const here = new Map<string, number>();
  /**
   * Session slots granted with a connection's slot (`pop3Open`) and not
   * taken yet. The connection takes its own in the same turn of the event
   * loop; one not taken by the end of it (the client left) goes back.
   */
  let granted = 0;
  const giveBackUntaken = (): void => {
    if (granted <= 0) return;
    granted--;
    channel.tell('pop3SessionEnd', {});
  };
  const leaveHere = (client: string): void => {
    const mine = (here.get(client) ?? 0) - 1;
    if (mine <= 0) here.delete(client);
    else here.set(client, mine);
  };
  const gate: LoginGatePort = {
    async admit(remoteAddress, mailbox, signal): Promise<Admission> {
      if (signal.aborted) return { kind: 'gone' };
      const answer = await channel.ask('admit', { remote: remoteAddress, mailbox }, signal);
      if (answer.kind !== 'turn') return answer;
      const { ticket } = answer;
      let released = false;
      return {
        kind: 'turn',
        delayMs: answer.delayMs,
        priority: answer.priority,
        known: answer.known,
        release: () => {
          if (released) return;
          released = true;
          channel.tell('release', { ticket });
        },
      };
    },
    succeeded: (remote, mailbox) => channel.tell('succeeded', { remote, mailbox }),
    failed: (remote, mailbox): Promise<FailureCounts> => channel.ask('failed', { remote, mailbox }),
    refused: (remote) => channel.ask('refused', { remote }),
  };
  const pop3: Pop3Limits = {
    connect(client, perAddress, sessionMax) {
      const mine = here.get(client) ?? 0;
      if (mine >= perAddress) return false;
      here.set(client, mine + 1);
      return channel.ask('pop3Open', { client, perAddress, max: sessionMax }).then(
        ({ connected, session }) => {
          if (session) {
            granted++;
            setImmediate(giveBackUntaken);
          }
          if (!connected) leaveHere(client);
          return connected;
        },
        (err: unknown) => {
          leaveHere(client);
          throw err;
        },
      );
    },
    disconnect(client) {
      leaveHere(client);
      channel.tell('pop3Disconnect', { client });
    },
    startSession(max) {
      if (granted <= 0) return channel.ask('pop3Session', { max });
      granted--;
      return true;
    },
    endSession: () => channel.tell('pop3SessionEnd', {}),
    gate,
  };
  const smtp: SmtpLimits = {
    connect: (client, { total, perAddress }): Promise<SlotVerdict> => channel.ask('smtpConnect', { client, total, perAddress }),
    disconnect: (client) => channel.tell('smtpDisconnect', { client }),
    unknownRecipient: (client) => channel.ask('unknownRecipient', { client }),
    delivered: (client) => channel.tell('delivered', { client }),
  };
  return { pop3, smtp };
}
