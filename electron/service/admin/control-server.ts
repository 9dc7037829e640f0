/**
 * The service side of the control channel: how `winpop` and a second console
 * reach the running service, so that a lock made from a shell goes through
 * the service and closes open POP3 sessions at once.
 *
 * Who may connect is decided by the operating system, not by the protocol:
 * on POSIX the socket is mode 0600 inside a 0700 folder, so only the service's
 * own user (and root) can connect. Before it listens, the service checks
 * that folder and those above it as the client does (control-trust.ts), so
 * it never serves from a folder another user made. The actor named in the
 * hello is only a claim; the audit log records it with the uid the client
 * proved (control-proof.ts) before its first call.
 *
 * On Windows the channel is a named pipe. Node cannot set a pipe's security
 * descriptor, so the pipe gets Windows' default: full control for
 * LocalSystem, Administrators and the creating user, read-only for Everyone.
 * Requests need write access, so only those may send operations; anyone
 * could open it for reading and see events. Running the service under its own
 * account keeps that to administrators and that account.
 */

import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { AccountApi, AdminApi } from '../../../shared/contract.js';
import { AdminError } from '../../../shared/errors.js';
import type { Logger } from '../log.js';
import { currentUid, fallbackSocketDir, isNamedPipe, stateDirOfSocket } from './control-path.js';
import { dropProof, newNonce, takeProof } from './control-proof.js';
import { checkFolderChain, storeOwners } from './control-trust.js';
import {
  encodeFrame,
  LineSplitter,
  MAX_REQUEST_FRAME_BYTES,
  PROTOCOL_VERSION,
  SERVICE_NAME,
  type HelloFrame,
  type ProofFrame,
} from './control-protocol.js';
import { FrameDispatcher, type FrameLink } from './frame-dispatch.js';

/** What the control channel needs of the admin service (AdminService satisfies it). */
export interface ActorScopedAdmin {
  /** `uid`: the OS user the client proved it runs as; null where it cannot prove one (a Windows pipe). */
  forActor(actor: string, caller: { readonly uid: number | null }): AdminApi;
}

/** The admin accounts of the admin endpoint, managed only here (remote/account-service.ts satisfies it). */
export interface ActorScopedAccounts {
  forActor(actor: string, caller: { readonly uid: number | null }): AccountApi;
}

export interface ControlServer {
  /** The socket path or pipe name clients connect to. */
  readonly address: string;
  /** Stops listening, drops every connection and removes the socket file. */
  close(): Promise<void>;
}

/** How long a probe waits for an existing socket to answer before calling it alive but busy. */
const PROBE_TIMEOUT_MS = 1000;

const alreadyRunning = (address: string): AdminError =>
  new AdminError(
    'UNAVAILABLE',
    `A service is already running for this mail root (it answers on ${address}). Stop it first, or manage it with winpop.`,
  );

/** Connects once to see whether a service answers there. */
function probe(address: string): Promise<'alive' | 'absent' | 'stale'> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(address);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('alive');
    }, PROBE_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('alive');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT') resolve('absent');
      else if (err.code === 'ECONNREFUSED') resolve('stale');
      else reject(new AdminError('UNAVAILABLE', `Cannot check the control socket ${address}: ${err.message}`));
    });
  });
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/**
 * Makes the socket's folder, or checks the one there, as the client will:
 * the service's own (for root, in the mail root: the store owner's), a real
 * folder, writable by its owner alone, under folders nobody else can change.
 * A fallback folder is made one level only: its base (XDG_RUNTIME_DIR, /run,
 * the temp folder) is the system's, not ours to create.
 */
async function prepareSocketDir(socketPath: string): Promise<void> {
  const dir = path.dirname(socketPath);
  const stateDir = stateDirOfSocket(socketPath);
  const refusing = `Refusing to serve the control channel at ${socketPath}`;
  try {
    await fs.mkdir(dir, { recursive: stateDir !== null, mode: 0o700 });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') {
      const base = path.dirname(dir);
      const hint = base === process.env.XDG_RUNTIME_DIR ? ' XDG_RUNTIME_DIR names it; log in again so it is made, or unset XDG_RUNTIME_DIR.' : '';
      throw new AdminError('STORE_ERROR', `${refusing}: the folder ${base} does not exist.${hint}`);
    }
    if (errnoOf(err) !== 'EEXIST') throw err;
  }
  const info = await fs.lstat(dir);
  if (info.isSymbolicLink()) {
    throw new AdminError('NOT_ALLOWED', `${refusing}: ${dir} is a symbolic link, which another user may have placed there. Remove it (rm ${dir}).`);
  }
  if (!info.isDirectory()) {
    throw new AdminError('STORE_ERROR', `${dir} is not a folder; remove it so the control socket can be created there.`);
  }
  const self = currentUid() ?? info.uid;
  // Root may serve a store that belongs to the account it runs for: that owner holds the store already.
  const owners = self === 0 && stateDir !== null ? [...new Set([0, info.uid, ...(await storeOwners(path.dirname(stateDir)))])] : [self];
  await checkFolderChain(await fs.realpath(dir), owners, refusing);
  if (info.uid === self) await fs.chmod(dir, 0o700);
}

