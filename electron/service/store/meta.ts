/**
 * The small JSON files that hold a domain's and a mailbox's state.
 *
 * They are always replaced whole (writeFileAtomic). Reading checks the shape
 * strictly: a damaged file gives a STORE_ERROR that names the file and says
 * how to repair it, instead of being half-trusted.
 */

import type { LockInfo } from '../../../shared/contract.js';
import { AdminError } from '../../../shared/errors.js';
import { domainStateRepair, mailboxStateRepair } from '../../../shared/state-file-repair.js';
import { writeFileAtomic } from './atomic-file.js';
import { isCode, readSmallFile, readSmallFileSync } from './fs-util.js';

export const META_VERSION = 1;

export interface MailboxMeta {
  readonly version: number;
  /** The scrypt hash; null for a mailbox whose password another authority decides (a directory, the system's accounts). */
  readonly password: string | null;
  readonly lock: LockInfo | null;
  /** Counts the changes of `lock` (see lockSerialFrom); 0 in files written before it existed. */
  readonly lockSerial: number;
  readonly created: string;
}

export interface DomainMeta {
  readonly version: number;
  readonly lock: LockInfo | null;
  readonly lockSerial: number;
  readonly created: string;
}

/** Raised for a meta file that exists but cannot be used; `file` names it. */
export class MetaFileError extends AdminError {
  constructor(
    readonly file: string,
    problem: string,
    fix: string,
    /**
     * False when the file could not be read at all (an I/O error), which may
     * pass; true when what it holds is wrong or it is missing, which lasts
     * until someone repairs it.
     */
    readonly damaged = true,
  ) {
    super('STORE_ERROR', `The store file ${file} ${problem}. ${fix}`);
  }
}

/** True for a state file that needs the administrator's repair (not an I/O error that may pass). */
export function isDamagedStateFile(err: unknown): err is MetaFileError {
  return err instanceof MetaFileError && err.damaged;
}

/** A lock as stored, or undefined when the value is not a valid lock. */
export function lockFrom(value: unknown): LockInfo | null | undefined {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.by !== 'string' || typeof v.at !== 'string') return undefined;
  if (v.reason !== undefined && typeof v.reason !== 'string') return undefined;
  return v.reason === undefined ? { by: v.by, at: v.at } : { by: v.by, at: v.at, reason: v.reason };
}

/**
 * A stored lock serial: a whole number from 0, or undefined when the value
 * is not one. Absent is 0: files written before the serial existed. The
 * serial grows by one with every change of the lock, so two readings with
 * the same serial saw the same lock, and the higher one is the later.
 */
export function lockSerialFrom(value: unknown): number | undefined {
  if (value === undefined) return 0;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** Reads and parses JSON; null when the file does not exist. */
async function readJson(file: string, fix: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readSmallFile(file);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return null;
    throw new MetaFileError(file, `cannot be read (${(err as Error).message})`, fix, false);
  }
  return parseJsonObject(text, file, fix);
}

/** readJson, synchronously. */
function readJsonSync(file: string, fix: string): Record<string, unknown> | null {
  let text: string;
  try {
    text = readSmallFileSync(file);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return null;
    throw new MetaFileError(file, `cannot be read (${(err as Error).message})`, fix, false);
  }
  return parseJsonObject(text, file, fix);
}

function parseJsonObject(text: string, file: string, fix: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MetaFileError(file, 'is damaged (not valid JSON)', fix);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MetaFileError(file, 'is damaged (not a JSON object)', fix);
  }
  return value as Record<string, unknown>;
}

/** The fix text for a damaged mailbox file (in shared/, where the console finds it to word it its own way). */
export const mailboxFix = mailboxStateRepair;
/** The fix text for a damaged domain file. */
export const domainFix = domainStateRepair;

/** A mailbox folder without its state file. */
export const missingMailboxMeta = (file: string, address: string): MetaFileError => new MetaFileError(file, 'is missing', mailboxFix(address));
/** A domain folder without its state file. */
export const missingDomainMeta = (file: string, domain: string): MetaFileError => new MetaFileError(file, 'is missing', domainFix(domain));

