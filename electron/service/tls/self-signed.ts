/**
 * The self-signed certificate the service makes for itself when none is
 * configured, so that STLS, POP3S and STARTTLS work from the first start.
 *
 * It is made once, stored under `<mailroot>/.winpop/tls/` (the key readable
 * by the service only, each file written atomically) and reused at every
 * later start, so the fingerprint a user has accepted in a mail client stays
 * the same. It is replaced only when damaged, about to expire, or no longer
 * naming the computer.
 */

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { tlsDir } from '../store/layout.js';
import { generate } from 'selfsigned';
import type { Logger } from '../log.js';
import { ATOMIC_TEMP_PREFIX, writeFileAtomic } from '../store/atomic-file.js';
import { isCode, isProcessAlive, pidInName } from '../store/fs-util.js';
import { msUntilExpiry } from './certificate-info.js';
import type { HostIdentity } from './host-identity.js';

/** Apple's platforms refuse server certificates valid for longer, trusted by hand or not. */
const VALID_DAYS = 825;
/** Renewed this long before it expires, so clients never meet an expired one. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

export interface SelfSignedFiles {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Where the generated certificate and key live under a mail root. */
export function selfSignedFiles(mailroot: string): SelfSignedFiles {
  const dir = tlsDir(mailroot);
  return { dir, certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem') };
}

export interface SelfSigned {
  readonly key: string;
  readonly cert: string;
  readonly x509: X509Certificate;
  readonly files: SelfSignedFiles;
  /** True when made by this call; false when an earlier one was reused. */
  readonly created: boolean;
}

async function make(identity: HostIdentity, now: number): Promise<{ key: string; cert: string }> {
  const name = identity.names[0] ?? 'localhost';
  const pems = await generate([{ name: 'commonName', value: name.slice(0, 64) }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    // An hour back, so a client whose clock is a little behind still accepts it.
    notBeforeDate: new Date(now - 3600 * 1000),
    notAfterDate: new Date(now + VALID_DAYS * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...identity.names.map((value) => ({ type: 2 as const, value })), ...identity.addresses.map((ip) => ({ type: 7 as const, ip }))],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/** Why a stored pair cannot be reused, or null when it can. */
function problemWith(key: string, cert: string, now: number): { problem: string | null; x509?: X509Certificate } {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    return { problem: 'the certificate file is damaged' };
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) return { problem: 'the key does not belong to the certificate' };
  } catch {
    return { problem: 'the key file is damaged' };
  }
  if (msUntilExpiry(x509, now) < RENEW_BEFORE_MS) return { problem: `the certificate expires on ${new Date(x509.validTo).toISOString()}` };
  return { problem: null, x509 };
}

async function readIfThere(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return null;
    throw err;
  }
}

/** Temp files of a writer killed mid-write may hold a private key: they go. */
async function removeAbandonedTemps(dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    const pid = pidInName(name, ATOMIC_TEMP_PREFIX);
    if (pid !== null && !isProcessAlive(pid)) await fsp.rm(path.join(dir, name), { force: true });
  }
}

/**
 * The names of this computer a certificate does not carry. A renamed
 * computer gets a new certificate; a changed address only a warning (see
 * ensureSelfSigned).
 */
function uncovered(x509: X509Certificate, identity: HostIdentity): { names: string[]; addresses: string[] } {
  return {
    names: identity.names.filter((name) => x509.checkHost(name, { wildcards: false }) === undefined),
    addresses: identity.addresses.filter((address) => x509.checkIP(address) === undefined),
  };
}

/**
 * The self-signed pair of this mail root: the stored one when it is sound,
 * otherwise a new one naming this computer (`identity`: its names, localhost,
 * loopback and its network addresses). Throws with the folder's name when it
 * cannot be read or written.
 *
 * A stored certificate that does not carry one of the computer's names (it
 * was renamed) is made anew. One that lacks an address is kept, with a
 * warning: addresses change with every DHCP lease, and each new certificate
 * would make every user accept a new fingerprint.
 */
export async function ensureSelfSigned(mailroot: string, identity: HostIdentity, log: Logger, now: number = Date.now()): Promise<SelfSigned> {
  const files = selfSignedFiles(mailroot);
  await fsp.mkdir(files.dir, { recursive: true, mode: 0o700 });
  await removeAbandonedTemps(files.dir);

  const [key, cert] = await Promise.all([readIfThere(files.keyFile), readIfThere(files.certFile)]);
  if (key !== null && cert !== null) {
    const { problem: fault, x509 } = problemWith(key, cert, now);
    const missing = x509 === undefined ? null : uncovered(x509, identity);
    const problem = fault ?? (missing !== null && missing.names.length > 0 ? `it does not name this computer as ${missing.names.join(', ')}` : null);
    if (problem === null && x509 !== undefined) {
      if (missing !== null && missing.addresses.length > 0) {
        log.warn(
          `tls: the self-signed certificate does not name this computer's address ${missing.addresses.join(', ')}; a mail client that connects ` +
            `to it by that address is told the name does not match. Remove ${files.certFile} and restart the service for a new one ` +
            '(its fingerprint changes), or configure a certificate (winpop set certfile PATH, winpop set keyfile PATH).',
        );
      }
      await keepKeyPrivate(files.keyFile, log);
      return { key, cert, x509, files, created: false };
    }
    log.warn('tls: making a new self-signed certificate', { reason: problem, dir: files.dir });
  }

  const made = await make(identity, now);
  // Key first: a crash between the two writes leaves a pair that does not match, which is remade at the next start.
  await writeFileAtomic(files.keyFile, made.key, { mode: 0o600 });
  await writeFileAtomic(files.certFile, made.cert, { mode: 0o644 });
  return { ...made, x509: new X509Certificate(made.cert), files, created: true };
}

async function keepKeyPrivate(keyFile: string, log: Logger): Promise<void> {
  if (process.platform === 'win32') return;
  const { mode } = await fsp.stat(keyFile);
  if ((mode & 0o077) === 0) return;
  await fsp.chmod(keyFile, 0o600);
  log.warn('tls: the private key was readable by others; made it readable by the service only', { file: keyFile });
}