/**
 * Where clients write their proof of identity: the service's own runtime
 * folder (the fallback socket folder, on /run or XDG_RUNTIME_DIR, checked as
 * strictly), so that a mail store that is full or mounted read-only does not
 * shut its administrators out; the socket's own folder when that one cannot
 * be used. The hello answer names it to the client.
 */
async function proofFolder(socketPath: string, log: Logger): Promise<string> {
  const socketDir = path.dirname(socketPath);
  const runtime = fallbackSocketDir();
  if (runtime === socketDir) return socketDir;
  try {
    await prepareSocketDir(path.join(runtime, 'proof'));
    return runtime;
  } catch (err) {
    log.warn('control clients prove their user in the socket folder, which fails while the store is full or read-only', {
      folder: runtime,
      error: (err as Error).message,
    });
    return socketDir;
  }
}

/** Clears a socket file left by a service that died, refusing to touch anything else. */
async function clearStaleSocket(socketPath: string): Promise<void> {
  const state = await probe(socketPath);
  if (state === 'alive') throw alreadyRunning(socketPath);
  if (state === 'absent') return;
  const info = await fs.lstat(socketPath);
  if (!info.isSocket()) {
    throw new AdminError('STORE_ERROR', `${socketPath} exists and is not a socket; move it away so the service can listen there.`);
  }
  await fs.unlink(socketPath);
}

/** Listens on a Unix socket that only this user can open, from the first instant. */
function listenPrivately(server: net.Server, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(err.code === 'EADDRINUSE' ? alreadyRunning(address) : err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // bind() happens inside listen(), synchronously, so the umask covers the
    // socket's creation; the chmod after it is the second lock on the door.
    const previous = isNamedPipe(address) ? null : process.umask(0o177);
    try {
      server.listen(address);
    } finally {
      if (previous !== null) process.umask(previous);
    }
  });
}

/**
 * Serves one connection: hello, the proof of the client's uid (where
 * `proofDir` is the socket's folder; null for a pipe), then calls and a
 * subscription (frame-dispatch.ts), until it closes.
 */
