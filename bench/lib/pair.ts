/**
 * Both servers on one store: our pop3svc and a private Dovecot, serving the
 * same Maildir files, with log-ins of comparable cost (see fixture.ts).
 */

import { randomBytes, scryptSync } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { SettingsPatch } from '../../shared/contract.js';
import { argonUser, sha512CryptHashes, sha512CryptUser, startDovecot, type DovecotInstance, type DovecotUser } from './dovecot.js';
import { addUsers, argon2idHashes, calibrateSchemes, handToNobody, openSetupStore, type BenchUser, type SchemeCalibration } from './fixture.js';
import { startOurs, type OurService } from './ours.js';
import { cpuSeconds, descendants, tempDir } from './util.js';

export interface UserGroup {
  readonly domain: string;
  readonly prefix: string;
  readonly count: number;
  readonly messages?: readonly Buffer[];
  /**
   * Light log-in: both sides get a hash of the same family at a trivial cost
   * (scrypt N=16 / Argon2id 16 KiB, t=1), to show the rest of the session's
   * cost apart from the password check. Not the comparison.
   */
  readonly light?: boolean;
  /**
   * Issue 13's anchor: our mailboxes keep the store's own scrypt hash (the
   * service's verified-credential cache answers repeat log-ins), Dovecot's
   * users get SHA512-CRYPT, its default scheme (its auth cache is on).
   */
  readonly anchor?: boolean;
}

export interface Pair {
  readonly ours: OurService;
  /** Absent when started with `dovecot: false`. */
  readonly dovecot: DovecotInstance;
  readonly mailroot: string;
  readonly calibration: SchemeCalibration;
  readonly groups: Map<string, BenchUser[]>;
  oursCpu(): number;
  dovecotCpu(): number;
}

export interface PairOptions {
  readonly groups: readonly UserGroup[];
  readonly oursSettings?: SettingsPatch;
  readonly lmtp?: boolean;
  readonly nodeArgs?: readonly string[];
  readonly dovecotExtra?: string;
  /** Do not start our service (the caller starts it, e.g. with its own settings). */
  readonly withoutOurs?: boolean;
  /** Start Dovecot too (default true); the lock benchmarks have nothing to compare with. */
  readonly dovecot?: boolean;
  /** Dovecot's passdb (see dovecot.ts): `sql` (default) or `passwd-file`. */
  readonly dovecotPassdb?: 'sql' | 'passwd-file';
}

const LIGHT_SCRYPT_LOG_N = 4;
const LIGHT_ARGON_MEM_KIB = 16;

/** A light scrypt hash in the store's own `$scrypt$ln=…` format (the store reads the cost from the string). */
export function lightScryptHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFC'), salt, 32, { N: 2 ** LIGHT_SCRYPT_LOG_N, r: 8, p: 1 });
  const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${LIGHT_SCRYPT_LOG_N},r=8,p=1$${b64(salt)}$${b64(key)}`;
}

export async function setupPair(options: PairOptions): Promise<Pair> {
  const calibration: SchemeCalibration = options.groups.some((g) => !g.light && !g.anchor) && options.dovecot !== false
    ? await calibrateSchemes()
    : { ours: 'light only', oursVerifyMs: 0, dovecot: 'light only', dovecotVerifyMs: 0, argonMemKiB: LIGHT_ARGON_MEM_KIB, argonT: 1 };
  if (calibration.oursVerifyMs > 0) {
    console.log(
      `log-in cost: ours ${calibration.ours} verify ${calibration.oursVerifyMs.toFixed(0)} ms CPU; ` +
        `Dovecot ${calibration.dovecot} verify ${calibration.dovecotVerifyMs.toFixed(0)} ms CPU`,
    );
  }
  const mailroot = path.join(await tempDir('mail'), 'mailroot');
  const store = await openSetupStore(mailroot);
  const groups = new Map<string, BenchUser[]>();
  const dovecotUsers: DovecotUser[] = [];
  for (const g of options.groups) {
    const started = Date.now();
    const users = await addUsers(store, g.domain, g.prefix, g.count, g.messages ?? []);
    groups.set(g.prefix, users);
    if (g.light) {
      for (const u of users) {
        const [name, domain] = u.address.split('@') as [string, string];
        const file = path.join(mailroot, domain, name, '.winpop-mailbox.json');
        const meta = JSON.parse(await fsp.readFile(file, 'utf8')) as { password: string };
        meta.password = lightScryptHash(u.password);
        await fsp.writeFile(file, JSON.stringify(meta));
      }
    }
    const hashes = options.dovecot === false
      ? []
      : g.anchor
      ? sha512CryptHashes(users.map((u) => u.password))
      : g.light
      ? argon2idHashes(users.map((u) => u.password), LIGHT_ARGON_MEM_KIB, 1)
      : argon2idHashes(users.map((u) => u.password), calibration.argonMemKiB, calibration.argonT);
    if (options.dovecot !== false) users.forEach((u, i) => dovecotUsers.push((g.anchor ? sha512CryptUser : argonUser)(u.address, hashes[i] as string)));
    const kind = g.anchor ? ' (anchor: Dovecot SHA512-CRYPT)' : g.light ? ' (light log-in)' : '';
    console.log(`set up ${g.count} mailboxes ${g.prefix}N@${g.domain}${kind} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const dovecot =
    options.dovecot === false
      ? (undefined as unknown as DovecotInstance)
      : (await handToNobody(mailroot),
        await startDovecot({
          mailroot,
          users: dovecotUsers,
          ...(options.lmtp ? { lmtp: true } : {}),
          ...(options.dovecotExtra ? { extra: options.dovecotExtra } : {}),
          ...(options.dovecotPassdb ? { passdb: options.dovecotPassdb } : {}),
        }));
  const ours = options.withoutOurs
    ? (undefined as unknown as OurService)
    : await startOurs({ mailroot, ...(options.oursSettings ? { settings: options.oursSettings } : {}), ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}) });
  if (dovecot) console.log(`Dovecot ${dovecot.version} on 127.0.0.1:${dovecot.pop3Port}`);
  if (ours) console.log(`pop3svc pid ${ours.pid} on 127.0.0.1:${ours.pop3Port} (SMTP ${ours.smtpPort})`);
  return {
    ours,
    dovecot,
    mailroot,
    calibration,
    groups,
    // pop3svc and any worker processes it runs (the workers setting), live or ended.
    oursCpu: () => (ours ? cpuSeconds(ours.pid, true) + descendants(ours.pid).reduce((sum, p) => sum + cpuSeconds(p), 0) : 0),
    dovecotCpu: () => (dovecot ? Object.values(dovecot.cpuByProcess()).reduce((a, b) => a + b, 0) : 0),
  };
}
