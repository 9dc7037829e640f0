/**
 * A real network file system for a test: a folder served by an OpenSSH
 * server of the test's own (its own config, host key and authorized key, on
 * a free port of 127.0.0.1) and mounted with sshfs (FUSE over SFTP).
 *
 * Like NFS it caches attributes and tells nobody of changes made on the
 * other side; what a store needs from it is given as mount options
 * (`SSHFS_STORE_OPTIONS`, the store README's "Several servers on one store").
 *
 * Unmounted (`fusermount -u`) and the server stopped at `close()`, and at
 * the test process's exit whatever happened before. Without /dev/fuse or a
 * program the tests are skipped with the reason (sshfsUnavailable), except
 * under CI=true, where that is a failure.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statfsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from './free-port.js';
import { run } from './processes.js';
import { tempDir, type TempDir } from './temp.js';
import { underCi, which } from './tools.js';

/** What a mail store on sshfs needs: no attribute, name or directory caching, so another machine's change is seen at the next look. */
export const SSHFS_STORE_OPTIONS = ['dir_cache=no', 'attr_timeout=0', 'entry_timeout=0', 'negative_timeout=0'] as const;

const SSHD = '/usr/sbin/sshd';
/** statfs type of a FUSE mount. */
const FUSE_TYPE = 0x65735546;

export interface SshfsMount {
  /** The mount point: `exported` as seen over the network file system. */
  readonly path: string;
  /** Unmounts, stops the server, removes the keys; safe to call twice. */
  close(): Promise<void>;
}

/** Cleanups still owed when the process exits (a test that threw before its after hook). */
const owed = new Set<() => void>();
process.once('exit', () => {
  for (const cleanup of owed) cleanup();
});

/**
 * Why the harness cannot run here (no /dev/fuse, a program missing), or
 * null when it can. Under CI=true that is a failure: it throws.
 */
export async function sshfsUnavailable(): Promise<string | null> {
  let why: string | null = null;
  if (!existsSync('/dev/fuse')) why = '/dev/fuse is missing (no FUSE here; a container needs --device /dev/fuse --cap-add SYS_ADMIN)';
  for (const [program, pkg] of [['sshfs', 'sshfs'], ['ssh-keygen', 'openssh-client'], ['fusermount', 'fuse3']] as const) {
    if (why === null && (await which(program)) === null) why = `${program} is not installed (apt-get install ${pkg})`;
  }
  if (why === null && !existsSync(SSHD)) why = `${SSHD} is not installed (apt-get install openssh-server)`;
  if (why !== null && underCi()) throw new Error(`${why}; under CI=true the network file system tests must run (.ci/setup installs sshfs and openssh-server), so this is a failure, not a skip.`);
  return why;
}

/** Mounts `exported` over sshfs with `options` (-o each); check sshfsUnavailable() first. */
export async function mountSshfs(exported: string, options: readonly string[] = SSHFS_STORE_OPTIONS): Promise<SshfsMount> {
  const dir = await tempDir('winpop-sshfs-');
  let sshd: ChildProcess | null = null;
  const mountPoint = path.join(dir.path, 'mnt');
  let mounted = false;
  const cleanupNow = (): void => {
    if (mounted) spawnSync('fusermount', ['-u', '-z', mountPoint]);
    mounted = false;
    if (sshd !== null && sshd.exitCode === null && sshd.signalCode === null) sshd.kill('SIGKILL');
  };
  owed.add(cleanupNow);
  try {
    mkdirSync(mountPoint);
    const hostKey = path.join(dir.path, 'host_key');
    const userKey = path.join(dir.path, 'user_key');
    for (const key of [hostKey, userKey]) {
      const made = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      if (made.code !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
    }
    const authorized = path.join(dir.path, 'authorized_keys');
    await writeFile(authorized, (await run('cat', [`${userKey}.pub`])).stdout);
    await chmod(authorized, 0o600);
    // sshd run by root refuses to start without its privilege separation folder (another user's needs none).
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });
    const port = await freePort();
    const config = path.join(dir.path, 'sshd_config');
    await writeFile(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${authorized}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        // The temp folder is the test's, not a home folder sshd would check.
        'StrictModes no',
        'UsePAM no',
        `PidFile ${path.join(dir.path, 'sshd.pid')}`,
        'Subsystem sftp internal-sftp',
        '',
      ].join('\n'),
    );
    sshd = await startSshd(config);
    const user = (await run('id', ['-un'])).stdout.trim();
    const args = ['-p', String(port), '-o', `IdentityFile=${userKey}`, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes'];
    for (const option of options) args.push('-o', option);
    const mount = await run('sshfs', [...args, `${user}@127.0.0.1:${exported}`, mountPoint], { timeoutMs: 20_000 });
    if (mount.code !== 0) throw new Error(`sshfs could not mount ${exported}: ${mount.stderr}`);
    mounted = true;
    if (statfsSync(mountPoint).type !== FUSE_TYPE) throw new Error(`sshfs reported success but ${mountPoint} is not a FUSE mount`);
  } catch (err) {
    cleanupNow();
    owed.delete(cleanupNow);
    await dir.remove();
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    path: mountPoint,
    close: () => (closing ??= closeMount(mountPoint, () => mounted, (m) => (mounted = m), sshd, dir).finally(() => owed.delete(cleanupNow))),
  };
}

/** Starts sshd in the foreground and waits until it listens. */
function startSshd(config: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sshd did not start listening:\n${err}`));
    }, 10_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      if (/Server listening on/.test(err)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with ${code}:\n${err}`));
    });
  });
}

async function closeMount(mountPoint: string, isMounted: () => boolean, setMounted: (m: boolean) => void, sshd: ChildProcess | null, dir: TempDir): Promise<void> {
  try {
    if (isMounted()) {
      // A file still open there (a killed service's) makes it busy for a moment: try again, then detach it.
      let done = false;
      for (let i = 0; i < 20 && !done; i++) {
        done = (await run('fusermount', ['-u', mountPoint])).code === 0;
        if (!done) await new Promise((r) => setTimeout(r, 100));
      }
      if (!done) await run('fusermount', ['-u', '-z', mountPoint]);
      setMounted(false);
    }
  } finally {
    if (sshd !== null && sshd.exitCode === null && sshd.signalCode === null) {
      const exited = new Promise((r) => sshd.once('exit', r));
      sshd.kill('SIGTERM');
      await exited;
    }
    await dir.remove();
  }
}
