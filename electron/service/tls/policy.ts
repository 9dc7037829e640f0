/**
 * The one TLS policy of every TLS server the service runs (POP3S, POP3 STLS,
 * SMTP STARTTLS): TLS 1.2 or 1.3 only, and on TLS 1.2 only ECDHE key
 * exchange with AEAD ciphers.
 *
 * ECDHE gives forward secrecy: a key stolen later does not decrypt recorded
 * sessions, as it does with RSA key exchange (AES256-SHA, AES128-GCM-SHA256).
 * AEAD (GCM, ChaCha20-Poly1305) avoids the CBC padding-oracle family (Lucky
 * Thirteen and its kin). DHE is left out: it needs configured parameters,
 * and every client that has DHE has ECDHE. TLS 1.0 and 1.1 are refused (RFC
 * 8996). Every mail client of the last ten years speaks this.
 *
 * TLS 1.3 suites are all AEAD with forward secrecy; they are the ones the
 * running Node (or Electron) has by default, since Node switches TLS 1.3 off
 * when a cipher list names none of them.
 */

import { DEFAULT_CIPHERS, type SecureContextOptions } from 'node:tls';

/** TLS 1.2 suites, in the server's order of preference (Mozilla's "intermediate" list without DHE). */
const TLS12_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

const TLS13_SUITES = DEFAULT_CIPHERS.split(':').filter((suite) => suite.startsWith('TLS_'));

/** Options for `tls.createSecureContext` (and for smtp-server, which builds its own context from its options). */
export const TLS_POLICY: Readonly<Required<Pick<SecureContextOptions, 'minVersion' | 'ciphers' | 'honorCipherOrder'>>> = {
  minVersion: 'TLSv1.2',
  ciphers: [...TLS13_SUITES, ...TLS12_SUITES].join(':'),
  // The server's order decides: AES-GCM first, which servers run in hardware.
  honorCipherOrder: true,
};
