/**
 * `pop3svc install`, `uninstall` and `status` on Linux: the service as a
 * systemd unit, run by its own unprivileged user that owns the mail root.
 *
 * install checks everything it can before it changes anything (root, where
 * the program lies, the mail root, an edited unit), then makes the user,
 * the config folder and the mail root theirs, writes the unit and, where
 * systemd runs, enables and starts it. Run again, it changes only what
 * differs. uninstall stops and removes the unit and nothing else: the mail
 * root, the config and the user stay.
 */

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, saveConfig } from '../config.js';
import { UNIX_SOCKET_PATH_MAX } from '../admin/control-path.js';
import { connectControl } from '../admin/control-client.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { controlSocketFile } from '../store/layout.js';
import { systemdUnit, UNIT_NAME, unitAsWritten, unitFileState } from './systemd-unit.js';

/** Where a system install keeps its config and mail, as root's pop3svc and winpop do by default. */
export const SYSTEM_CONFIG = '/etc/winpop/config.json';
export const SYSTEM_MAILROOT = '/var/lib/winpop/mailroot';
export const SYSTEM_UNIT_DIR = '/etc/systemd/system';

/** A refusal: what is wrong and what to do; nothing was changed. */
export class InstallError extends Error {}

export interface LinuxServiceOptions {
  readonly user: string;
  readonly configFile: string;
  /** The mail root to use; the config's (or SYSTEM_MAILROOT) when absent. */
  readonly mailroot?: string;
  readonly unitDir: string;
  /** Replace a unit the administrator edited (kept beside it as .bak). */
  readonly force: boolean;
  readonly node: string;
  readonly program: string;
  /** Where progress lines go. */
  readonly say: (line: string) => void;
}

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      resolve({ code, stdout: String(stdout).trim(), stderr: String(stderr).trim() || (err && code === 127 ? err.message : '') });
    });
  });
}

async function mustRun(command: string, args: readonly string[]): Promise<Ran> {
  const result = await run(command, args);
  if (result.code !== 0) throw new InstallError(`${command} ${args.join(' ')} failed (exit ${result.code}): ${result.stderr || result.stdout}`);
  return result;
}

/** systemd is the init system now (sd_booted(3)): only then can systemctl start anything. */
export function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new InstallError(
      `pop3svc ${what} must run as root: it manages the user the service runs as, the unit in ${SYSTEM_UNIT_DIR} and who owns the mail root. Run it with sudo: sudo pop3svc ${what}`,
    );
  }
}

