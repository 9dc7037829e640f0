/**
 * The control channel's wire format: newline-delimited JSON frames.
 *
 * Client → service:
 *   { "hello": { "actor": "alice", "version": 2 } }          first, once
 *   { "proof": "<nonce>" }                                    once the proof file is made (control-proof.ts)
 *   { "id": 7, "op": "lock", "args": { "target": "a@b.com" } }
 *                                                             an operation of the contract, or an account operation (addAdmin, …)
 *   { "id": 8, "subscribe": true }                            (false stops events)
 * Service → client:
 *   { "hello": { "version": 2, "service": "winpop", "proof": "<nonce>", "proofDir": "/run/winpop" } }
 *                                                             answers the hello; no "proof" on a Windows pipe
 *   { "proof": { "uid": 1000 } }                              the proof was accepted: calls may follow
 *   { "id": 7, "reply": { "ok": true, "result": … } }        Reply<T> of shared/contract
 *   { "event": AdminEvent }
 *   { "error": { "code": …, "message": … } }                  a problem not tied to a call
 *
 * JSON never contains a raw newline, so a line is a frame. Everything that
 * arrives is untrusted until checked here and by shared/validate.
 */

import type { AccountOperationName, AdminEvent, ErrorShape, OperationName, Reply } from '../../../shared/contract.js';
import { AdminError, isErrorShape } from '../../../shared/errors.js';
import { isAccountOperationName, isOperationName } from '../../../shared/validate.js';
import { isNonce } from './control-proof.js';

/** 2: the client proves its OS user id before any call. */
export const PROTOCOL_VERSION = 2;
export const SERVICE_NAME = 'winpop';

/**
 * Largest frame the service reads. A bulk lock of 100,000 addresses is a few
 * megabytes; a line beyond this closes the connection.
 */
export const MAX_REQUEST_FRAME_BYTES = 16 * 1024 * 1024;
/**
 * Largest frame a client reads. Bulk results carry a lock record per target,
 * so a reply can be several times its request; the service is trusted (it
 * runs as the same user), the limit only bounds memory.
 */
export const MAX_REPLY_FRAME_BYTES = 256 * 1024 * 1024;

export const ACTOR_MAX_LENGTH = 256;

export interface HelloFrame {
  readonly hello: { readonly actor: string; readonly version: number };
}
export interface CallFrame {
  readonly id: number;
  readonly op: OperationName | AccountOperationName;
  readonly args: unknown;
}
export interface SubscribeFrame {
  readonly id: number;
  readonly subscribe: boolean;
}
/** Says the proof file for this nonce is in place. */
export interface ProofFrame {
  readonly proof: string;
}
export type ClientFrame = HelloFrame | ProofFrame | CallFrame | SubscribeFrame;

export interface HelloAckFrame {
  /** `proof`: the nonce the client proves its uid with; absent where no proof is possible (a pipe). */
  readonly hello: { readonly version: number; readonly service: string; readonly proof?: string; readonly proofDir?: string };
}
export interface ProofAckFrame {
  readonly proof: { readonly uid: number };
}
export interface ReplyFrame {
  readonly id: number;
  readonly reply: Reply<unknown>;
}
export interface EventFrame {
  readonly event: AdminEvent;
}
export interface ErrorFrame {
  readonly error: ErrorShape;
}
export type ServerFrame = HelloAckFrame | ProofAckFrame | ReplyFrame | EventFrame | ErrorFrame;

/** One frame as a line of the wire. */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return `${JSON.stringify(frame)}\n`;
}

function invalid(message: string): never {
  throw new AdminError('INVALID_ARGUMENT', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A request id: a whole number a reply can be matched with. */
export function isFrameId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Why an actor name is not acceptable, or null. */
export function actorProblem(actor: unknown): string | null {
  if (typeof actor !== 'string' || actor.length === 0) return 'hello: "actor" must be the non-empty name of the OS user.';
  if (actor.length > ACTOR_MAX_LENGTH) return `hello: "actor" is longer than ${ACTOR_MAX_LENGTH} characters.`;
  if (/[\u0000-\u001f\u007f]/.test(actor)) return 'hello: "actor" contains control characters.';
  return null;
}

/**
 * The id of a request frame, when the frame has a usable one, so that even a
 * malformed request gets its error as the reply to that call.
 */
export function frameIdOf(value: unknown): number | null {
  return isObject(value) && isFrameId(value.id) ? value.id : null;
}

/** Decodes one line as JSON; throws INVALID_ARGUMENT when it is not. */
export function decodeLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    invalid('The frame is not valid JSON; send one JSON object per frame (a line on the control channel, a text message on the admin endpoint).');
  }
}

