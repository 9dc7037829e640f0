/**
 * The client side of the control channel: the admin API of a running service,
 * for `winpop` and for a console that finds a `pop3svc` already serving its
 * mail root.
 *
 * Before it sends a single byte, the client checks that the socket and the
 * folders above it belong to a user it trusts (control-trust.ts): requests
 * carry passwords, and a socket another user put in the service's place
 * would receive them. After the hello it proves its own uid to the service
 * (control-proof.ts) so the audit log can record it.
 */

import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { AccountApi, AccountOperationName, AdminApi, AdminEvent, Args, OperationName, Result } from '../../../shared/contract.js';
import { ACCOUNT_OPERATION_NAMES, OPERATION_NAMES } from '../../../shared/contract.js';
import { AdminError, fromReply } from '../../../shared/errors.js';
import { controlSocketCandidates, controlSocketPath, currentUid, isNamedPipe } from './control-path.js';
import { writeProof } from './control-proof.js';
import { checkControlSocket, trustedServiceOwners } from './control-trust.js';
import {
  encodeFrame,
  LineSplitter,
  MAX_REPLY_FRAME_BYTES,
  MAX_REQUEST_FRAME_BYTES,
  parseServerFrame,
  PROTOCOL_VERSION,
  type ClientFrame,
  type HelloAckFrame,
  type ProofAckFrame,
  type ServerFrame,
} from './control-protocol.js';

/** The admin API of a running service and its admin accounts, plus the connection's own controls. */
export type ControlClient = AdminApi & AccountApi & {
  /** The socket path or pipe name this client is connected to. */
  readonly address: string;
  /** Ends the connection; calls still waiting reject with UNAVAILABLE. */
  close(): void;
  /** Called once when the connection ends, whoever ended it. Returns the unsubscribe. */
  onClose(listener: (error: AdminError | null) => void): () => void;
};

/** Nothing answering within this is the same as nothing listening. */
const CONNECT_TIMEOUT_MS = 1000;
/** A service that accepted the connection but does not greet and take the proof within this is hung. */
const HELLO_TIMEOUT_MS = 5000;

// ENOTDIR: a file stands where the mail root's folders should be; the store then says so clearly.
const NOT_LISTENING = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'ENOTDIR']);

function notAllowed(address: string): AdminError {
  return new AdminError(
    'NOT_ALLOWED',
    `A service is running for this mail root, but this user may not use its control channel (${address}). Run winpop as the user that runs the service, or as an administrator.`,
  );
}

export interface ConnectOptions {
  /**
   * The users whose socket may be trusted (see trustedServiceOwners); this
   * user and root unless given. Checked before anything is sent.
   */
  readonly owners?: readonly number[];
}

/** Opens the socket; null when nothing listens there. */
function open(address: string): Promise<net.Socket | null> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(address);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code && NOT_LISTENING.has(err.code)) resolve(null);
      else if (err.code === 'EACCES' || err.code === 'EPERM') reject(notAllowed(address));
      else reject(new AdminError('UNAVAILABLE', `Cannot reach the service at ${address}: ${err.message}`));
    });
  });
}

/**
 * Connects to a control channel address; null when none answers. On POSIX
 * the socket and its folders are checked first (NOT_ALLOWED when they could
 * be another user's).
 */
export async function connectControlAt(address: string, actor: string, options: ConnectOptions = {}): Promise<ControlClient | null> {
  if (isNamedPipe(address)) return handshake(address, null, actor);
  const self = currentUid();
  const place = await checkControlSocket(address, options.owners ?? (self === null || self === 0 ? [0] : [self, 0]));
  if (place.state === 'absent') return null;
  if (place.state === 'forbidden') throw notAllowed(address);
  return handshake(place.address, path.dirname(place.address), actor);
}

/**
 * Opens a checked address, says hello and, where `proofDir` is the socket's
 * folder, proves this process's uid; null when nothing listens.
 */
