/**
 * The requests of one admin connection, from frame text to reply: shared by
 * the control channel (control-server.ts, newline-delimited frames on a local
 * socket) and the admin endpoint (remote/websocket-bridge.ts, one frame per
 * WebSocket text message), so that both check, run, bound and answer calls
 * alike.
 *
 * Frames wait in a queue and are handled while there is room: at most
 * MAX_CALLS_IN_FLIGHT calls running, and replies the peer has not read under
 * MAX_UNSENT_REPLY_BYTES. Otherwise reading pauses, and the transport's own
 * buffers hold the peer back, so a client that pipelines a flood of calls
 * gets them run in turn instead of all at once. A subscriber whose unread
 * events pass MAX_UNSENT_EVENT_BYTES is dropped, so one stuck client cannot
 * exhaust the service's memory.
 */

import type { AccountApi, AccountOperationName, AdminApi, AdminEvent, OperationName } from '../../../shared/contract.js';
import { AdminError, toErrorShape, toReply } from '../../../shared/errors.js';
import { isAccountOperationName, validateAccountArgs, validateArgs } from '../../../shared/validate.js';
import type { LogFields, Logger } from '../log.js';
import { decodeLine, frameIdOf, toClientFrame, type HelloFrame, type ProofFrame, type ServerFrame } from './control-protocol.js';

/** A subscriber whose unread events pass this is disconnected. */
export const MAX_UNSENT_EVENT_BYTES = 16 * 1024 * 1024;
/** Calls one connection may have running at once; more requests wait unread. */
export const MAX_CALLS_IN_FLIGHT = 16;
/** Replies the client has not read yet, beyond which its further requests wait unread. */
export const MAX_UNSENT_REPLY_BYTES = 1024 * 1024;

/** A subscriber whose unread bytes pass `maxUnsentEventBytes` at an event is disconnected. */
export interface DispatchLimits {
  readonly maxUnsentEventBytes: number;
}

/** What the dispatcher needs of a connection. */
export interface FrameLink {
  send(frame: ServerFrame): void;
  /** Bytes sent and not yet taken by the peer. */
  unsentBytes(): number;
  /** Stops and restarts reading from the peer. */
  pause(): void;
  resume(): void;
  /** Closes once what was sent has left: after a fatal error frame. */
  end(): void;
  /** Closes at once: a subscriber that does not read its events. */
  destroy(): void;
  /** False once the connection is closing or closed. */
  isOpen(): boolean;
}

/** Whom the calls of a connection act as: known once it is greeted (the control channel) or signed in (the endpoint). */
export interface CallTarget {
  readonly api: AdminApi;
  /**
   * The account operations, or the error that refuses them on this
   * connection (the admin endpoint: accounts are managed only locally).
   */
  readonly accounts: AccountApi | AdminError;
}

export interface DispatchHooks {
  /** A hello or proof frame: the control channel's handshake; the endpoint refuses them. */
  handshake(frame: HelloFrame | ProofFrame): void;
  /** Why calls cannot run yet (no target), with what to send first. */
  notReady(): AdminError;
  /** Fields that name the connection in log lines. */
  logFields(): LogFields;
}

/** Runs one call: its arguments checked as the contract says, then the operation of `target`. */
export async function runOperation(target: CallTarget, op: OperationName | AccountOperationName, args: unknown): Promise<unknown> {
  if (isAccountOperationName(op)) {
    if (target.accounts instanceof AdminError) throw target.accounts;
    const checked = validateAccountArgs(op, args);
    return (target.accounts[op] as (a: typeof checked) => Promise<unknown>)(checked);
  }
  const checked = validateArgs(op, args);
  return (target.api[op] as (a: typeof checked) => Promise<unknown>)(checked);
}

