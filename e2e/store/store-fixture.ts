/**
 * Shared set-up for the store tests: a real store in a fresh temp folder,
 * removed afterwards, and a logger that keeps what it was told.
 */

import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { LogFields, Logger } from '../../electron/service/log.js';
import { openMailStore } from '../../electron/service/store/index.js';
import type { MailStore } from '../../electron/service/store/types.js';

export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly fields?: LogFields;
}

/** A logger that records lines, for asserting that a problem was reported. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const push = (level: string) => (message: string, fields?: LogFields) => {
    lines.push(fields ? { level, message, fields } : { level, message });
  };
  return { lines, error: push('error'), warn: push('warn'), info: push('info'), debug: push('debug') };
}

/** A fresh temp folder for one test. */
export async function tempRoot(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'winpop-store-'));
}

export async function removeRoot(root: string): Promise<void> {
  await fsp.rm(root, { recursive: true, force: true });
}

/** Opens a store without fsync (tests need atomicity, not power-loss safety, and run faster). */
export async function open(root: string, log?: Logger): Promise<MailStore> {
  return openMailStore(root, { fsync: false, ...(log ? { log } : {}) });
}

/** A stream of the given pieces, each a separate chunk. */
export function streamOf(...pieces: (string | Buffer)[]): Readable {
  return Readable.from(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
}

/** Reads a whole stream into a buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** A store with one domain and mailboxes `bob` and `alice` (passwords `bob-secret`, `alice-secret`). */
export async function seededStore(root: string, log?: Logger): Promise<MailStore> {
  const store = await open(root, log);
  await store.addDomain('example.com');
  await store.addMailbox('bob@example.com', 'bob-secret');
  await store.addMailbox('alice@example.com', 'alice-secret');
  return store;
}
