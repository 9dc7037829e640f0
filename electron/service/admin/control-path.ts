/**
 * Where the control channel of a mail root lives.
 *
 * Both the service and `winpop` derive the address from the mail root alone,
 * so a shell finds the running service without any other configuration.
 *
 * POSIX: `<mailroot>/.winpop/control.sock` when that fits in a socket
 * address and the mail root is on a local disk (on a network file system
 * the socket file could be another machine's service). Otherwise the socket
 * goes to a folder of the service's own user:
 * - root: `/run/winpop/` (`/var/run/winpop/` where there is no /run), which
 *   only root can create;
 * - a user with `$XDG_RUNTIME_DIR` (the private per-user folder systemd-logind
 *   makes): `$XDG_RUNTIME_DIR/winpop/`, which only that user can create;
 * - otherwise `<tmpdir>/winpop-<uid>/`. Anyone can create that name in the
 *   shared temp folder first, so the service and the client check who owns
 *   it (control-trust.ts): squatting it gets a clear refusal, never a
 *   conversation with the squatter.
 * The client cannot know the environment the service started in (a systemd
 * user unit has XDG_RUNTIME_DIR, cron has not; root's `winpop` may administer
 * a service that runs under its own account), so it looks in each place the
 * service may have chosen (`controlSocketCandidates`) and checks every one.
 *
 * Windows: a named pipe named after a hash of the mail root. A pipe has no
 * folder and no owner Node can read. libuv creates the first instance with
 * FILE_FLAG_FIRST_PIPE_INSTANCE, so a service whose name another process
 * took first does not start (it reports "already running"), but a client
 * cannot check who serves a pipe: Node exposes no
 * GetNamedPipeServerProcessId. On Windows the control channel is therefore
 * as trustworthy as the local users are.
 */

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONTROL_SOCKET, controlSocketFile, STATE_DIR } from '../store/layout.js';
import { onNetworkFileSystem } from '../store/network-fs.js';

/**
 * The longest Unix socket path we use: sun_path holds 108 bytes on Linux and
 * 104 on macOS and the BSDs, and a path that does not fit fails to bind.
 */
export const UNIX_SOCKET_PATH_MAX = 100;


function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** This process's user id; null where there is none (Windows). */
export function currentUid(): number | null {
  return typeof process.getuid === 'function' ? process.getuid() : null;
}

/** The system's folder for runtime state that only root may create in. */
function systemRunDir(): string {
  return fs.existsSync('/run') ? '/run' : '/var/run';
}

/** XDG_RUNTIME_DIR when set to an absolute path (the spec says to ignore anything else). */
function xdgRuntimeDir(env: NodeJS.ProcessEnv): string | null {
  const dir = env.XDG_RUNTIME_DIR;
  return dir && path.isAbsolute(dir) ? dir : null;
}

/**
 * `/run/winpop` that systemd made for the installed service's own user
 * (`RuntimeDirectory=winpop`, announced in $RUNTIME_DIRECTORY): its
 * PrivateTmp would hide the temp-folder fallback from root's `winpop`.
 */
function systemdRuntimeDir(env: NodeJS.ProcessEnv): string | null {
  const first = env.RUNTIME_DIRECTORY?.split(':')[0];
  const expected = path.join(systemRunDir(), 'winpop');
  return first !== undefined && path.resolve(first) === expected ? expected : null;
}

/** The per-user folder in the shared temp directory: the last resort, checked strictly. */
function tempSocketDir(uid: number): string {
  return path.join(os.tmpdir(), `winpop-${uid}`);
}

/**
 * The folder that holds this user's fallback sockets, when the mail root's
 * path is too long for the socket to live in it.
 */
export function fallbackSocketDir(uid: number | null = currentUid(), env: NodeJS.ProcessEnv = process.env): string {
  if (uid === null) return path.join(os.tmpdir(), 'winpop-user');
  if (uid === 0) return path.join(systemRunDir(), 'winpop');
  const systemd = systemdRuntimeDir(env);
  if (systemd) return systemd;
  const xdg = xdgRuntimeDir(env);
  return xdg ? path.join(xdg, 'winpop') : tempSocketDir(uid);
}