export class FrameDispatcher {
  /** Whom calls act as; null until the handshake sets it. */
  target: CallTarget | null = null;
  /** While set (the control channel reads a proof file), queued frames wait. */
  private holding = false;
  /** Set once the connection is being closed: nothing more it sent is acted on. */
  private closed = false;
  /** Complete frames read but not yet handled. */
  private readonly queue: string[] = [];
  private inFlight = 0;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly link: FrameLink,
    private readonly hooks: DispatchHooks,
    private readonly log: Logger,
    private readonly limits: DispatchLimits = { maxUnsentEventBytes: MAX_UNSENT_EVENT_BYTES },
  ) {}

  /** One complete frame as text, from the peer. */
  push(text: string): void {
    if (this.closed) return;
    this.queue.push(text);
    this.pump();
  }

  /** Frames are held while `on` (the control channel proving the client's uid), handled again after. */
  hold(on: boolean): void {
    this.holding = on;
    this.pump();
  }

  /** Frames waiting to be handled. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Ends the connection with an error frame: nothing more is read or
   * handled, and the link closes once the frame has left.
   */
  fail(err: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.send({ error: toErrorShape(err) });
    this.link.end();
  }

  /** The connection closed: events stop, and nothing queued runs. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Sends when the link is open; a frame that cannot be sent is dropped with the link. */
  send(frame: ServerFrame): void {
    if (this.link.isOpen()) this.link.send(frame);
  }

  /**
   * Handles queued frames while there is room: a free call slot and a client
   * that reads its replies. Otherwise reading pauses. Called again when a
   * call ends and when the link drains.
   */
  pump(): void {
    while (!this.closed && !this.holding && this.queue.length > 0 && this.inFlight < MAX_CALLS_IN_FLIGHT && this.link.unsentBytes() <= MAX_UNSENT_REPLY_BYTES) {
      this.handle(this.queue.shift() as string);
    }
    if (this.closed || !this.link.isOpen()) return;
    const full = this.holding || this.queue.length > 0 || this.inFlight >= MAX_CALLS_IN_FLIGHT || this.link.unsentBytes() > MAX_UNSENT_REPLY_BYTES;
    if (full) this.link.pause();
    else this.link.resume();
  }

  private readonly onEvent = (event: AdminEvent): void => {
    if (this.link.unsentBytes() > this.limits.maxUnsentEventBytes) {
      this.log.warn('admin client does not read its events; disconnected', this.hooks.logFields());
      this.close();
      this.link.destroy();
      return;
    }
    this.send({ event });
  };

  private handle(text: string): void {
    if (this.closed) return;
    let value: unknown;
    try {
      value = decodeLine(text);
      const frame = toClientFrame(value);
      if ('hello' in frame || 'proof' in frame) {
        this.hooks.handshake(frame);
        return;
      }
      const target = this.target;
      if (target === null) {
        this.fail(this.hooks.notReady());
        return;
      }
      if ('subscribe' in frame) {
        if (frame.subscribe && !this.unsubscribe) this.unsubscribe = target.api.onEvent(this.onEvent);
        if (!frame.subscribe && this.unsubscribe) {
          this.unsubscribe();
          this.unsubscribe = null;
        }
        this.send({ id: frame.id, reply: { ok: true, result: { subscribed: frame.subscribe } } });
        return;
      }
      void this.call(frame.id, frame.op, frame.args, target);
    } catch (err) {
      const id = frameIdOf(value);
      const error = toErrorShape(err);
      if (id === null) this.send({ error });
      else this.send({ id, reply: { ok: false, error } });
    }
  }

  private async call(id: number, op: OperationName | AccountOperationName, args: unknown, target: CallTarget): Promise<void> {
    this.inFlight++;
    try {
      const reply = await toReply(() => runOperation(target, op, args));
      this.log.debug('admin call', { ...this.hooks.logFields(), op, ok: reply.ok, code: reply.ok ? undefined : reply.error.code });
      // A client that left mid-call is simply not answered; the call itself has completed.
      try {
        this.send({ id, reply });
      } catch (err) {
        // A result that cannot be encoded must not leave the caller waiting forever.
        this.send({ id, reply: { ok: false, error: toErrorShape(err) } });
      }
    } finally {
      this.inFlight--;
      this.pump();
    }
  }
}