/** Checks one decoded frame from a client; throws INVALID_ARGUMENT naming the problem. */
export function toClientFrame(value: unknown): ClientFrame {
  if (!isObject(value)) invalid('A control frame must be a JSON object.');
  if ('hello' in value) {
    const hello = value.hello;
    if (!isObject(hello)) invalid(`hello: expected { "actor": string, "version": ${PROTOCOL_VERSION} }.`);
    const problem = actorProblem(hello.actor);
    if (problem) invalid(problem);
    if (typeof hello.version !== 'number') invalid('hello: "version" must be a number.');
    return { hello: { actor: hello.actor as string, version: hello.version } };
  }
  if ('proof' in value) {
    if (!isNonce(value.proof)) invalid('"proof" must be the nonce the service sent in its hello: 32 hexadecimal digits.');
    return { proof: value.proof };
  }
  if (!isFrameId(value.id)) invalid('A request needs an "id": a whole number that its reply will carry.');
  if ('subscribe' in value) {
    if (typeof value.subscribe !== 'boolean') invalid('"subscribe" must be true or false.');
    return { id: value.id, subscribe: value.subscribe };
  }
  if (!('op' in value)) invalid('A request needs an "op" (an operation name) or "subscribe".');
  if (!isOperationName(value.op) && !isAccountOperationName(value.op)) {
    // Only a string is quoted back: turning a deeply nested array into text would overflow the stack.
    const shown = typeof value.op === 'string' ? `"${value.op.slice(0, 40)}"` : `of type ${Array.isArray(value.op) ? 'array' : value.op === null ? 'null' : typeof value.op}`;
    invalid(`Unknown operation ${shown}; "op" must name one of the operations, such as "listDomains".`);
  }
  return { id: value.id, op: value.op, args: value.args };
}

/** Parses one line from the service; throws on anything that is not a known frame. */
export function parseServerFrame(line: string): ServerFrame {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new AdminError('UNAVAILABLE', 'The service sent a control frame that is not valid JSON.');
  }
  if (isObject(value)) {
    if (isObject(value.hello) && typeof value.hello.version === 'number') {
      const dir = value.hello.proofDir;
      if (dir !== undefined && (typeof dir !== 'string' || !dir.startsWith('/') || dir.length > 4096 || dir.includes('\0'))) {
        invalid('The service named a proof folder that is not an absolute path.');
      }
      return value as unknown as HelloAckFrame;
    }
    if (isObject(value.proof) && typeof value.proof.uid === 'number') return value as unknown as ProofAckFrame;
    if (isFrameId(value.id) && isObject(value.reply) && typeof value.reply.ok === 'boolean') {
      if (value.reply.ok || isErrorShape(value.reply.error)) return value as unknown as ReplyFrame;
    }
    if (isObject(value.event) && typeof value.event.type === 'string') return value as unknown as EventFrame;
    if (isErrorShape(value.error)) return value as unknown as ErrorFrame;
  }
  throw new AdminError('UNAVAILABLE', 'The service sent a control frame of an unknown kind; are winpop and the service the same version?');
}

/**
 * Splits a byte stream into lines without copying what was already scanned,
 * so a multi-megabyte frame costs linear time. Calls `onLine` per complete
 * line (without its newline; a trailing CR is dropped too) and `onOverflow`
 * once when a line grows past `maxBytes`, after which it ignores all input.
 */
export class LineSplitter {
  private chunks: Buffer[] = [];
  private length = 0;
  private overflowed = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: () => void,
  ) {}

  push(data: Buffer): void {
    let chunk = data;
    while (!this.overflowed) {
      const newline = chunk.indexOf(0x0a);
      if (newline < 0) {
        this.keep(chunk);
        return;
      }
      this.keep(chunk.subarray(0, newline));
      if (this.overflowed) return;
      const line = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
      this.chunks = [];
      this.length = 0;
      chunk = chunk.subarray(newline + 1);
      const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
      if (end > 0) this.onLine(line.toString('utf8', 0, end));
    }
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    this.length += part.length;
    if (this.length > this.maxBytes) {
      this.overflowed = true;
      this.chunks = [];
      this.length = 0;
      this.onOverflow();
      return;
    }
    this.chunks.push(part);
  }
}