async function handshake(address: string, proofDir: string | null, actor: string): Promise<ControlClient | null> {
  const socket = await open(address);
  if (!socket) return null;

  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: AdminError) => void }>();
  const eventListeners = new Set<(event: AdminEvent) => void>();
  const closeListeners = new Set<(error: AdminError | null) => void>();
  let nextId = 1;
  let subscribed = false;
  let ended: AdminError | null = null;
  let closedByUs = false;
  /** Waits for the service's next hello or proof answer. */
  let awaiting: { resolve: (frame: HelloAckFrame | ProofAckFrame) => void; reject: (error: AdminError) => void } | null = null;

  const finish = (error: AdminError | null): void => {
    if (ended) return;
    ended = error ?? new AdminError('UNAVAILABLE', 'The control connection was closed.');
    for (const call of pending.values()) call.reject(ended);
    pending.clear();
    awaiting?.reject(ended);
    awaiting = null;
    for (const listener of closeListeners) listener(closedByUs ? null : ended);
    closeListeners.clear();
    socket.destroy();
  };

  const write = (frame: ClientFrame): void => {
    socket.write(encodeFrame(frame));
  };

  const onFrame = (frame: ServerFrame): void => {
    if ('reply' in frame) {
      const call = pending.get(frame.id);
      if (!call) return;
      pending.delete(frame.id);
      try {
        call.resolve(fromReply(frame.reply));
      } catch (err) {
        call.reject(err as AdminError);
      }
    } else if ('event' in frame) {
      for (const listener of eventListeners) listener(frame.event);
    } else if ('hello' in frame || 'proof' in frame) {
      awaiting?.resolve(frame);
      awaiting = null;
    } else {
      // A problem not tied to a call: the service closes the connection after it.
      finish(new AdminError(frame.error.code, frame.error.message));
    }
  };

  const splitter = new LineSplitter(
    MAX_REPLY_FRAME_BYTES,
    (line) => {
      try {
        onFrame(parseServerFrame(line));
      } catch (err) {
        finish(err instanceof AdminError ? err : new AdminError('UNAVAILABLE', String(err)));
      }
    },
    () => finish(new AdminError('UNAVAILABLE', `The service sent a reply larger than ${MAX_REPLY_FRAME_BYTES} bytes.`)),
  );
  socket.on('data', (data: Buffer) => splitter.push(data));
  socket.on('error', () => undefined);
  socket.on('close', () =>
    finish(new AdminError('UNAVAILABLE', 'The service stopped or closed the control connection; try again once it runs, or work on the store directly.')),
  );

  const answer = (): Promise<HelloAckFrame | ProofAckFrame> =>
    ended
      ? Promise.reject(ended)
      : new Promise((resolve, reject) => {
          awaiting = { resolve, reject };
        });
  const timer = setTimeout(() => {
    finish(new AdminError('UNAVAILABLE', `The service at ${address} accepted the connection but did not answer; it may be hung. Restart it.`));
  }, HELLO_TIMEOUT_MS);
  let proofFile: string | null = null;
  try {
    const greeting = answer();
    write({ hello: { actor, version: PROTOCOL_VERSION } });
    const hello = await greeting;
    const nonce = 'hello' in hello ? hello.hello.proof : undefined;
    if (proofDir !== null) {
      if (nonce === undefined) throw new AdminError('UNAVAILABLE', `The service at ${address} did not ask this client to prove its user; are winpop and the service the same version?`);
      proofFile = await writeProof(('hello' in hello ? hello.hello.proofDir : undefined) ?? proofDir, nonce);
      const accepted = answer();
      write({ proof: nonce });
      await accepted;
    }
  } catch (err) {
    finish(err instanceof AdminError ? err : new AdminError('UNAVAILABLE', `Cannot prove this user to the service at ${address}: ${(err as Error).message}`));
    throw ended;
  } finally {
    clearTimeout(timer);
    // The service removes it on reading it; this covers a service that failed first.
    if (proofFile !== null) await fs.unlink(proofFile).catch(() => undefined);
  }

  const request = (frame: { op: OperationName | AccountOperationName; args: unknown } | { subscribe: boolean }): Promise<unknown> => {
    if (ended) return Promise.reject(ended);
    const id = nextId++;
    const line = encodeFrame({ id, ...frame } as ClientFrame);
    if (Buffer.byteLength(line) > MAX_REQUEST_FRAME_BYTES) {
      return Promise.reject(
        new AdminError('INVALID_ARGUMENT', `This request is larger than ${MAX_REQUEST_FRAME_BYTES} bytes; send fewer targets per call.`),
      );
    }
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      socket.write(line);
    });
  };

  const onEvent = (listener: (event: AdminEvent) => void): (() => void) => {
    eventListeners.add(listener);
    if (!subscribed) {
      subscribed = true;
      // A refused subscription would only come from a broken service; the
      // connection's own close reports that, so the rejection is not surfaced twice.
      request({ subscribe: true }).catch(() => undefined);
    }
    return () => {
      eventListeners.delete(listener);
    };
  };

  const operations = Object.fromEntries(
    OPERATION_NAMES.map((op) => [op, (args: Args<typeof op>) => request({ op, args }) as Promise<Result<typeof op>>]),
  ) as { [K in OperationName]: (args: Args<K>) => Promise<Result<K>> };
  const accountOperations = Object.fromEntries(ACCOUNT_OPERATION_NAMES.map((op) => [op, (args: unknown) => request({ op, args })])) as unknown as AccountApi;

  return {
    ...operations,
    ...accountOperations,
    address,
    onEvent,
    close: () => {
      closedByUs = true;
      socket.end();
      finish(null);
    },
    onClose: (listener) => {
      if (ended) {
        queueMicrotask(() => listener(closedByUs ? null : ended));
        return () => undefined;
      }
      closeListeners.add(listener);
      return () => closeListeners.delete(listener);
    },
  };
}

/**
 * Connects to a running service for that mail root; null when none answers.
 * Looks in each place the service may listen (controlSocketCandidates) and
 * refuses, with NOT_ALLOWED, any place another user could have prepared.
 */
export async function connectControl(mailroot: string, actor: string): Promise<ControlClient | null> {
  if (process.platform === 'win32') return connectControlAt(controlSocketPath(mailroot), actor);
  const owners = await trustedServiceOwners(mailroot);
  for (const candidate of controlSocketCandidates(mailroot, owners)) {
    const place = await checkControlSocket(candidate.address, candidate.owners);
    if (place.state === 'forbidden') {
      // Inside the mail root the service is surely there; another user's fallback folder may hold nothing for us.
      if (candidate.inRoot) throw notAllowed(candidate.address);
      continue;
    }
    if (place.state === 'absent') continue;
    const client = await handshake(place.address, path.dirname(place.address), actor);
    if (client) return client;
  }
  return null;
}
