/**
 * What an administrator needs to know about a certificate: who it names, its
 * fingerprint (to compare with what a mail client shows) and how long it is
 * valid.
 */

import { X509Certificate } from 'node:crypto';
import type { CertificateInfo } from '../../../shared/contract.js';

/** `C=US\nO=Example\nCN=mail` (Node's form) as `C=US, O=Example, CN=mail`. */
function oneLine(name: string): string {
  return name
    .split('\n')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(', ');
}

function isoTime(text: string): string {
  const time = new Date(text);
  return Number.isNaN(time.getTime()) ? text : time.toISOString();
}

/** Describes a parsed certificate; `files` says where it and its key came from. */
export function describeCertificate(
  x509: X509Certificate,
  files: { readonly certFile: string; readonly keyFile: string; readonly generated: boolean },
): CertificateInfo {
  let selfSigned = false;
  try {
    // Not checkIssued: OpenSSL also wants the issuer to be a CA, which a self-signed server certificate is not.
    selfSigned = x509.subject === x509.issuer && x509.verify(x509.publicKey);
  } catch {
    selfSigned = false;
  }
  return {
    subject: oneLine(x509.subject),
    issuer: oneLine(x509.issuer),
    fingerprint256: x509.fingerprint256,
    validFrom: isoTime(x509.validFrom),
    validTo: isoTime(x509.validTo),
    altNames: (x509.subjectAltName ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
    selfSigned,
    generated: files.generated,
    certFile: files.certFile,
    keyFile: files.keyFile,
  };
}

/** Milliseconds until the certificate stops being valid (negative once expired). */
export function msUntilExpiry(x509: X509Certificate, now: number = Date.now()): number {
  return new Date(x509.validTo).getTime() - now;
}
