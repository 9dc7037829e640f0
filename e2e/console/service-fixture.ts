/**
 * Starts the real POP3 service for one test: a fresh mail root and config
 * file in a temp folder, POP3 and SMTP on ephemeral ports of 127.0.0.1, the
 * control channel on (so `winpop` reaches it), the log in the test's output.
 */

import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ServiceHost } from '../../electron/service/host.js';

type HostModule = typeof import('../../electron/service/host.js');
type LogModule = typeof import('../../electron/service/log.js');

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A compiled module of the project (the service, as the Electron main process and pop3svc run it). */
export async function importBuilt<T>(relative: string): Promise<T> {
  const file = path.join(REPO_ROOT, 'dist', relative);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: compile the service first with "npx tsc -p ." (the test script does this).`);
  }
  return (await import(pathToFileURL(file).href)) as T;
}

export interface RunningService {
  readonly host: ServiceHost;
  readonly mailroot: string;
  readonly configPath: string;
  /** The POP3 port (the one it tried, when `pop3Port` was given and taken). */
  readonly pop3Port: number;
  readonly smtpPort: number;
}

export interface TestServiceOptions {
  /** Fills the mail root before the service opens it. */
  readonly prepare?: PrepareMailroot;
  /** A fixed POP3 port to try (to see how a taken port is reported); ephemeral otherwise. */
  readonly pop3Port?: number;
  /** The listen addresses; 127.0.0.1 only unless given. */
  readonly listen?: readonly string[];
}

/** Fills a mail root before the service opens it (a big domain written straight to disk). */
export type PrepareMailroot = (mailroot: string) => Promise<void>;

/**
 * Writes a domain of `count` mailboxes (user000000…, every tenth locked,
 * 0–3 messages each) straight into the store's layout, with the
 * benchmark's builder: hashing 100,000 passwords through the API would
 * take hours.
 */
export function bigDomain(domain: string, count: number): PrepareMailroot {
  return async (mailroot) => {
    type Bench = { makeBigDomain(root: string, domain: string, count: number): Promise<void> };
    const { makeBigDomain } = await importBuilt<Bench>('bench/make-big-domain.js');
    await makeBigDomain(mailroot, domain, count);
  };
}

/** Starts a service in a new temp folder; `stop` stops it and removes the folder. */
export async function startTestService(logFile: string, options: TestServiceOptions = {}): Promise<RunningService & { stop(): Promise<void> }> {
  const { prepare } = options;
  const { startService } = await importBuilt<HostModule>('electron/service/host.js');
  const { createLogger } = await importBuilt<LogModule>('electron/service/log.js');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'winpop-console-'));
  const mailroot = path.join(dir, 'mail');
  const configPath = path.join(dir, 'winpop.json');
  if (prepare) await prepare(mailroot);
  const logStream = createWriteStream(logFile);
  const host = await startService({
    mailroot,
    configPath,
    pop3Port: options.pop3Port ?? 0,
    smtpPort: 0,
    pop3sPort: 0,
    listen: options.listen ?? ['127.0.0.1'],
    log: createLogger(() => 3, (line) => logStream.write(line)),
  });
  if ((host.pop3Port === null && options.pop3Port === undefined) || host.smtpPort === null) {
    await host.stop();
    throw new Error(`The service's listeners did not start: ${JSON.stringify(host.info().listeners)}`);
  }
  return {
    host,
    mailroot,
    configPath,
    pop3Port: host.pop3Port ?? options.pop3Port ?? 0,
    smtpPort: host.smtpPort,
    async stop() {
      await host.stop();
      await new Promise<void>((resolve) => logStream.end(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
