/**
 * Who may stand behind a control socket, and the checks that a socket and
 * the folders above it belong to such a user: made by the client before it
 * sends a single byte, and by the service before it listens.
 *
 * The rule, as OpenSSH's StrictModes with sticky folders allowed above:
 * - the socket is a socket, not a symbolic link, owned by a trusted user;
 * - its folder is a real folder, not a symbolic link, owned by a trusted
 *   user and writable by its owner alone;
 * - every folder above belongs to root or a trusted user and is writable by
 *   its owner alone, or is sticky (like /tmp), where nobody can rename or
 *   remove an entry another user owns.
 * Once that holds, only a trusted user can change what the path leads to, so
 * the moment between the check and the connect is no opening: to swap the
 * socket, an attacker would need to write a folder just checked. The client
 * connects to the real path it checked (symbolic links above resolved), so a
 * link cannot be turned elsewhere in between either.
 */

import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AdminError } from '../../../shared/errors.js';
import { stateDir } from '../store/layout.js';
import { currentUid } from './control-path.js';

/** Group- or other-writable. */
const WRITABLE_BY_OTHERS = 0o022;
const STICKY = 0o1000;

/** Where a socket check ended. */
export type SocketPlace =
  /** No such folder or socket: no service listens there. */
  | { readonly state: 'absent' }
  /** This user may not look into the folder; a service of another user may be there. */
  | { readonly state: 'forbidden' }
  /** A socket that passed every check; `address` is its real path, the one to connect to. */
  | { readonly state: 'present'; readonly address: string; readonly owner: number };

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** "user mail (uid 8)", from the password file when it names the uid, else "uid 8". */
function describeUser(uid: number): string {
  if (uid === currentUid()) return `this user (uid ${uid})`;
  if (uid === 0) return 'root (uid 0)';
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields[2] === String(uid) && fields[0]) return `user ${fields[0]} (uid ${uid})`;
    }
  } catch {
    // No password file (macOS keeps users elsewhere): the number alone says enough.
  }
  return `uid ${uid}`;
}

function describeOwners(owners: readonly number[]): string {
  const names = [...new Set(owners)].map(describeUser);
  return names.length <= 1 ? (names[0] ?? 'nobody') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

/**
 * The owners of a mail root and of its state folder, where each is a folder
 * nobody else can write: they hold the store already (its mail, its
 * password hashes, its locks), so a service of theirs is the store's own.
 * A root service often serves a store that belongs to a mail account
 * (Dovecot's vmail, say); that account could rename the state folder anyway.
 */
export async function storeOwners(mailroot: string): Promise<number[]> {
  const root = path.resolve(mailroot);
  const owners: number[] = [];
  for (const dir of [root, stateDir(root)]) {
    const info = await fs.lstat(dir).catch(() => null);
    if (info?.isDirectory() && (info.mode & WRITABLE_BY_OTHERS) === 0 && !owners.includes(info.uid)) owners.push(info.uid);
  }
  return owners;
}

/**
 * The users whose service a client may talk to about this mail root: itself
 * and root; and, for root, the store's owners (storeOwners), since root
 * administers services that run under their own account.
 */
export async function trustedServiceOwners(mailroot: string): Promise<number[]> {
  const self = currentUid();
  if (self === null) return [];
  if (self !== 0) return [self, 0];
  return [...new Set([0, ...(await storeOwners(mailroot))])];
}

/**
 * Throws NOT_ALLOWED unless `dir` (a real path) is a folder owned by one of
 * `owners`, writable by its owner alone, and every folder above it belongs
 * to root or one of `owners` and is writable by its owner alone or sticky.
 * `refusing` starts the message ("Refusing to connect to …").
 */
export async function checkFolderChain(dir: string, owners: readonly number[], refusing: string): Promise<void> {
  const own = await fs.lstat(dir);
  if (!owners.includes(own.uid)) {
    throw new AdminError(
      'NOT_ALLOWED',
      `${refusing}: its folder ${dir} belongs to ${describeUser(own.uid)}, not to ${describeOwners(owners)}. Another user may have made it to receive the service's requests. Remove it (as root: rm -r ${dir}) and start the service again.`,
    );
  }
  if ((own.mode & WRITABLE_BY_OTHERS) !== 0) {
    throw new AdminError(
      'NOT_ALLOWED',
      `${refusing}: its folder ${dir} can be written by other users (mode ${octal(own.mode)}), so anyone could put a socket there. Make it private (chmod 700 ${dir}) and start the service again.`,
    );
  }
  const allowed = [0, ...owners];
  for (let above = path.dirname(dir); ; above = path.dirname(above)) {
    const info = await fs.lstat(above);
    if (!allowed.includes(info.uid)) {
      throw new AdminError(
        'NOT_ALLOWED',
        `${refusing}: ${above}, a folder above it, belongs to ${describeUser(info.uid)}, who could replace the socket. Move the mail root to a folder owned by root or ${describeOwners(owners)}.`,
      );
    }
    if ((info.mode & WRITABLE_BY_OTHERS) !== 0 && (info.mode & STICKY) === 0) {
      throw new AdminError(
        'NOT_ALLOWED',
        `${refusing}: ${above}, a folder above it, can be written by other users (mode ${octal(info.mode)}) and is not sticky, so they could replace the socket. Make it writable by its owner only (chmod go-w ${above}), or move the mail root.`,
      );
    }
    if (above === path.dirname(above)) return;
  }
}

/**
 * Checks a control socket and the folders above it before anything is sent
 * to it. Throws NOT_ALLOWED, naming the path, the owner found and what to do,
 * when something is there that a user outside `owners` could have put there.
 */
export async function checkControlSocket(address: string, owners: readonly number[]): Promise<SocketPlace> {
  const refusing = `Refusing to connect to the control socket ${address}`;
  const dir = path.dirname(address);
  let folder;
  try {
    folder = await fs.lstat(dir);
  } catch (err) {
    if (errnoOf(err) === 'EACCES') return { state: 'forbidden' };
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return { state: 'absent' };
    throw err;
  }
  if (folder.isSymbolicLink()) {
    const target = await fs.readlink(dir).catch(() => '?');
    throw new AdminError(
      'NOT_ALLOWED',
      `${refusing}: its folder ${dir} is a symbolic link (to ${target}) owned by ${describeUser(folder.uid)}; another user may have placed it to receive the service's requests. Remove it (rm ${dir}) and start the service again.`,
    );
  }
  // A file where the folder should be: no service can listen there (the store reports it for the mail root).
  if (!folder.isDirectory()) return { state: 'absent' };
  const real = await fs.realpath(dir);
  await checkFolderChain(real, owners, refusing);

  const socketPath = path.join(real, path.basename(address));
  let socket;
  try {
    socket = await fs.lstat(socketPath);
  } catch (err) {
    if (errnoOf(err) === 'EACCES') return { state: 'forbidden' };
    if (errnoOf(err) === 'ENOENT') return { state: 'absent' };
    throw err;
  }
  if (socket.isSymbolicLink()) {
    throw new AdminError('NOT_ALLOWED', `${refusing}: it is a symbolic link, which could lead anywhere. Remove it (rm ${socketPath}) and start the service again.`);
  }
  if (!socket.isSocket()) return { state: 'absent' };
  if (!owners.includes(socket.uid)) {
    throw new AdminError(
      'NOT_ALLOWED',
      `${refusing}: it belongs to ${describeUser(socket.uid)}, not to ${describeOwners(owners)}. Remove it (as root: rm ${socketPath}) and start the service again.`,
    );
  }
  return { state: 'present', address: socketPath, owner: socket.uid };
}
