/**
 * A domain big enough to get a listing snapshot, written straight on disk in
 * the store's layout (going through the store would hash a password per
 * mailbox), and the truth about it read straight from disk, independent of
 * the store's code, to compare listings with.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { hashPassword } from '../../electron/service/store/index.js';

export interface MailboxTruth {
  readonly name: string;
  readonly messages: number;
  readonly bytes: number;
  readonly locked: boolean;
}

const pad = (i: number): string => String(i).padStart(4, '0');

/** The name of the i-th mailbox of a fixture domain. */
export const boxName = (i: number): string => `box${pad(i)}`;

/** A message file name as the store writes them (unique part, S=, W=). */
export function messageName(tag: string, body: string): string {
  const lines = body.split('\n').length - 1;
  return `${Math.floor(Date.now() / 1000)}.M${tag}P1Q1R0.fixture,S=${body.length},W=${body.length + lines}`;
}

/**
 * Writes `count` mailboxes `box0000`… into `<root>/<domain>`: every seventh
 * locked, `i % 3` messages each. All share one password, `pw`.
 */
export async function writeDomain(root: string, domain: string, count: number): Promise<void> {
  const created = new Date().toISOString();
  const password = await hashPassword('pw');
  const dir = path.join(root, domain);
  await fsp.mkdir(path.join(root, '.winpop', 'trash'), { recursive: true, mode: 0o700 });
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  await fsp.writeFile(path.join(dir, '.winpop-domain.json'), JSON.stringify({ version: 1, lock: null, created }));
  const one = async (i: number): Promise<void> => {
    const box = path.join(dir, boxName(i));
    for (const sub of ['tmp', 'new', 'cur']) await fsp.mkdir(path.join(box, sub), { recursive: true, mode: 0o700 });
    const lock = i % 7 === 0 ? { by: 'fixture', at: created } : null;
    await fsp.writeFile(path.join(box, '.winpop-mailbox.json'), JSON.stringify({ version: 1, password, lock, created }));
    for (let m = 0; m < i % 3; m++) {
      const body = `Subject: ${m} for ${i}\n\nHello.\n`;
      await fsp.writeFile(path.join(box, 'new', messageName(`${i}x${m}`, body)), body);
    }
  };
  const indexes = Array.from({ length: count }, (_, i) => i);
  for (let at = 0; at < indexes.length; at += 50) await Promise.all(indexes.slice(at, at + 50).map(one));
}

/** Every mailbox of the domain as the disk has it now: files in new/ and cur/, sizes from S= (or stat), the lock from its file. */
export async function diskTruth(root: string, domain: string): Promise<MailboxTruth[]> {
  const dir = path.join(root, domain);
  const out: MailboxTruth[] = [];
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || !entry.isDirectory()) continue;
    const box = path.join(dir, entry.name);
    let messages = 0;
    let bytes = 0;
    for (const sub of ['new', 'cur']) {
      for (const name of await fsp.readdir(path.join(box, sub)).catch(() => [] as string[])) {
        if (name.startsWith('.')) continue;
        const size = /,S=(\d+)/.exec(name)?.[1];
        messages += 1;
        bytes += size === undefined ? (await fsp.stat(path.join(box, sub, name))).size : Number(size);
      }
    }
    const meta = JSON.parse(await fsp.readFile(path.join(box, '.winpop-mailbox.json'), 'utf8')) as { lock: unknown };
    out.push({ name: entry.name, messages, bytes, locked: meta.lock !== null });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A listing (`winpop list DOMAIN --json` rows, or the store's summaries) in the shape of diskTruth. */
export function asTruth(rows: readonly { name: string; messages: number; bytes: number; lock: unknown }[]): MailboxTruth[] {
  return rows.map((r) => ({ name: r.name, messages: r.messages, bytes: r.bytes, locked: r.lock !== null }));
}
