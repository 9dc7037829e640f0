/**
 * Builds a domain of many mailboxes straight on disk (the store's layout,
 * without going through the store, so 100,000 take seconds, not hours of
 * password hashing), then times how the store lists it.
 *
 *   node dist/bench/make-big-domain.js [--count 100000] [--dir DIR] [--keep]
 *
 * Prints the build time, the store's open (crash recovery, which also builds
 * the index) time, and the first and repeated listMailboxes / listDomains
 * times; then the same with lazy recovery (index built on first listing).
 */

import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { hashPassword, openMailStore } from '../electron/service/store/index.js';

const PARALLEL = 64;

async function forEachLimit(count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** Writes `count` mailboxes `user000000`… into `<root>/<domain>`, each with 0–3 small messages. */
export async function makeBigDomain(root: string, domain: string, count: number): Promise<void> {
  const created = new Date().toISOString();
  const password = await hashPassword('bench-password');
  const domainDir = path.join(root, domain);
  await fsp.mkdir(path.join(root, '.winpop', 'trash'), { recursive: true, mode: 0o700 });
  await fsp.mkdir(domainDir, { recursive: true, mode: 0o700 });
  await fsp.writeFile(path.join(domainDir, '.winpop-domain.json'), JSON.stringify({ version: 1, lock: null, created }));
  const now = Math.floor(Date.now() / 1000);
  await forEachLimit(count, PARALLEL, async (i) => {
    const dir = path.join(domainDir, `user${String(i).padStart(6, '0')}`);
    for (const sub of ['tmp', 'new', 'cur']) await fsp.mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
    const lock = i % 10 === 0 ? { by: 'bench', at: created } : null;
    await fsp.writeFile(path.join(dir, '.winpop-mailbox.json'), JSON.stringify({ version: 1, password, lock, created }));
    for (let m = 0; m < i % 4; m++) {
      const body = `Subject: message ${m} for user ${i}\n\nHello.\n`;
      const lines = body.split('\n').length - 1;
      await fsp.writeFile(path.join(dir, 'new', `${now - m}.M${m}P1Q${i}R0.bench,S=${body.length},W=${body.length + lines}`), body);
    }
  });
}

async function time<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await fn();
  console.log(`${label.padEnd(34)} ${(performance.now() - start).toFixed(0).padStart(7)} ms`);
  return result;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const count = Number(option('--count') ?? 100_000);
  const given = option('--dir');
  const root = given ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'winpop-bench-')));
  const domain = 'big.example.com';
  console.log(`${count} mailboxes in ${root} (${os.cpus().length} CPUs, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 'default 4'})`);
  try {
    const exists = await fsp.access(path.join(root, domain)).then(() => true, () => false);
    if (!exists) await time('build on disk', () => makeBigDomain(root, domain, count));
    const store = await time('openMailStore (crash recovery)', () => openMailStore(root, { fsync: false }));
    const first = await time('listMailboxes, first (builds index)', () => store.listMailboxes(domain));
    await time('listMailboxes, repeat', () => store.listMailboxes(domain));
    await time('listMailboxes, repeat', () => store.listMailboxes(domain));
    await time('listDomains', () => store.listDomains());
    await store.addMailbox(`new-${Date.now()}@${domain}`, 'pw');
    await time('listMailboxes after an add', () => store.listMailboxes(domain));
    const lazy = await time("openMailStore, recovery 'lazy'", () => openMailStore(root, { fsync: false, recovery: 'lazy' }));
    await time("  then listMailboxes, first", () => lazy.listMailboxes(domain));
    await time("  then listMailboxes, repeat", () => lazy.listMailboxes(domain));
    const messages = first.reduce((n, m) => n + m.messages, 0);
    console.log(`listed ${first.length} mailboxes, ${messages} messages, ${first.filter((m) => m.locked).length} locked`);
  } finally {
    if (!given && !args.includes('--keep')) await fsp.rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
