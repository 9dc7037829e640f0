/**
 * Maildir message file names, in Dovecot's convention:
 * `<unique>,S=<bytes on disk>,W=<bytes with CRLF>` in new/, optionally
 * followed by `:2,<flags>` in cur/. Names written by other Maildir programs
 * (without S=/W=) are understood too; their sizes come from the file itself.
 */

import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';

/** The host part of unique names: no `/`, `:` or `,` (they have meaning in Maildir), kept short so UIDLs stay literal. */
export function sanitizeHostname(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9.-]/g, '_').replace(/^\.+|\.+$/g, '');
  return (clean || 'localhost').slice(0, 16);
}

const HOST = sanitizeHostname(os.hostname());
let counter = 0;
let lastMicros = 0;

/**
 * A new unique part: `<seconds>.M<micros>P<pid>Q<counter>R<random hex>.<host>`.
 * The time is taken in microseconds and never repeats or goes back within
 * this process, so two messages delivered in the same millisecond still sort
 * in delivery order (readers order by seconds, then by name).
 */
export function newUniqueName(): string {
  counter += 1;
  let micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  if (micros <= lastMicros) micros = lastMicros + 1;
  lastMicros = micros;
  const seconds = Math.floor(micros / 1_000_000);
  const fraction = String(micros % 1_000_000).padStart(6, '0');
  return `${seconds}.M${fraction}P${process.pid}Q${counter}R${randomBytes(8).toString('hex')}.${HOST}`;
}

/** The full file name for new/: unique part plus both sizes. */
export function messageFileName(unique: string, diskSize: number, wireSize: number): string {
  return `${unique},S=${diskSize},W=${wireSize}`;
}

export interface ParsedMessageName {
  /** The unique part: before the first `,` and before the info (`:2,`). */
  readonly unique: string;
  /** Bytes on disk, from `S=`; null when the name does not say. */
  readonly diskSize: number | null;
  /** Bytes with CRLF line ends, from `W=`; null when the name does not say. */
  readonly wireSize: number | null;
  /** The leading delivery time in seconds, or 0 when the name does not start with one. */
  readonly seconds: number;
}

/** Separators before Maildir info: `:` normally, `;` or `!` where `:` is not allowed in file names. */
const INFO = /[:;!]2,/;

/** A message file name without its Maildir info (`:2,<flags>`): the same for the file in new/ and, moved or flagged, in cur/. */
export function messageBase(name: string): string {
  const infoAt = name.search(INFO);
  return infoAt >= 0 ? name.slice(0, infoAt) : name;
}

/** Parses a message file name; null for names that cannot be messages (dot files, empty). */
export function parseMessageName(name: string): ParsedMessageName | null {
  if (name.length === 0 || name.startsWith('.') || name.includes('/') || name.includes('\\')) return null;
  const infoAt = name.search(INFO);
  const base = infoAt >= 0 ? name.slice(0, infoAt) : name;
  const comma = base.indexOf(',');
  const unique = comma >= 0 ? base.slice(0, comma) : base;
  if (unique.length === 0) return null;
  let diskSize: number | null = null;
  let wireSize: number | null = null;
  if (comma >= 0) {
    for (const field of base.slice(comma + 1).split(',')) {
      const m = /^([SW])=(\d{1,15})$/.exec(field);
      if (!m) continue;
      if (m[1] === 'S') diskSize = Number(m[2]);
      else wireSize = Number(m[2]);
    }
  }
  const lead = /^(\d{1,12})(?:\D|$)/.exec(unique);
  return { unique, diskSize, wireSize, seconds: lead ? Number(lead[1]) : 0 };
}

/** A UIDL (RFC 1939: 1–70 characters 0x21–0x7E) for a unique part: itself when it fits, else a hash of it. */
export function uidlFor(unique: string): string {
  if (/^[\x21-\x7e]{1,70}$/.test(unique)) return unique;
  return hashUidl(unique);
}

/** A hash UIDL: 40 hex characters. */
export function hashUidl(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

/** Delivery order: by the leading timestamp, then by name. */
export function compareMessageNames(a: { name: string; seconds: number }, b: { name: string; seconds: number }): number {
  if (a.seconds !== b.seconds) return a.seconds - b.seconds;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Our own host name as it appears in unique parts (recovery uses it to spot tmp files of dead writers). */
export function ownHostTag(): string {
  return HOST;
}

/** The writer's pid and host from a unique part in our format, or null. */
export function writerOf(unique: string): { pid: number; host: string } | null {
  const m = /^\d+\.M\d+P(\d+)Q\d+R[0-9a-f]+\.(.+)$/.exec(unique);
  return m ? { pid: Number(m[1]), host: m[2] ?? '' } : null;
}

/** Message count and bytes of a mailbox. */
export interface MessageTotals {
  messages: number;
  bytes: number;
}

/**
 * Adds the messages whose names carry their size (`S=`) to `totals` and
 * returns the other message names: only a `stat` can size those (mail from
 * other Maildir programs), and the callers stat synchronously or not.
 */
export function addNamedSizes(names: readonly string[], totals: MessageTotals): string[] {
  const unsized: string[] = [];
  for (const name of names) {
    const parsed = parseMessageName(name);
    if (!parsed) continue;
    if (parsed.diskSize === null) {
      unsized.push(name);
    } else {
      totals.messages += 1;
      totals.bytes += parsed.diskSize;
    }
  }
  return unsized;
}