/** The user's uid and gid, or null when there is no such user. */
async function lookupUser(name: string): Promise<{ uid: number; gid: number } | null> {
  const uid = await run('id', ['-u', name]);
  if (uid.code !== 0) return null;
  const gid = await run('id', ['-g', name]);
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

function nologinShell(): string {
  return ['/usr/sbin/nologin', '/sbin/nologin'].find((p) => existsSync(p)) ?? '/bin/false';
}

const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Folders that must never be handed to the service's user as its config folder. */
const SYSTEM_FOLDERS = new Set(['/', '/etc', '/usr', '/var', '/var/lib', '/opt', '/srv', '/run', '/tmp', '/home', '/root', '/bin', '/sbin', '/lib']);

/** ProtectHome=yes hides these from the service: a program inside them could not start. */
const HIDDEN_BY_PROTECT_HOME = ['/home', '/root', '/run/user'];

function under(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

interface Plan {
  readonly configFile: string;
  readonly configDir: string;
  readonly mailroot: string;
  readonly unitFile: string;
  readonly unit: string;
}

async function plan(o: LinuxServiceOptions): Promise<Plan> {
  if (!USER_NAME.test(o.user)) throw new InstallError(`--user "${o.user}" is not a user name useradd accepts: lower-case letters, digits, _ and -, starting with a letter or _.`);
  for (const [what, p] of [['node', o.node], ['pop3svc', o.program]] as const) {
    const hidden = HIDDEN_BY_PROTECT_HOME.find((dir) => under(p, dir));
    if (hidden) {
      throw new InstallError(
        `${what} is at ${p}, under ${hidden}, which the service cannot see (its unit sets ProtectHome=yes) and its user cannot read. Install the program outside home folders (the deb, or npm install -g as root into /usr/local), then run pop3svc install from there.`,
      );
    }
  }
  const configFile = path.resolve(o.configFile);
  const configDir = path.dirname(configFile);
  if (SYSTEM_FOLDERS.has(configDir)) {
    throw new InstallError(`The config file ${configFile} must be in a folder of its own (like ${path.dirname(SYSTEM_CONFIG)}): pop3svc install hands that folder to the service's user, and ${configDir} is a system folder.`);
  }
  let mailroot: string;
  try {
    mailroot = path.resolve(o.mailroot ?? (existsSync(configFile) ? (await loadConfig(configFile)).mailroot : SYSTEM_MAILROOT));
  } catch (err) {
    throw new InstallError((err as Error).message);
  }
  for (const [what, p] of [['The mail root', mailroot], ['The config file', configFile]] as const) {
    const hidden = HIDDEN_BY_PROTECT_HOME.find((dir) => under(p, dir));
    if (hidden) throw new InstallError(`${what} ${p} is under ${hidden}, which the service cannot see (its unit sets ProtectHome=yes). Choose a place outside home folders, like ${what === 'The mail root' ? SYSTEM_MAILROOT : SYSTEM_CONFIG}.`);
  }
  if (SYSTEM_FOLDERS.has(mailroot)) throw new InstallError(`The mail root ${mailroot} is a system folder; give the store a folder of its own, like ${SYSTEM_MAILROOT}.`);
  const socket = controlSocketFile(mailroot);
  if (Buffer.byteLength(socket) > UNIX_SOCKET_PATH_MAX) {
    // The fallback folders (/tmp/winpop-<uid>) are out of root's reach under PrivateTmp, so the socket must be in the mail root.
    throw new InstallError(
      `The mail root's path is too long for its control socket (${socket}, ${Buffer.byteLength(socket)} bytes; at most ${UNIX_SOCKET_PATH_MAX}). A system service keeps the socket in the mail root, where root and the service's user find it; choose a shorter path with --mailroot.`,
    );
  }
  const unitFile = path.join(o.unitDir, UNIT_NAME);
  const unit = systemdUnit({ user: o.user, node: o.node, program: o.program, configFile, mailroot });
  return { configFile, configDir, mailroot, unitFile, unit };
}

async function readIfThere(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The mail root the config file names in so many words; null when it names none (or there is no file). */
async function namedMailroot(configFile: string): Promise<string | null> {
  const text = await readIfThere(configFile);
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as { mailroot?: unknown };
    return typeof parsed.mailroot === 'string' ? parsed.mailroot : null;
  } catch {
    return null;
  }
}

/** useradd, tried again for a while when another program holds /etc/passwd's lock (it refuses at once, "cannot lock"). */
async function withPasswdLock(args: readonly string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const result = await run('useradd', args);
    if (result.code === 0) return;
    if (attempt >= 20 || !/lock/i.test(result.stderr)) throw new InstallError(`useradd ${args.join(' ')} failed (exit ${result.code}): ${result.stderr || result.stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
  }
}

async function ensureUser(name: string, say: (line: string) => void): Promise<{ uid: number; gid: number }> {
  const found = await lookupUser(name);
  if (found) {
    if (found.uid === 0) throw new InstallError(`The user ${name} is root (uid 0); the service needs an unprivileged user. Give another with --user.`);
    say(`user ${name} exists (uid ${found.uid})`);
    return found;
  }
  await withPasswdLock(['--system', '--user-group', '--home-dir', '/nonexistent', '--no-create-home', '--shell', nologinShell(), '--comment', 'POP3 Service', name]);
  const made = await lookupUser(name);
  if (!made) throw new InstallError(`useradd reported success but there is no user ${name}.`);
  say(`created system user ${name} (uid ${made.uid}), without a home folder or a log-in shell`);
  return made;
}

/** Installs (or brings up to date) the unit, the user and the folders it needs. */
export async function installLinux(o: LinuxServiceOptions): Promise<void> {
  requireRoot('install');
  const p = await plan(o);
  const existing = await readIfThere(p.unitFile);
  const state = existing === null ? null : unitFileState(existing, p.unit);
  if (state === 'edited' && !o.force) {
    throw new InstallError(
      `${p.unitFile} was changed since pop3svc wrote it (or pop3svc did not write it), so it is left as it is and nothing was installed. Keep local changes in a drop-in (systemctl edit winpop); to replace the file with pop3svc's, run pop3svc install --force (your file is kept as ${p.unitFile}.bak).`,
    );
  }

  const ids = await ensureUser(o.user, o.say);

  await fs.mkdir(p.configDir, { recursive: true, mode: 0o750 });
  // The file must name the mail root itself: a default is worked out per user, and the service's user would get its own.
  if ((await namedMailroot(p.configFile)) !== p.mailroot) {
    await saveConfig(p.configFile, { ...(await loadConfig(p.configFile)), mailroot: p.mailroot });
    o.say(`config ${p.configFile}: mailroot ${p.mailroot}`);
  }
  // The service saves the config (winpop set) by writing a new file beside it: it needs the folder.
  await mustRun('chown', ['-R', '-h', `${ids.uid}:${ids.gid}`, p.configDir]);
  await fs.chmod(p.configDir, 0o750);

  const fresh = !existsSync(p.mailroot);
  await fs.mkdir(p.mailroot, { recursive: true, mode: 0o700 });
  // Files root made in the store while no service ran (winpop as root) become the service's too.
  await mustRun('chown', ['-R', '-h', `${ids.uid}:${ids.gid}`, p.mailroot]);
  o.say(`mail root ${p.mailroot}${fresh ? ' created,' : ''} owned by ${o.user}`);

  if (state === 'same') {
    o.say(`unit ${p.unitFile} is up to date`);
  } else {
    if (state === 'edited' && existing !== null) {
      await writeFileAtomic(`${p.unitFile}.bak`, existing, { mode: 0o644 });
      o.say(`your edited unit was kept as ${p.unitFile}.bak`);
    }
    await fs.mkdir(o.unitDir, { recursive: true });
    await writeFileAtomic(p.unitFile, p.unit, { mode: 0o644 });
    o.say(`unit ${p.unitFile} ${existing === null ? 'written' : 'replaced'}`);
  }

  if (!systemdRunning()) {
    o.say(`systemd is not running on this computer, so the service was not started; where systemd runs: systemctl enable --now ${UNIT_NAME}`);
    return;
  }
  await mustRun('systemctl', ['daemon-reload']);
  await mustRun('systemctl', ['enable', UNIT_NAME]);
  // restart, not start: a unit that was running picks up a changed unit file.
  const started = await run('systemctl', ['restart', UNIT_NAME]);
  if (started.code !== 0) {
    throw new InstallError(`${UNIT_NAME} is installed and enabled but did not start: ${started.stderr || `exit ${started.code}`}. journalctl -u winpop says why (a port in use, say); then systemctl restart winpop.`);
  }
  o.say(`${UNIT_NAME} enabled and started; systemctl status winpop and journalctl -u winpop show it`);
}

/** Stops and removes the unit; the mail root, the config and the user stay. */
export async function uninstallLinux(o: LinuxServiceOptions): Promise<void> {
  requireRoot('uninstall');
  const unitFile = path.join(o.unitDir, UNIT_NAME);
  if (systemdRunning()) {
    // Not an error when it was never enabled or is not loaded: the aim is that it is gone.
    const stopped = await run('systemctl', ['disable', '--now', UNIT_NAME]);
    if (stopped.code === 0) o.say(`${UNIT_NAME} stopped and disabled`);
  }
  const existing = await readIfThere(unitFile);
  if (existing === null) {
    o.say(`no unit at ${unitFile}`);
  } else {
    await fs.rm(unitFile, { force: true });
    const edited = !unitAsWritten(existing);
    o.say(`unit ${unitFile} removed${edited ? ' (it had been changed by hand; drop-ins in winpop.service.d stay)' : ''}`);
  }
  if (systemdRunning()) await mustRun('systemctl', ['daemon-reload']);
  let mailroot = SYSTEM_MAILROOT;
  try {
    mailroot = o.mailroot ?? (existsSync(o.configFile) ? (await loadConfig(o.configFile)).mailroot : SYSTEM_MAILROOT);
  } catch {
    // A damaged config names no mail root: the message below names the usual one.
  }
  o.say(`left in place: the mail root ${mailroot}, the config ${o.configFile} and the user ${o.user} (remove them yourself if they are no longer wanted: rm -r ${mailroot}; userdel ${o.user})`);
}

/** Exit codes as LSB init scripts' status: running, installed but not running, not installed. */
export const STATUS_RUNNING = 0;
export const STATUS_STOPPED = 3;
export const STATUS_NOT_INSTALLED = 4;

/** Prints what is installed and whether it runs; the exit code says which. */
export async function statusLinux(o: LinuxServiceOptions): Promise<number> {
  const unitFile = path.join(o.unitDir, UNIT_NAME);
  const existing = await readIfThere(unitFile);
  const user = await lookupUser(o.user);
  o.say(`unit: ${existing === null ? `not installed (${unitFile})` : unitFile}`);
  o.say(`user: ${user ? `${o.user} (uid ${user.uid})` : `${o.user} does not exist`}`);
  let mailroot = o.mailroot ?? SYSTEM_MAILROOT;
  try {
    if (!o.mailroot && existsSync(o.configFile)) mailroot = (await loadConfig(o.configFile)).mailroot;
  } catch (err) {
    o.say(`config: ${(err as Error).message}`);
  }
  o.say(`config: ${o.configFile}`);
  o.say(`mail root: ${mailroot}`);
  let active = false;
  if (systemdRunning()) {
    const enabled = await run('systemctl', ['is-enabled', UNIT_NAME]);
    const state = await run('systemctl', ['is-active', UNIT_NAME]);
    active = state.stdout === 'active';
    o.say(`systemd: ${enabled.stdout || 'unknown'}, ${state.stdout || 'unknown'}`);
  } else {
    o.say('systemd: not running on this computer');
  }
  try {
    const client = await connectControl(mailroot, 'pop3svc status');
    o.say(`control channel: ${client ? `answering at ${client.address}` : 'no service answers'}`);
    if (client) active = true;
    client?.close();
  } catch (err) {
    o.say(`control channel: ${(err as Error).message}`);
  }
  if (existing === null) return STATUS_NOT_INSTALLED;
  return active ? STATUS_RUNNING : STATUS_STOPPED;
}
