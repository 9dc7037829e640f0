/**
 * Shared pieces of the TLS and authentication tests: the service's own TLS
 * set-up on a temporary mail root, a whole service started on free ports, a
 * logger that keeps its lines, and a certificate fingerprint as clients see it.
 */

import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { startService, type HostOptions, type ServiceHost } from '../../electron/service/host.js';
import { createLogger, silentLogger, type Logger } from '../../electron/service/log.js';
import { setUpTls, type TlsMaterial } from '../../electron/service/tls/setup.js';

/** A logger at the most detailed level whose lines the test can read. */
export function capturingLogger(): { log: Logger; lines: string[]; text(): string } {
  const lines: string[] = [];
  return { log: createLogger(() => 3, (line) => lines.push(line)), lines, text: () => lines.join('') };
}

/** The TLS material the service would use for a mail root with no certificate configured (a self-signed one). */
export async function selfSignedTls(mailroot: string): Promise<TlsMaterial> {
  const setup = await setUpTls({ certFile: null, keyFile: null, mailroot, hostName: 'pop3.test', log: silentLogger });
  if (setup.material === null) throw new Error(`TLS set-up failed: ${setup.status.error}`);
  return setup.material;
}

export interface TestHost {
  readonly host: ServiceHost;
  readonly dir: string;
  readonly mailroot: string;
  readonly configPath: string;
  readonly logs: ReturnType<typeof capturingLogger>;
  /** The PEM certificate the service presents (to trust it in a client). */
  readonly ca: string;
  stop(): Promise<void>;
}

/**
 * Starts the whole service on free loopback ports (POP3, SMTP, POP3S), no
 * control channel, logging into memory. `dir` reuses a folder (a restart).
 */
export async function startTestHost(options: { dir?: string; extra?: Partial<HostOptions> } = {}): Promise<TestHost> {
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'winpop-tls-')));
  const mailroot = path.join(dir, 'mail');
  const configPath = path.join(dir, 'config.json');
  const logs = capturingLogger();
  const host = await startService({ mailroot, configPath, pop3Port: 0, smtpPort: 0, pop3sPort: 0, control: false, log: logs.log, ...options.extra });
  const certificate = host.info().tls?.certificate;
  return {
    host,
    dir,
    mailroot,
    configPath,
    logs,
    ca: certificate ? await readFile(certificate.certFile, 'utf8') : '',
    stop: () => host.stop(),
  };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** The SHA-256 fingerprint of the certificate a TLS port presents, without trusting it. */
export async function presentedFingerprint(port: number): Promise<string> {
  const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return socket.getPeerCertificate().fingerprint256;
  } finally {
    socket.destroy();
  }
}

/** The SHA-256 fingerprint of a PEM certificate, in the form Server Properties shows. */
export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** The SHA-256 fingerprint of the certificate an SMTP port presents after STARTTLS, without trusting it. */
export async function starttlsFingerprint(port: number): Promise<string> {
  const plain = netConnect({ port, host: '127.0.0.1' });
  plain.on('error', () => undefined);
  /** What the server sent since the last step. */
  let seen = '';
  let closed = false;
  let wake = (): void => undefined;
  const onData = (chunk: Buffer): void => {
    seen += chunk.toString('latin1');
    wake();
  };
  plain.on('data', onData);
  plain.once('close', () => {
    closed = true;
    wake();
  });
  const waitFor = async (pattern: RegExp): Promise<void> => {
    while (!pattern.test(seen)) {
      if (closed) throw new Error(`SMTP closed; it said: ${seen}`);
      await new Promise<void>((resolve) => (wake = resolve));
    }
    seen = '';
  };
  try {
    await waitFor(/^220 .*\r\n/m);
    plain.write('EHLO client.example.org\r\n');
    await waitFor(/^250 .*\r\n/m);
    plain.write('STARTTLS\r\n');
    await waitFor(/^220 .*\r\n/m);
    plain.off('data', onData);
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    const fingerprint = secure.getPeerCertificate().fingerprint256;
    secure.destroy();
    return fingerprint;
  } finally {
    plain.destroy();
  }
}
