/**
 * A private Dovecot instance on 127.0.0.1 serving the same store folders as
 * our service: `mail_location = maildir:<mailroot>/%d/%n`, users logging in
 * as user@domain, mail owned by `nobody`.
 *
 * Tuned as issue 13's anchor states, so nobody can tune the comparison away:
 * - "high-performance mode": `service pop3-login { service_count = 0;
 *   process_min_avail = 2 }`, `service pop3 { service_count = 100;
 *   process_min_avail = 4 }`;
 * - the auth cache on; `pop3_uidl_format = %f`; mail_fsync at its default
 *   (optimized); passwords SHA512-CRYPT (Dovecot's default scheme) for the
 *   anchor's users (`sha512CryptUser`), Argon2id for the older comparison.
 * Beyond the anchor, what Dovecot's documentation advises, in its favour:
 * - passwords in an SQL (SQLite) passdb: SQL is a "blocking" passdb, so
 *   lookups and password verification run in auth-worker processes on every
 *   CPU, and the auth cache applies (with a passwd-file passdb Dovecot 2.3
 *   verifies in its single auth process and never caches: passwd-file sets
 *   no cache key; `passdb: 'passwd-file'` shows that setup). Cached entries
 *   are verified in workers too (auth_cache_verify_password_with_worker):
 *   the cache keeps the looked-up hash, not the password, so every log-in
 *   still verifies it;
 * - pop3_no_flag_updates = yes: our service does not mark retrieved messages
 *   as seen either, so neither renames files during a session.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { NOBODY_GID, NOBODY_UID } from './fixture.js';
import { cpuSeconds, descendants, freePort, matchAutogroup, onCleanup, processName, rssBytes, sleep, tempDir } from './util.js';

export interface DovecotUser {
  readonly address: string;
  /** A Dovecot scheme-prefixed hash, e.g. `{ARGON2ID}$argon2id$…`. */
  readonly hash: string;
}

export interface DovecotInstance {
  readonly version: string;
  readonly pop3Port: number;
  readonly lmtpPort: number | null;
  readonly base: string;
  /** The master process id. */
  readonly pid: number;
  /** CPU seconds used so far by the master and all its children, by process name. */
  cpuByProcess(): Record<string, number>;
  /** Total RSS of the master and all its children. */
  rssTotal(): number;
  stop(): Promise<void>;
}

const SQL_DRIVER = '/usr/lib/dovecot/modules/auth/libdriver_sqlite.so';

