/**
 * The audit log: one JSON line per administrative change, appended to
 * `<mailroot>/.winpop/audit.log` with a single O_APPEND write and fsync, so
 * concurrent writers never interleave inside a line and a crash loses at most
 * the line being written (a torn last line is skipped when reading).
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AUDIT_FILE, stateDir } from './layout.js';
import { isCode } from './fs-util.js';
import { rootMissing, storeFault } from './store-errors.js';

export interface AuditInput {
  /** Who made the change: the OS user name, as the caller claims it. */
  readonly actor: string;
  /**
   * The OS user id of the calling process, as the service established it
   * (its own for an in-process caller, the proved one over the control
   * channel); absent when unknown, and in lines written before it existed.
   */
  readonly uid?: number;
  /**
   * The client's address (`host:port`) when the change came over the admin
   * endpoint; `actor` is then the signed-in admin account. Absent for local callers.
   */
  readonly remote?: string;
  /** The operation, e.g. `lock`, `addMailbox`. */
  readonly op: string;
  /** The domain or address it applied to. */
  readonly target: string;
  readonly result: 'ok' | 'error';
  /** An error text or other detail. */
  readonly detail?: string;
}

export interface AuditEntry extends AuditInput {
  /** ISO 8601 time of the entry. */
  readonly time: string;
}

const FIELD_MAX = 2000;
const clip = (text: string): string => (text.length > FIELD_MAX ? `${text.slice(0, FIELD_MAX)}…` : text);

function isUid(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Path of the audit log under a mail root. */
export function auditLogPath(root: string): string {
  return path.join(stateDir(root), AUDIT_FILE);
}

/** Appends one entry (with the current time) to the store's audit log. */
export async function appendAudit(root: string, entry: AuditInput): Promise<AuditEntry> {
  const line: AuditEntry = {
    time: new Date().toISOString(),
    actor: clip(String(entry.actor)),
    ...(isUid(entry.uid) ? { uid: entry.uid } : {}),
    ...(entry.remote === undefined ? {} : { remote: clip(String(entry.remote)) }),
    op: clip(String(entry.op)),
    target: clip(String(entry.target)),
    result: entry.result === 'ok' ? 'ok' : 'error',
    ...(entry.detail === undefined ? {} : { detail: clip(String(entry.detail)) }),
  };
  // JSON.stringify escapes line breaks, so one entry is always one line.
  const data = Buffer.from(`${JSON.stringify(line)}\n`, 'utf8');
  try {
    // Not recursive: an audit line must never make a mail root that has gone missing.
    try {
      await fsp.mkdir(stateDir(root), { mode: 0o700 });
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw err;
    }
    const handle = await fsp.open(auditLogPath(root), 'a', 0o600);
    try {
      await handle.write(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (isCode(err, 'ENOENT')) throw rootMissing(root);
    throw storeFault(err, root, auditLogPath(root)) ?? err;
  }
  return line;
}

function parseEntry(line: string): AuditEntry | null {
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
    if (typeof v.time !== 'string' || typeof v.actor !== 'string' || typeof v.op !== 'string' || typeof v.target !== 'string') return null;
    if (v.result !== 'ok' && v.result !== 'error') return null;
    return {
      time: v.time,
      actor: v.actor,
      ...(isUid(v.uid) ? { uid: v.uid } : {}),
      ...(typeof v.remote === 'string' ? { remote: v.remote } : {}),
      op: v.op,
      target: v.target,
      result: v.result,
      ...(typeof v.detail === 'string' ? { detail: v.detail } : {}),
    };
  } catch {
    return null;
  }
}

/**
 * The last `limit` entries (default 100), oldest first. Reads the file from
 * its end, so a long log costs no more than the entries asked for.
 */
export async function readAudit(root: string, limit = 100): Promise<AuditEntry[]> {
  if (!Number.isInteger(limit) || limit < 1) return [];
  let handle;
  try {
    handle = await fsp.open(auditLogPath(root), 'r');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return [];
    throw err;
  }
  try {
    const size = (await handle.stat()).size;
    const block = 64 * 1024;
    let pos = size;
    let tail = Buffer.alloc(0);
    let lines = 0;
    while (pos > 0 && lines <= limit) {
      const len = Math.min(block, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      await handle.read(buf, 0, len, pos);
      tail = Buffer.concat([buf, tail]);
      lines = 0;
      for (let at = tail.indexOf(0x0a); at >= 0; at = tail.indexOf(0x0a, at + 1)) lines += 1;
    }
    const text = tail.toString('utf8');
    const all = text.split('\n');
    if (pos > 0) all.shift(); // the first piece may be the end of an older line
    const entries: AuditEntry[] = [];
    for (const line of all) {
      if (line.trim() === '') continue;
      const entry = parseEntry(line);
      if (entry) entries.push(entry);
    }
    return entries.slice(-limit);
  } finally {
    await handle.close();
  }
}
