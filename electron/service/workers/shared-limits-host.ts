/**
 * The primary's copy of the service's limits, for its worker processes
 * (shared-limits.ts): the same tables a single process keeps, asked over IPC
 * (limit-operations.ts), so a client counts the same whichever worker the
 * cluster hands its connection to.
 *
 * The primary also remembers what each worker holds (connection slots,
 * sessions, log-in turns, questions waiting for a turn): a worker that dies
 * cannot give them back, so `workerGone` does it for it. A limit is never
 * left taken by a process that no longer exists.
 */

import { LoginGate } from '../pop3/login-gate.js';
import { LoginPenalty } from '../pop3/login-penalty.js';
import { Pop3Slots, SmtpTables } from '../shared-limits.js';
import { DEFAULT_RECIPIENT_THROTTLE } from '../smtp/recipient-throttle.js';
import type { LimitNote, LimitNotes, LimitQuestion, LimitQuestions, NoteMessage, RemoteAdmission } from './limit-operations.js';

interface Holdings {
  readonly pop3: Map<string, number>;
  sessions: number;
  readonly smtp: Map<string, number>;
  /** Ticket → ends the turn. */
  readonly turns: Map<number, () => void>;
  /** Question id → aborts its wait for a turn. */
  readonly waiting: Map<number, AbortController>;
}

/** What a dead worker held and was given back, for the log. */
export interface GivenBack {
  readonly pop3Connections: number;
  readonly pop3Sessions: number;
  readonly smtpConnections: number;
  readonly loginTurns: number;
}

type Handlers = { [K in LimitQuestion]: (h: Holdings, args: LimitQuestions[K]['args'], id: number) => LimitQuestions[K]['result'] | Promise<LimitQuestions[K]['result']> };
type NoteHandlers = { [K in LimitNote]: (h: Holdings, args: LimitNotes[K]) => void };

const add = (map: Map<string, number>, key: string, n: number): boolean => {
  const now = (map.get(key) ?? 0) + n;
  if (now < 0) return false;
  if (now === 0) map.delete(key);
  else map.set(key, now);
  return true;
};

export class SharedLimitsHost {
  private readonly pop3 = new Pop3Slots();
  private readonly smtp = new SmtpTables(DEFAULT_RECIPIENT_THROTTLE);
  private readonly gate = new LoginGate(new LoginPenalty());
  private readonly holders = new Map<number, Holdings>();
  private nextTicket = 1;

  private readonly questions: Handlers = {
    pop3Open: (h, { client, perAddress, max }) => {
      if (!this.pop3.connect(client, perAddress)) return { connected: false, session: false };
      add(h.pop3, client, 1);
      const session = this.pop3.startSession(max);
      if (session) h.sessions++;
      return { connected: true, session };
    },
    pop3Session: (h, { max }) => {
      const ok = this.pop3.startSession(max);
      if (ok) h.sessions++;
      return ok;
    },
    smtpConnect: (h, { client, total, perAddress }) => {
      const verdict = this.smtp.connect(client, { total, perAddress });
      if (verdict === 'ok') add(h.smtp, client, 1);
      return verdict;
    },
    unknownRecipient: (_h, { client }) => this.smtp.unknownRecipient(client),
    admit: async (h, { remote, mailbox }, id): Promise<RemoteAdmission> => {
      const abort = new AbortController();
      h.waiting.set(id, abort);
      try {
        const admission = await this.gate.admit(remote, mailbox, abort.signal);
        if (admission.kind !== 'turn') return admission;
        // Cancelled or dead while the turn came: it goes to the next at once.
        if (abort.signal.aborted || ![...this.holders.values()].includes(h)) {
          admission.release();
          return { kind: 'gone' };
        }
        const ticket = this.nextTicket++;
        h.turns.set(ticket, admission.release);
        return { kind: 'turn', delayMs: admission.delayMs, priority: admission.priority, known: admission.known, ticket };
      } finally {
        h.waiting.delete(id);
      }
    },
    failed: (_h, { remote, mailbox }) => this.gate.failed(remote, mailbox),
    refused: (_h, { remote }) => this.gate.refused(remote),
  };

  private readonly notes: NoteHandlers = {
    pop3Disconnect: (h, { client }) => {
      if (add(h.pop3, client, -1)) this.pop3.disconnect(client);
    },
    pop3SessionEnd: (h) => {
      if (h.sessions <= 0) return;
      h.sessions--;
      this.pop3.endSession();
    },
    smtpDisconnect: (h, { client }) => {
      if (add(h.smtp, client, -1)) this.smtp.disconnect(client);
    },
    delivered: (_h, { client }) => this.smtp.delivered(client),
    succeeded: (_h, { remote, mailbox }) => this.gate.succeeded(remote, mailbox),
    release: (h, { ticket }) => {
      const release = h.turns.get(ticket);
      h.turns.delete(ticket);
      release?.();
    },
  };

  /** Answers a worker's question; a value at once where the tables can, a promise for a turn. */
  ask(worker: number, id: number, op: string, args: unknown): unknown {
    const handler = (this.questions as Record<string, ((h: Holdings, args: unknown, id: number) => unknown) | undefined>)[op];
    if (handler === undefined) throw new Error(`no limit question ${op}`);
    return handler(this.holdings(worker), args, id);
  }

  /** The worker no longer waits for question `id`. */
  cancel(worker: number, id: number): void {
    this.holders.get(worker)?.waiting.get(id)?.abort();
  }

  /** Applies a worker's notes, in order. */
  tell(worker: number, notes: readonly NoteMessage[]): void {
    const h = this.holdings(worker);
    for (const { op, args } of notes) {
      const handler = (this.notes as Record<string, ((h: Holdings, args: unknown) => void) | undefined>)[op];
      handler?.(h, args);
    }
  }

  /** The worker has ended: everything it held goes back, its waits end. */
  workerGone(worker: number): GivenBack {
    const h = this.holders.get(worker);
    this.holders.delete(worker);
    if (h === undefined) return { pop3Connections: 0, pop3Sessions: 0, smtpConnections: 0, loginTurns: 0 };
    let pop3Connections = 0;
    for (const [client, n] of h.pop3) {
      for (let i = 0; i < n; i++) this.pop3.disconnect(client);
      pop3Connections += n;
    }
    let smtpConnections = 0;
    for (const [client, n] of h.smtp) {
      for (let i = 0; i < n; i++) this.smtp.disconnect(client);
      smtpConnections += n;
    }
    for (let i = 0; i < h.sessions; i++) this.pop3.endSession();
    const loginTurns = h.turns.size;
    for (const release of h.turns.values()) release();
    for (const abort of h.waiting.values()) abort.abort();
    return { pop3Connections, pop3Sessions: h.sessions, smtpConnections, loginTurns };
  }

  /** Held across every worker: POP3 connections and sessions, SMTP connections. */
  get size(): { pop3Connections: number; pop3Sessions: number; smtpConnections: number } {
    const pop3 = this.pop3.size;
    return { pop3Connections: pop3.connections, pop3Sessions: pop3.sessions, smtpConnections: this.smtp.size };
  }

  private holdings(worker: number): Holdings {
    let h = this.holders.get(worker);
    if (h === undefined) {
      h = { pop3: new Map(), sessions: 0, smtp: new Map(), turns: new Map(), waiting: new Map() };
      this.holders.set(worker, h);
    }
    return h;
  }
}