/** Installs Dovecot from Debian when it is missing (and the LMTP server, the SQLite driver, when asked). */
export function ensureDovecot(lmtp = false, sql = false): void {
  const need: string[] = [];
  if (!existsSync('/usr/sbin/dovecot') || !existsSync('/usr/lib/dovecot/pop3')) need.push('dovecot-pop3d');
  if (lmtp && !existsSync('/usr/lib/dovecot/lmtp')) need.push('dovecot-lmtpd');
  if (sql && !existsSync(SQL_DRIVER) && !existsSync('/usr/lib/dovecot/modules/libdriver_sqlite.so')) need.push('dovecot-sqlite');
  if (need.length === 0) return;
  console.log(`installing ${need.join(' ')} from Debian…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let run = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...need], { stdio: 'inherit', env });
  if (run.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    run = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...need], { stdio: 'inherit', env });
  }
  if (run.status !== 0) throw new Error(`could not install ${need.join(' ')}; install it with apt-get and run again`);
  // The package starts the system instance; ours is private, so stop that one to keep the machine quiet.
  spawnSync('systemctl', ['stop', 'dovecot'], { stdio: 'ignore' });
}

export interface DovecotOptions {
  readonly mailroot: string;
  readonly users: readonly DovecotUser[];
  readonly lmtp?: boolean;
  /** Extra lines appended to the configuration. */
  readonly extra?: string;
  /** Where passwords are looked up: SQLite (default; hashing in auth workers) or a passwd-file (hashing in the one auth process). */
  readonly passdb?: 'sql' | 'passwd-file';
}

export async function startDovecot(options: DovecotOptions): Promise<DovecotInstance> {
  const passdb = options.passdb ?? 'sql';
  ensureDovecot(options.lmtp ?? false, passdb === 'sql');
  const version = execFileSync('dovecot', ['--version'], { encoding: 'utf8' }).trim();
  const base = await tempDir('dovecot');
  const pop3Port = await freePort();
  const lmtpPort = options.lmtp ? await freePort() : null;
  const usersFile = path.join(base, 'users');
  await fsp.writeFile(
    usersFile,
    options.users
      .map((u) => {
        const [name, domain] = u.address.split('@');
        return `${u.address}:${u.hash}:${NOBODY_UID}:${NOBODY_GID}::${path.join(options.mailroot, domain ?? '', name ?? '')}::\n`;
      })
      .join(''),
    { mode: 0o640 },
  );
  // The auth process runs as the dovecot user: it must reach and read the users file (and nobody else need).
  await fsp.chmod(base, 0o711);
  execFileSync('chown', ['root:dovecot', usersFile]);
  const sqlConf = path.join(base, 'sql.conf');
  if (passdb === 'sql') {
    const db = path.join(base, 'users.sqlite');
    const made = spawnSync(
      'python3',
      [
        '-c',
        'import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nc.execute("CREATE TABLE users (userid TEXT PRIMARY KEY, password TEXT NOT NULL)")\n' +
          'c.executemany("INSERT INTO users VALUES (?,?)", [l.rstrip("\\n").split("\\t") for l in sys.stdin])\nc.commit()',
        db,
      ],
      { input: options.users.map((u) => `${u.address}\t${u.hash}\n`).join(''), encoding: 'utf8' },
    );
    if (made.status !== 0) throw new Error(`could not make the SQLite passdb: ${made.stderr}`);
    execFileSync('chown', ['root:dovecot', db]);
    await fsp.chmod(db, 0o640);
    await fsp.writeFile(
      sqlConf,
      `driver = sqlite\nconnect = ${db}\npassword_query = SELECT userid AS user, password FROM users WHERE userid = '%u'\n`,
      { mode: 0o640 },
    );
    execFileSync('chown', ['root:dovecot', sqlConf]);
  }
  const config = `# private benchmark instance
protocols = pop3${options.lmtp ? ' lmtp' : ''}
listen = 127.0.0.1
base_dir = ${base}/run
state_dir = ${base}/state
log_path = ${base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:${options.mailroot}/%d/%n
pop3_no_flag_updates = yes
pop3_uidl_format = %f
auth_cache_size = 10M
auth_cache_ttl = 1 hour
auth_cache_verify_password_with_worker = yes
mail_max_userip_connections = 2000
default_client_limit = 4000
default_process_limit = 2000
passdb {
  driver = ${passdb === 'sql' ? 'sql' : 'passwd-file'}
  args = ${passdb === 'sql' ? sqlConf : usersFile}
}
userdb {
  driver = passwd-file
  args = ${usersFile}
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${pop3Port}
  }
  inet_listener pop3s {
    port = 0
  }
  service_count = 0
  process_min_avail = 2
}
service pop3 {
  service_count = 100
  process_min_avail = 4
}
${
  lmtpPort === null
    ? ''
    : `service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${lmtpPort}
  }
}
protocol lmtp {
  auth_username_format = %Lu
}
lmtp_save_to_detail_mailbox = no
`
}${options.extra ?? ''}
`;
  const configFile = path.join(base, 'dovecot.conf');
  await fsp.writeFile(configFile, config);
  // No pipes: the daemonised master would hold them open and a synchronous call would wait for it to end.
  const started = spawnSync('dovecot', ['-c', configFile], { stdio: 'ignore' });
  if (started.status !== 0) throw new Error(`dovecot -c ${configFile} failed (exit ${started.status}); see ${base}/dovecot.log`);
  const pidFile = path.join(base, 'run', 'master.pid');
  let pid = 0;
  for (let i = 0; i < 100 && pid === 0; i++) {
    await sleep(50);
    pid = Number((await fsp.readFile(pidFile, 'utf8').catch(() => '')).trim()) || 0;
  }
  if (pid === 0) throw new Error(`Dovecot did not start; see ${base}/dovecot.log`);
  // The master started its own session (setsid): put it on the same footing as the benchmark and pop3svc.
  matchAutogroup(pid);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    // The master ends its children and removes its pid file; then give the ports a moment.
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await sleep(50);
    await sleep(500);
  };
  onCleanup(stop);
  await waitForPort(pop3Port);
  return {
    version,
    pop3Port,
    lmtpPort,
    base,
    pid,
    cpuByProcess() {
      const out: Record<string, number> = {};
      // Ended children (pop3 processes that served their count, idle auth workers) are counted in the master's reaped time.
      out['master+ended'] = cpuSeconds(pid, true);
      for (const p of descendants(pid)) {
        const name = processName(p) || 'gone';
        out[name] = (out[name] ?? 0) + cpuSeconds(p);
      }
      return out;
    },
    rssTotal() {
      return [pid, ...descendants(pid)].reduce((sum, p) => sum + (rssBytes(p) ?? 0), 0);
    },
    stop,
  };
}

/** Dovecot-scheme hash strings for the users file. */
export const argonUser = (address: string, argonHash: string): DovecotUser => ({ address, hash: `{ARGON2ID}${argonHash}` });
export const sha512CryptUser = (address: string, cryptHash: string): DovecotUser => ({ address, hash: `{SHA512-CRYPT}${cryptHash}` });

/**
 * SHA512-CRYPT hashes (`$6$…`, 5000 rounds: what `doveadm pw -s SHA512-CRYPT`
 * makes) for the passwords, in order, from Python's crypt in one process.
 */
export function sha512CryptHashes(passwords: readonly string[]): string[] {
  const run = spawnSync(
    'python3',
    ['-W', 'ignore::DeprecationWarning', '-c', 'import crypt,sys\nfor l in sys.stdin: print(crypt.crypt(l.rstrip("\\n"), crypt.mksalt(crypt.METHOD_SHA512)))'],
    { input: passwords.map((p) => `${p}\n`).join(''), encoding: 'utf8' },
  );
  const hashes = run.status === 0 ? run.stdout.trim().split('\n') : [];
  if (hashes.length !== passwords.length || hashes.some((h) => !h.startsWith('$6$'))) {
    throw new Error(`SHA512-CRYPT hashing with python3's crypt failed: ${run.stderr || run.error?.message || 'wrong output'}`);
  }
  return hashes;
}

async function waitForPort(port: number): Promise<void> {
  const net = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createConnection({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`Dovecot is not listening on 127.0.0.1:${port}`);
}
