/**
 * TLS to another computer's admin endpoint, trusted by pinning as ssh does.
 *
 * Its certificate is mostly self-signed, so no authority vouches for it:
 * the admin confirms its SHA-256 fingerprint on first contact and the
 * console compares it at every connection after. The comparison happens on
 * the finished handshake, before a byte of the request (the password, the
 * cookie) is written, so an impostor learns nothing.
 */

import net from 'node:net';
import tls from 'node:tls';

/** A connection refused because the certificate is not the one expected. */
export class FingerprintMismatch extends Error {
  constructor(readonly offered: string) {
    super(`the computer offered a certificate with fingerprint ${offered}`);
  }
}

/** Resolves with the secure socket and the fingerprint the peer offered; with `expect`, only when they match. */
export function connectPinned(host: string, port: number, expect: string | null, timeoutMs: number): Promise<{ socket: tls.TLSSocket; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      // Trust comes from the pinned fingerprint, checked below, not from an authority.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      // SNI carries names only, never addresses.
      ...(net.isIP(host) === 0 ? { servername: host } : {}),
    });
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      if (typeof fingerprint !== 'string' || fingerprint === '') {
        socket.destroy();
        reject(new Error('the computer offered no certificate'));
      } else if (expect !== null && fingerprint !== expect) {
        socket.destroy();
        reject(new FingerprintMismatch(fingerprint));
      } else {
        resolve({ socket, fingerprint });
      }
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
