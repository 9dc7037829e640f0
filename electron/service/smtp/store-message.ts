/**
 * Stores one received message for each of its recipients.
 *
 * The reply 250 is given only when every copy is durably in the store. One
 * recipient: the data streams straight into the store. Several: it is first
 * spooled to a private file under the mail root, then the store writes every
 * copy from that file and makes them visible all or nothing (`deliverAll`),
 * so the client's bytes are read once, the message is never held in memory,
 * and a 451 never leaves copies that the client's retry would duplicate.
 */

import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spoolDir } from '../store/layout.js';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SMTPServerDataStream } from 'smtp-server';
import type { Logger } from '../log.js';
import { DeliveryIncompleteError, type SmtpStorePort } from '../store/types.js';
import { receivedHeader } from './received.js';
import { notStored, SmtpReply, tooBig } from './replies.js';

export interface DeliveryContext {
  readonly store: SmtpStorePort;
  readonly log: Logger;
  /** This server's name, for the Received: field. */
  readonly host: string;
}

export interface Envelope {
  readonly from: string;
  /** Canonical addresses, each accepted at RCPT time. */
  readonly recipients: readonly string[];
  readonly helo: string;
  readonly ip: string;
  readonly protocol: string;
  readonly id: string;
}

const sizeError = (): NodeJS.ErrnoException => Object.assign(new Error('message exceeds the size limit'), { code: 'EMSGSIZE' });

/**
 * Passes the message through, failing it as soon as it grows past the limit,
 * so that the store sees an error instead of an end and keeps nothing.
 * (smtp-server only flags an oversized message; it does not stop it.)
 */
class SizeGuard extends Transform {
  private bytes = 0;
  exceeded = false;

  constructor(
    private readonly limit: number,
    private readonly source: SMTPServerDataStream,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit || this.source.sizeExceeded) {
      this.exceeded = true;
      callback(sizeError());
      return;
    }
    callback(null, chunk);
  }
}

/** The message with a header block put in front of it. */
function withHeader(header: string, body: Readable): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(header);
      yield* body;
    })(),
    { objectMode: false },
  );
}

function isSizeError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === 'EMSGSIZE';
}

async function spool(root: string, body: Readable): Promise<string> {
  const dir = spoolDir(root);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${Date.now()}-${randomBytes(8).toString('hex')}.eml`);
  try {
    await pipeline(body, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (err) {
    await fs.rm(file, { force: true });
    throw err;
  }
  return file;
}

/**
 * Delivers the DATA stream to every recipient; resolves with the 250 text.
 *
 * Throws an SmtpReply: 552 when the message is over `limit` bytes, 451 when
 * the store fails; either way no mailbox keeps a copy. A mailbox deleted
 * between RCPT and DATA fails the whole message with 451: the client's retry
 * then gets 550 at RCPT for that address and the others are delivered. Only
 * if the store cannot take back copies it had already made visible (logged
 * as an error there) does the retry duplicate them, which is still better
 * than a lost message (RFC 5321 section 6.1).
 */
export async function deliverMessage(
  ctx: DeliveryContext,
  source: SMTPServerDataStream,
  envelope: Envelope,
  limit: number,
): Promise<string> {
  const guard = new SizeGuard(limit, source);
  // Its errors reach whoever reads it (the store or the spool); an error after that reader
  // has stopped must not become an uncaught exception.
  guard.on('error', () => undefined);
  let sourceEnded = false;
  source.once('end', () => {
    sourceEnded = true;
  });
  // A client that hangs up mid-message: the store must see an error, not wait forever.
  source.once('close', () => {
    if (!sourceEnded) guard.destroy(new Error('the client disconnected before the end of the message'));
  });
  source.pipe(guard);

  const header = (recipient: string): string => receivedHeader({ ...envelope, host: ctx.host, recipient });
  const delivered = (result: { address: string; size: number }): void => {
    ctx.log.info('mail delivered', { id: envelope.id, from: envelope.from || '<>', to: result.address, bytes: result.size, remote: envelope.ip });
  };

  let spooled: string | null = null;
  try {
    const [only] = envelope.recipients;
    if (envelope.recipients.length === 1 && only !== undefined) {
      const trace = header(only);
      delivered(await ctx.store.deliver(only, withHeader(trace, guard), { maxBytes: limit + Buffer.byteLength(trace) }));
    } else {
      const file = await spool(ctx.store.root, guard);
      spooled = file;
      const copies = envelope.recipients.map((recipient) => {
        const trace = header(recipient);
        return { address: recipient, content: () => withHeader(trace, createReadStream(file)), maxBytes: limit + Buffer.byteLength(trace) };
      });
      for (const result of await ctx.store.deliverAll(copies)) delivered(result);
    }
    return `${accepted(envelope.recipients.length)} (id ${envelope.id})`;
  } catch (err) {
    // Read the rest of the DATA so the connection can answer and go on.
    source.unpipe(guard);
    source.resume();
    if (guard.exceeded || isSizeError(err)) {
      ctx.log.info('mail refused: too big', { id: envelope.id, from: envelope.from || '<>', limit, remote: envelope.ip });
      throw tooBig(limit);
    }
    if (err instanceof SmtpReply) throw err;
    ctx.log.error('mail not stored', {
      id: envelope.id,
      from: envelope.from || '<>',
      recipients: envelope.recipients.length,
      error: err instanceof Error ? err.message : String(err),
    });
    throw notStored(err instanceof DeliveryIncompleteError ? err.copiesKept : 0);
  } finally {
    if (spooled) await fs.rm(spooled, { force: true });
  }
}

function accepted(count: number): string {
  return `2.0.0 Delivered to ${count} mailbox${count === 1 ? '' : 'es'}`;
}