/** What a listing says of a mailbox whose state file cannot be used (its `problem`): the file, the repair, the effect. */
export const mailboxProblem = (err: MetaFileError): string => `${err.message} Until then it cannot log in.`;
/** The same for a domain's state file. */
export const domainProblem = (err: MetaFileError): string => `${err.message} Until then no mailbox of the domain can log in.`;

/** A mailbox's state; null when the file is missing (the caller decides whether that means "no mailbox"). */
export async function readMailboxMeta(file: string, address: string): Promise<MailboxMeta | null> {
  const v = await readJson(file, mailboxFix(address));
  return v === null ? null : checkMailboxMeta(v, file, address);
}

/**
 * The same, read synchronously: where thread-pool round trips would cost
 * more than the read (a one-shot command's first scan of a big domain; the
 * decisions of state-reads.ts, several at each log-in).
 */
export function readMailboxMetaSync(file: string, address: string): MailboxMeta | null {
  const v = readJsonSync(file, mailboxFix(address));
  return v === null ? null : checkMailboxMeta(v, file, address);
}

function checkMailboxMeta(v: Record<string, unknown>, file: string, address: string): MailboxMeta {
  const fix = mailboxFix(address);
  if (v.version !== META_VERSION) throw new MetaFileError(file, `has version ${JSON.stringify(v.version)}, expected ${META_VERSION}`, fix);
  if (v.password !== null && (typeof v.password !== 'string' || !v.password.startsWith('$scrypt$'))) throw new MetaFileError(file, 'has no valid password hash', fix);
  const lock = lockFrom(v.lock);
  if (lock === undefined) throw new MetaFileError(file, 'has a damaged "lock" entry', fix);
  const lockSerial = lockSerialFrom(v.lockSerial);
  if (lockSerial === undefined) throw new MetaFileError(file, 'has a damaged "lockSerial" entry', fix);
  return { version: META_VERSION, password: v.password, lock, lockSerial, created: typeof v.created === 'string' ? v.created : '' };
}

/** A domain's state; null when the file is missing. */
export async function readDomainMeta(file: string, domain: string): Promise<DomainMeta | null> {
  const v = await readJson(file, domainFix(domain));
  return v === null ? null : checkDomainMeta(v, file, domain);
}

/** readDomainMeta, synchronously. */
export function readDomainMetaSync(file: string, domain: string): DomainMeta | null {
  const v = readJsonSync(file, domainFix(domain));
  return v === null ? null : checkDomainMeta(v, file, domain);
}

function checkDomainMeta(v: Record<string, unknown>, file: string, domain: string): DomainMeta {
  const fix = domainFix(domain);
  if (v.version !== META_VERSION) throw new MetaFileError(file, `has version ${JSON.stringify(v.version)}, expected ${META_VERSION}`, fix);
  const lock = lockFrom(v.lock);
  if (lock === undefined) throw new MetaFileError(file, 'has a damaged "lock" entry', fix);
  const lockSerial = lockSerialFrom(v.lockSerial);
  if (lockSerial === undefined) throw new MetaFileError(file, 'has a damaged "lockSerial" entry', fix);
  return { version: META_VERSION, lock, lockSerial, created: typeof v.created === 'string' ? v.created : '' };
}

export async function writeMailboxMeta(file: string, meta: MailboxMeta, fsync: boolean): Promise<void> {
  await writeFileAtomic(file, encodeMeta(meta), { fsync });
}

export async function writeDomainMeta(file: string, meta: DomainMeta, fsync: boolean): Promise<void> {
  await writeFileAtomic(file, encodeMeta(meta), { fsync });
}

/** The file's text; a serial of 0 is left out, so a never-changed lock's file reads the same to older versions. */
function encodeMeta(meta: MailboxMeta | DomainMeta): string {
  const { lockSerial, ...rest } = meta;
  return `${JSON.stringify(lockSerial === 0 ? rest : meta, null, 2)}\n`;
}
