/**
 * The remembered computers, kept in the console's user-data folder.
 *
 * One JSON file, replaced whole (written beside, then renamed over), so a
 * crash leaves the old list or the new one, never half of either. A saved
 * credential is stored only as the operating system's key store encrypted
 * it (Electron safeStorage, base64); never a password in plain text.
 */

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { COMPUTER_ID_PATTERN, FINGERPRINT_PATTERN, hostProblem } from '../../shared/validate.js';

/** What is remembered of one computer. */
export interface ComputerRecord {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly admin: string;
  readonly fingerprint: string | null;
  /** The password, encrypted by the operating system (base64); absent when the admin enters it each time. */
  readonly credential?: string;
}

export const COMPUTER_LIST_VERSION = 1;

function isRecord(value: unknown): value is ComputerRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.id === 'string' &&
    COMPUTER_ID_PATTERN.test(r.id) &&
    typeof r.host === 'string' &&
    hostProblem(r.host) === null &&
    typeof r.port === 'number' &&
    Number.isInteger(r.port) &&
    r.port > 0 &&
    r.port < 65536 &&
    typeof r.admin === 'string' &&
    (r.fingerprint === null || (typeof r.fingerprint === 'string' && FINGERPRINT_PATTERN.test(r.fingerprint))) &&
    (r.credential === undefined || typeof r.credential === 'string')
  );
}

/** The remembered computers; an absent file is an empty list, a damaged one an error that names it. */
export async function readComputerList(file: string): Promise<ComputerRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON; move it away to start with no remembered computers.`);
  }
  const list = (parsed as { computers?: unknown } | null)?.computers;
  if (!Array.isArray(list)) throw new Error(`${file} has no "computers" list; move it away to start with no remembered computers.`);
  // One bad entry (edited by hand) does not cost the others.
  return list.filter(isRecord);
}

/** Replaces the file with `records`, atomically. */
export async function writeComputerList(file: string, records: readonly ComputerRecord[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  const body = `${JSON.stringify({ version: COMPUTER_LIST_VERSION, computers: records }, null, 2)}\n`;
  await writeFile(temp, body, { mode: 0o600, flush: true });
  await rename(temp, file);
}
