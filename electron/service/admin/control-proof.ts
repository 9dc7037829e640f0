/**
 * How the service learns the OS user id of the process at the other end of a
 * control connection, so the audit log records who really called, not only
 * the name the client claims.
 *
 * Node has no SO_PEERCRED / getpeereid. Parsing `ss -xp` or /proc would be
 * Linux-only and depend on extra tools, so the proof goes through the file
 * system, which every POSIX system has: the service answers the hello with a
 * fresh random nonce; the client creates `proof-<nonce>` in the socket's own
 * folder (exclusively, no symbolic link followed, mode 0444, containing the
 * nonce) and says so; the service opens it without following links, takes
 * the file's owner as the peer's uid, and removes it. No call runs before.
 *
 * Why it cannot be forged:
 * - the socket's folder is writable only by the service's user and root,
 *   who are also the only ones who can connect; the proof tells those two
 *   apart, and the audit log then says which of them called;
 * - the nonce is new for each connection and is both the name and the
 *   content: renaming or linking a file another connection's client made
 *   brings the wrong content, as that client only ever writes its own nonce;
 * - the file must be a regular file with one name (a hard link of a file
 *   made elsewhere has two), opened with O_NOFOLLOW (no symbolic link);
 * - a client that never proves gets no operation and no event; its
 *   connection holds only itself, and a proof file it left is removed when
 *   the connection ends.
 * The uid is as trustworthy as the service's own user, who writes the audit
 * log anyway. Windows pipes have no folder: there the uid stays unknown.
 */

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AdminError } from '../../../shared/errors.js';

/** Readable by the service whichever user made it, writable by nobody; the content is no secret. */
const PROOF_FILE_MODE = 0o444;
const NONCE_PATTERN = /^[0-9a-f]{32}$/;

/** A fresh nonce for one connection. */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE_PATTERN.test(value);
}

export function proofFilePath(dir: string, nonce: string): string {
  return path.join(dir, `proof-${nonce}`);
}

/** The client's side: creates the proof file in the socket's folder; returns its path, to remove once answered. */
export async function writeProof(dir: string, nonce: string): Promise<string> {
  if (!isNonce(nonce)) throw new AdminError('UNAVAILABLE', 'The service sent a malformed proof nonce; are winpop and the service the same version?');
  const file = proofFilePath(dir, nonce);
  const handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), PROOF_FILE_MODE);
  try {
    await handle.writeFile(nonce);
    // The umask may have taken the bits the service needs to read a file of another user.
    await handle.chmod(PROOF_FILE_MODE);
  } finally {
    await handle.close();
  }
  return file;
}

function refused(file: string, why: string): AdminError {
  return new AdminError(
    'NOT_ALLOWED',
    `The proof of identity ${file} ${why}. Create it as a regular file of mode 0444 containing only the nonce, then send { "proof": nonce }.`,
  );
}

/**
 * The service's side: the uid of whoever made the proof file for this nonce.
 * The file is removed whatever the outcome.
 */
export async function takeProof(dir: string, nonce: string): Promise<number> {
  const file = proofFilePath(dir, nonce);
  try {
    let handle;
    try {
      // O_NONBLOCK: a FIFO put there opens at once (and is refused below) instead of hanging the service.
      handle = await fs.open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw refused(file, 'does not exist');
      if (code === 'ELOOP') throw refused(file, 'is a symbolic link');
      throw refused(file, `cannot be read (${(err as Error).message})`);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw refused(file, 'is not a regular file');
      if (info.nlink !== 1) throw refused(file, `has ${info.nlink} names (a hard link to another file)`);
      if ((info.mode & 0o7777) !== PROOF_FILE_MODE) throw refused(file, `has mode 0${(info.mode & 0o7777).toString(8)}`);
      const buffer = Buffer.alloc(nonce.length + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      if (buffer.toString('latin1', 0, bytesRead) !== nonce) throw refused(file, 'does not contain the nonce of this connection');
      return info.uid;
    } finally {
      await handle.close();
    }
  } finally {
    await fs.unlink(file).catch(() => undefined);
  }
}

/** Removes a proof file a client left behind (the connection ended before it was taken). */
export async function dropProof(dir: string, nonce: string): Promise<void> {
  await fs.unlink(proofFilePath(dir, nonce)).catch(() => undefined);
}