function inRootSocket(mailroot: string): string {
  return controlSocketFile(path.resolve(mailroot));
}

/**
 * Whether the socket goes into the mail root. Not on a network file system:
 * a socket file there may be another machine's service, which this
 * machine's kernel cannot reach, so a start here would take it for stale
 * and remove it (and could not listen there either).
 */
function fitsInRoot(mailroot: string): boolean {
  return Buffer.byteLength(inRootSocket(mailroot)) <= UNIX_SOCKET_PATH_MAX && !onNetworkFileSystem(path.resolve(mailroot));
}

function socketName(mailroot: string): string {
  return `${shortHash(path.resolve(mailroot))}.sock`;
}

/**
 * The control channel's address where this process would serve a mail root.
 *
 * POSIX: `<mailroot>/.winpop/control.sock`, or, when that path would not fit
 * in a socket address or the mail root is on a network file system,
 * `<fallbackSocketDir()>/<hash of the mail root>.sock`.
 * Windows: a named pipe named after a hash of the mail root (case-insensitive,
 * as Windows paths are).
 */
export function controlSocketPath(mailroot: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') {
    const resolved = path.win32.resolve(mailroot).toLowerCase();
    return `\\\\.\\pipe\\winpop-${shortHash(resolved)}`;
  }
  if (fitsInRoot(mailroot)) return inRootSocket(mailroot);
  return path.join(fallbackSocketDir(), socketName(mailroot));
}

/** A place a service for the mail root may listen, and which users may own it. */
export interface SocketCandidate {
  readonly address: string;
  /**
   * Who may own the socket and its folder: the folder of a fallback location
   * is named after, or private to, exactly one user.
   */
  readonly owners: readonly number[];
  /** Whether this is the socket inside the mail root's state folder. */
  readonly inRoot: boolean;
}

/**
 * Every place where a service of one of the trusted users may serve the mail
 * root, in the order a client looks: the mail root itself when its path is
 * short enough (a service always listens there then), else each user's
 * fallback folders.
 */
export function controlSocketCandidates(mailroot: string, trusted: readonly number[], env: NodeJS.ProcessEnv = process.env): SocketCandidate[] {
  if (fitsInRoot(mailroot)) return [{ address: inRootSocket(mailroot), owners: trusted, inRoot: true }];
  const name = socketName(mailroot);
  const self = currentUid();
  const found: SocketCandidate[] = [];
  const add = (dir: string, ...owners: number[]): void => {
    const address = path.join(dir, name);
    const known = found.findIndex((c) => c.address === address);
    if (known >= 0) found[known] = { ...found[known]!, owners: [...new Set([...found[known]!.owners, ...owners])] };
    else found.push({ address, owners, inRoot: false });
  };
  for (const uid of trusted) {
    // Another user's fallback folder is private to that user: only root could use a socket in it.
    if (uid !== self && self !== 0) continue;
    if (uid === 0) {
      add(path.join(systemRunDir(), 'winpop'), 0);
      continue;
    }
    const xdg = uid === self ? xdgRuntimeDir(env) : null;
    if (xdg) add(path.join(xdg, 'winpop'), uid);
    // The installed system service (pop3svc install): systemd's RuntimeDirectory, made for its user in
    // /run, where only root creates; root's own fallback is the same folder, so either may own it.
    add(path.join(systemRunDir(), 'winpop'), 0, uid);
    // Where systemd-logind puts XDG_RUNTIME_DIR: found even from a shell (cron, sudo) that lacks the variable.
    add(path.join(systemRunDir(), 'user', String(uid), 'winpop'), uid);
    add(tempSocketDir(uid), uid);
  }
  return found;
}

/** The mail root's state folder, when the address is the socket inside it. */
export function stateDirOfSocket(address: string): string | null {
  const dir = path.dirname(address);
  return path.basename(address) === CONTROL_SOCKET && path.basename(dir) === STATE_DIR ? dir : null;
}

/** True when the address is a Windows named pipe rather than a socket file. */
export function isNamedPipe(address: string): boolean {
  return address.startsWith('\\\\.\\pipe\\') || address.startsWith('\\\\?\\pipe\\');
}
