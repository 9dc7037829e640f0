/**
 * The service's TLS: the configured certificate and key, or the self-signed
 * pair it makes for itself when none is configured.
 *
 * A bad configured file never stops the service: TLS is off, the error names
 * the file and the fix (in the log and in Server Properties), and plain POP3
 * and SMTP keep running.
 */

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { CertificateInfo, TlsStatus } from '../../../shared/contract.js';
import type { Logger } from '../log.js';
import { isCode } from '../store/fs-util.js';
import { describeCertificate, msUntilExpiry } from './certificate-info.js';
import { hostIdentity, type HostIdentity } from './host-identity.js';
import { TLS_POLICY } from './policy.js';
import { ensureSelfSigned } from './self-signed.js';

/** What the listeners need to speak TLS. */
export interface TlsMaterial {
  /** PEM texts, for libraries that build their own context (smtp-server); they must apply TLS_POLICY too. */
  readonly key: string;
  readonly cert: string;
  readonly context: SecureContext;
  readonly certificate: CertificateInfo;
}

export interface TlsSetup {
  /** Null when TLS is off; `status.error` says why. */
  readonly material: TlsMaterial | null;
  readonly status: TlsStatus;
}

export interface TlsOptions {
  /** The settings `tlsCertFile` and `tlsKeyFile`. */
  readonly certFile: string | null;
  readonly keyFile: string | null;
  readonly mailroot: string;
  /** The computer's name, first in the self-signed certificate. */
  readonly hostName: string;
  /** Every name and address the self-signed certificate names; found from `hostName` and the network interfaces unless given. */
  readonly identity?: HostIdentity;
  readonly log: Logger;
}

const CONSEQUENCE = 'Until then STLS, POP3S and STARTTLS are off; plain POP3 and SMTP keep running.';
const FIX =
  'Fix the file, or point the settings at the right ones (winpop set certfile PATH, winpop set keyfile PATH), then restart the service; ' +
  '"winpop set certfile none" and "winpop set keyfile none" go back to a self-signed certificate.';

/** Thrown inside this module with the sentence to show; caught in setUpTls. */
class TlsConfigError extends Error {}

function fail(problem: string): never {
  throw new TlsConfigError(`TLS is off: ${problem} ${FIX} ${CONSEQUENCE}`);
}

async function readConfigured(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (isCode(err, 'ENOENT')) fail(`the ${what} file ${file} does not exist.`);
    if (isCode(err, 'EACCES', 'EPERM')) fail(`the service may not read the ${what} file ${file} (permission denied).`);
    if (isCode(err, 'EISDIR')) fail(`the ${what} file ${file} is a folder, not a file.`);
    fail(`the ${what} file ${file} cannot be read (${(err as Error).message}).`);
  }
}

function parseCertificate(file: string, pem: string): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    fail(`the certificate file ${file} is not a PEM certificate (it should contain a line -----BEGIN CERTIFICATE-----).`);
  }
  try {
    return new X509Certificate(pem);
  } catch (err) {
    fail(`the certificate file ${file} is damaged (${(err as Error).message}).`);
  }
}

function parseKey(file: string, pem: string): KeyObject {
  if (pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || pem.includes('Proc-Type: 4,ENCRYPTED')) {
    fail(
      `the private key file ${file} is protected by a passphrase, which the service cannot type in; ` +
        `store it without one (openssl pkey -in ${file} -out NEW_FILE) and readable by the service only.`,
    );
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    fail(`the private key file ${file} is not a PEM private key (it should contain a line -----BEGIN PRIVATE KEY-----).`);
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    fail(`the private key file ${file} is damaged (${(err as Error).message}).`);
  }
}

function contextFor(key: string, cert: string, files: string): SecureContext {
  try {
    return createSecureContext({ key, cert, ...TLS_POLICY });
  } catch (err) {
    fail(`the certificate and key (${files}) cannot be used for TLS: ${(err as Error).message}.`);
  }
}

async function configured(certFile: string, keyFile: string, log: Logger): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([readConfigured(certFile, 'certificate'), readConfigured(keyFile, 'private key')]);
  const x509 = parseCertificate(certFile, cert);
  const keyObject = parseKey(keyFile, key);
  if (!x509.checkPrivateKey(keyObject)) {
    fail(`the private key ${keyFile} does not belong to the certificate ${certFile}.`);
  }
  const context = contextFor(key, cert, `${certFile}, ${keyFile}`);
  const certificate = describeCertificate(x509, { certFile, keyFile, generated: false });
  if (msUntilExpiry(x509) <= 0) {
    log.error(`tls: the certificate ${certFile} expired on ${certificate.validTo}; mail clients will refuse it. Renew it and restart the service.`);
  }
  log.info('tls: using the configured certificate', { subject: certificate.subject, fingerprint: certificate.fingerprint256, validTo: certificate.validTo });
  return { key, cert, context, certificate };
}

async function selfSigned(options: TlsOptions): Promise<TlsMaterial> {
  let made;
  try {
    made = await ensureSelfSigned(options.mailroot, options.identity ?? hostIdentity(options.hostName), options.log);
  } catch (err) {
    throw new TlsConfigError(
      `TLS is off: no certificate is configured and a self-signed one could not be stored under ${options.mailroot} (${(err as Error).message}). ` +
        `Make that folder writable by the service, or configure a certificate (winpop set certfile PATH, winpop set keyfile PATH) and restart the service. ${CONSEQUENCE}`,
    );
  }
  const context = contextFor(made.key, made.cert, `${made.files.certFile}, ${made.files.keyFile}`);
  const certificate = describeCertificate(made.x509, { certFile: made.files.certFile, keyFile: made.files.keyFile, generated: true });
  options.log.warn(
    `tls: using a self-signed certificate ${made.created ? 'made now' : 'made earlier'} for ${certificate.subject}; ` +
      'mail clients will warn about it until their users trust it. For a certificate they trust, configure tlsCertFile/tlsKeyFile ' +
      '(winpop set certfile PATH, winpop set keyfile PATH) and restart the service.',
    { file: made.files.certFile, fingerprint: certificate.fingerprint256, validTo: certificate.validTo },
  );
  return { key: made.key, cert: made.cert, context, certificate };
}

/** Loads or makes the certificate; never throws: a problem becomes `status.error` and an error in the log. */
export async function setUpTls(options: TlsOptions): Promise<TlsSetup> {
  const { certFile, keyFile, log } = options;
  try {
    let material: TlsMaterial;
    if (certFile === null && keyFile === null) material = await selfSigned(options);
    else if (certFile === null) fail(`tlsKeyFile is set (${keyFile}) but tlsCertFile is not; set both (winpop set certfile PATH).`);
    else if (keyFile === null) fail(`tlsCertFile is set (${certFile}) but tlsKeyFile is not; set both (winpop set keyfile PATH).`);
    else material = await configured(certFile, keyFile, log);
    return { material, status: { certificate: material.certificate } };
  } catch (err) {
    const error = err instanceof TlsConfigError ? err.message : `TLS is off: ${(err as Error).message} ${CONSEQUENCE}`;
    log.error(error);
    return { material: null, status: { certificate: null, error } };
  }
}
