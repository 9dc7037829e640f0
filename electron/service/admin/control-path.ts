/**
 * Where the control channel of a mail root lives.
 *
 * Both the service and `winpop` derive the address from the mail root alone,
 * so a shell finds the running service without any other configuration.
 */

import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

/**
 * The longest Unix socket path we use: sun_path holds 108 bytes on Linux and
 * 104 on macOS and the BSDs, and a path that does not fit fails to bind.
 */
export const UNIX_SOCKET_PATH_MAX = 100;

/** The service-state folder inside a mail root (shared with the store). */
export const STATE_DIR = '.winpop';

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The folder that holds the fallback sockets of this OS user, when the mail root's path is too long. */
export function fallbackSocketDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return path.join(os.tmpdir(), `winpop-${uid}`);
}

/**
 * The control channel's address for a mail root.
 *
 * POSIX: `<mailroot>/.winpop/control.sock`, or, when that path would not fit
 * in a socket address, `<tmpdir>/winpop-<uid>/<hash of the mail root>.sock`.
 * Windows: a named pipe named after a hash of the mail root (case-insensitive,
 * as Windows paths are).
 */
export function controlSocketPath(mailroot: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') {
    const resolved = path.win32.resolve(mailroot).toLowerCase();
    return `\\\\.\\pipe\\winpop-${shortHash(resolved)}`;
  }
  const resolved = path.resolve(mailroot);
  const inRoot = path.join(resolved, STATE_DIR, 'control.sock');
  if (Buffer.byteLength(inRoot) <= UNIX_SOCKET_PATH_MAX) return inRoot;
  return path.join(fallbackSocketDir(), `${shortHash(resolved)}.sock`);
}

/** True when the address is a Windows named pipe rather than a socket file. */
export function isNamedPipe(address: string): boolean {
  return address.startsWith('\\\\.\\pipe\\') || address.startsWith('\\\\?\\pipe\\');
}