function serveConnection(socket: net.Socket, service: ActorScopedAdmin, accounts: ActorScopedAccounts | null, proofDir: string | null, log: Logger): void {
  let actor = '';
  let uid: number | null = null;
  /** The nonce sent in the hello answer, until the client proved its uid with it. */
  let nonce: string | null = null;
  /** Set while the proof file is being read: nothing else the client sent is handled before. */
  let proving = false;

  const link: FrameLink = {
    send: (frame) => {
      if (!socket.destroyed && socket.writable) socket.write(encodeFrame(frame));
    },
    unsentBytes: () => socket.writableLength,
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    end: () => {
      // Stop reading at once; close fully when the error frame has left.
      socket.pause();
      socket.end();
      socket.once('finish', () => socket.destroy());
    },
    destroy: () => socket.destroy(),
    isOpen: () => !socket.destroyed && socket.writable,
  };

  /** Calls from now on act as `actor`, with the uid proved (null on a pipe). */
  const admit = (): void => {
    dispatcher.target = {
      api: service.forActor(actor, { uid }),
      accounts: accounts?.forActor(actor, { uid }) ?? new AdminError('UNAVAILABLE', 'This service does not manage admin accounts.'),
    };
    log.debug('control client connected', { actor, uid });
  };

  /** Reads the proof file; calls wait meanwhile, and run as the proved uid after. */
  const prove = (dir: string, expected: string): void => {
    proving = true;
    dispatcher.hold(true);
    takeProof(dir, expected).then(
      (proved) => {
        proving = false;
        nonce = null;
        uid = proved;
        admit();
        dispatcher.send({ proof: { uid } });
        dispatcher.hold(false);
      },
      (err: unknown) => {
        proving = false;
        nonce = null;
        log.warn('control client failed to prove its user; disconnected', { actor, error: (err as Error).message });
        dispatcher.fail(err);
      },
    );
  };

  const handshake = (frame: HelloFrame | ProofFrame): void => {
    if ('hello' in frame) {
      if (actor) throw new AdminError('INVALID_ARGUMENT', 'hello was already sent on this connection.');
      if (frame.hello.version !== PROTOCOL_VERSION) {
        dispatcher.fail(
          new AdminError(
            'INVALID_ARGUMENT',
            `This service speaks control protocol version ${PROTOCOL_VERSION}, the client ${frame.hello.version}; use winpop of the same version as the service.`,
          ),
        );
        return;
      }
      actor = frame.hello.actor;
      if (proofDir === null) {
        admit();
        dispatcher.send({ hello: { version: PROTOCOL_VERSION, service: SERVICE_NAME } });
        return;
      }
      nonce = newNonce();
      dispatcher.send({ hello: { version: PROTOCOL_VERSION, service: SERVICE_NAME, proof: nonce, proofDir } });
      return;
    }
    if (dispatcher.target) throw new AdminError('INVALID_ARGUMENT', 'This connection has already proved its user.');
    if (nonce === null || proofDir === null) {
      dispatcher.fail(new AdminError('INVALID_ARGUMENT', `Send { "hello": { "actor": …, "version": ${PROTOCOL_VERSION} } } first; its answer carries the nonce to prove.`));
      return;
    }
    if (frame.proof !== nonce) {
      dispatcher.fail(new AdminError('NOT_ALLOWED', 'The proof names another nonce than the one this connection was given.'));
      return;
    }
    prove(proofDir, nonce);
  };

  const dispatcher = new FrameDispatcher(
    link,
    {
      handshake,
      notReady: () =>
        actor
          ? new AdminError(
              'NOT_ALLOWED',
              'Prove the user this client runs as before any request: create the proof file for the nonce of the hello answer and send { "proof": nonce }.',
            )
          : new AdminError('INVALID_ARGUMENT', `Send { "hello": { "actor": …, "version": ${PROTOCOL_VERSION} } } before any request.`),
      logFields: () => ({ actor, uid }),
    },
    log,
  );

  const splitter = new LineSplitter(MAX_REQUEST_FRAME_BYTES, (line) => dispatcher.push(line), () => {
    log.warn('control frame too large; connection closed', { actor, uid, limit: MAX_REQUEST_FRAME_BYTES });
    dispatcher.fail(
      new AdminError(
        'INVALID_ARGUMENT',
        `A control frame is larger than ${MAX_REQUEST_FRAME_BYTES} bytes; the connection is closed. Send fewer targets per call.`,
      ),
    );
  });

  socket.on('data', (data: Buffer) => splitter.push(data));
  socket.on('drain', () => dispatcher.pump());
  socket.on('error', (err) => log.debug('control connection error', { actor, error: err.message }));
  socket.on('close', () => {
    dispatcher.close();
    // A client that made its proof file but left before sending the proof frame.
    if (nonce !== null && proofDir !== null && !proving) void dropProof(proofDir, nonce);
  });
}

/**
 * Serves the admin operations on the control channel of a mail root, and
 * the admin accounts of the admin endpoint when `accounts` is given.
 *
 * Rejects with UNAVAILABLE when another service already answers on that
 * address; a socket file left by a service that died is replaced.
 */
export async function serveControl(service: ActorScopedAdmin, socketPath: string, log: Logger, accounts: ActorScopedAccounts | null = null): Promise<ControlServer> {
  const pipe = isNamedPipe(socketPath);
  if (pipe) {
    if ((await probe(socketPath)) === 'alive') throw alreadyRunning(socketPath);
  } else {
    await prepareSocketDir(socketPath);
    await clearStaleSocket(socketPath);
  }
  const proofDir = pipe ? null : await proofFolder(socketPath, log);

  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    serveConnection(socket, service, accounts, proofDir, log);
  });
  await listenPrivately(server, socketPath);
  // Identifies our socket file, so close() never removes one a later service made.
  let inode: number | null = null;
  if (!pipe) {
    await fs.chmod(socketPath, 0o600);
    inode = (await fs.lstat(socketPath)).ino;
  }
  server.on('error', (err) => log.error('control channel error', { address: socketPath, error: err.message }));
  log.info('control channel listening', { address: socketPath });

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of connections) socket.destroy();
    await stopped;
    if (inode !== null) {
      const info = await fs.lstat(socketPath).catch(() => null);
      if (info && info.ino === inode) await fs.unlink(socketPath).catch(() => undefined);
    }
    log.info('control channel closed', { address: socketPath });
  };
  return {
    address: socketPath,
    close: () => (closing ??= close()),
  };
}
