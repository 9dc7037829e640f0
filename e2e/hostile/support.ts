/**
 * Shared pieces of the hostile-input, fault and crash tests: a seeded random
 * source whose seed is printed (so a failure can be replayed), a `pop3svc`
 * child with chosen settings on a prepared store, and the child's memory as
 * the operating system counts it.
 */

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { openMailStore } from '../../electron/service/store/index.js';
import { connectControl, type ControlClient } from '../../electron/service/admin/control-client.js';
import { startPop3svc, type RunningService } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same test. */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }
}

/**
 * The seed of a randomized test: from the environment variable when given
 * (to replay a failure), else fresh; printed either way.
 */
export function seedFrom(variable: string, what: string): number {
  const given = process.env[variable];
  const seed = given !== undefined && /^[0-9]+$/.test(given) ? Number(given) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`${what}: seed ${seed} (replay with ${variable}=${seed})`);
  return seed;
}

/** A whole number from the environment (a long form of a test), or the default. */
export function countFrom(variable: string, fallback: number): number {
  const given = process.env[variable];
  return given !== undefined && /^[0-9]+$/.test(given) && Number(given) > 0 ? Number(given) : fallback;
}

/** Memory of a process as the OS counts it, in bytes; null where /proc is not available. */
export function processMemory(pid: number): { rss: number; peak: number } | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  const rss = kb('VmRSS');
  const peak = kb('VmHWM');
  return Number.isFinite(rss) && Number.isFinite(peak) ? { rss, peak } : null;
}

export interface Mailbox {
  readonly address: string;
  readonly password: string;
}

export interface ServiceOptions {
  /** Settings written to the config file before the start (socket limits, logging, idle timeout). */
  readonly settings?: Record<string, unknown>;
  /** Mailboxes made before the start; their domains too. */
  readonly mailboxes?: readonly Mailbox[];
  /** Messages delivered to each mailbox before the start. */
  readonly messages?: (address: string) => readonly string[];
  /** Where the mail root goes; a fresh temp folder when absent. */
  readonly mailroot?: string;
  /** Runs after the mailboxes are made and before the service starts, e.g. to copy folders. */
  readonly prepare?: (mailroot: string) => Promise<void>;
}

export interface TestService {
  readonly dir: TempDir;
  readonly mailroot: string;
  readonly config: string;
  readonly svc: RunningService;
  /** pop3svc's pid: the process serving POP3 too, as the config says `workers` 1 unless `settings` asks for more. */
  readonly pid: number;
  /** The admin API of the running service, as winpop and a second console reach it. */
  control(): Promise<ControlClient>;
  /** Stops the service (SIGTERM, or SIGKILL if it hangs) and removes the temp folder. */
  cleanup(): Promise<void>;
}

/** Writes a config file, makes the mailboxes directly in the store, and starts `pop3svc` on free loopback ports. */
export async function startService(options: ServiceOptions = {}): Promise<TestService> {
  const dir = await tempDir('winpop-hostile-');
  const mailroot = options.mailroot ?? path.join(dir.path, 'mailroot');
  const config = path.join(dir.path, 'config.json');
  // One process unless a test asks for workers: `pid` is then the process serving POP3, whose memory and session ids these tests read.
  await writeFile(config, JSON.stringify({ logging: 2, workers: 1, ...(options.settings ?? {}) }));
  if (options.mailboxes && options.mailboxes.length > 0) {
    const store = await openMailStore(mailroot, { fsync: false });
    const domains = new Set((await store.listDomains()).map((d) => d.name));
    for (const m of options.mailboxes) {
      const domain = m.address.slice(m.address.lastIndexOf('@') + 1);
      if (!domains.has(domain)) {
        await store.addDomain(domain);
        domains.add(domain);
      }
      await store.addMailbox(m.address, m.password);
      for (const text of options.messages?.(m.address) ?? []) {
        await store.deliver(m.address, Readable.from([Buffer.from(text, 'latin1')]));
      }
    }
  }
  let svc: RunningService;
  try {
    await options.prepare?.(mailroot);
    svc = await startPop3svc(mailroot, config);
  } catch (err) {
    await dir.remove();
    throw err;
  }
  const pid = svc.process.pid as number;
  return {
    dir,
    mailroot,
    config,
    svc,
    pid,
    async control() {
      const client = await connectControl(mailroot, 'hostile-test');
      if (!client) throw new Error(`no control channel for ${mailroot}:\n${svc.output()}`);
      return client;
    },
    async cleanup() {
      const timer = setTimeout(() => svc.process.kill('SIGKILL'), 10_000);
      if (svc.process.exitCode === null && svc.process.signalCode === null) await svc.stop();
      clearTimeout(timer);
      await dir.remove();
    },
  };
}

/** Polls until `check` resolves true; throws `what` after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Sessions the running service counts now (its ServerInfo). */
export async function sessionCount(service: TestService): Promise<number> {
  const client = await service.control();
  try {
    return (await client.serverInfo({})).sessions;
  } finally {
    client.close();
  }
}
