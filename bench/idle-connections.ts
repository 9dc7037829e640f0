/**
 * Workload 6: 1,000 idle POP3 connections, the service's memory (RSS).
 *
 *   node dist/bench/idle-connections.js [--connections 1000]
 *
 * Opens the connections (each greeted, then silent: AUTHORIZATION state),
 * waits for the figures to settle, reads VmRSS of pop3svc from
 * /proc/<pid>/status. Side by side: Dovecot's pop3-login processes with the
 * same connections (summed RSS, and PSS, which counts shared pages once).
 * Then the same number over POP3S (TLS from the first byte) on ours, and the
 * kernel's part of an idle connection (its slab objects, /proc/slabinfo).
 * A last figure holds 100 logged-in sessions idle in TRANSACTION state
 * (each with a 20-message maildrop) on both.
 *
 * These figures are what the default socketmax (config.ts) is chosen from.
 */

import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { makeMessage, spreadSizes } from './lib/fixture.js';
import { setupPair } from './lib/pair.js';
import { loggedIn, Pop3Client } from './lib/pop3-client.js';
import { saveResult } from './lib/results.js';
import { descendants, options, rssBytes, runMain, sleep } from './lib/util.js';

const MiB = 2 ** 20;

function pssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The kernel's slab objects of one idle TCP socket (socket, inode, file, dentry, epoll entry), bytes; null without /proc/slabinfo (not root). */
function kernelSocketBytes(): { bytes: number; parts: string } | null {
  let text: string;
  try {
    text = readFileSync('/proc/slabinfo', 'utf8');
  } catch {
    return null;
  }
  const size = (name: string): number => Number(new RegExp(`^${name}\\s+\\d+\\s+\\d+\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const parts = ['TCP', 'sock_inode_cache', 'filp', 'dentry', 'eventpoll_epi'].map((name) => [name, size(name)] as const);
  if (parts.some(([, bytes]) => bytes === 0)) return null;
  return { bytes: parts.reduce((sum, [, bytes]) => sum + bytes, 0), parts: parts.map(([name, bytes]) => `${name} ${bytes}`).join(' + ') };
}

/** Idle POP3S connections: TLS handshake done, greeting read, then silent. */
async function openIdleTls(port: number, count: number): Promise<tls.TLSSocket[]> {
  const open = (): Promise<tls.TLSSocket> =>
    new Promise((resolve, reject) => {
      // The service's certificate is self-signed: what is measured is the connection, not the trust.
      const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
      socket.once('data', (greeting: Buffer) => (greeting.toString('latin1').startsWith('+OK') ? resolve(socket) : reject(new Error(`greeting: ${greeting.toString('latin1')}`))));
      socket.once('error', reject);
    });
  const sockets: tls.TLSSocket[] = [];
  for (let i = 0; i < count; i += 50) sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, open))));
  return sockets;
}

async function openIdle(port: number, count: number): Promise<Pop3Client[]> {
  const clients: Pop3Client[] = [];
  // In batches, so the listen backlog is never the limit being measured.
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => Pop3Client.connect(port)));
    clients.push(...batch.map((b) => b.client));
  }
  return clients;
}

async function main(): Promise<void> {
  const started = Date.now();
  const opt = options();
  const connections = opt.num('connections', 1000);
  const sessions = opt.num('sessions', 100);
  const messages = spreadSizes(20, 4 * 1024, 64 * 1024).map((size, i) => makeMessage(i, size));
  const pair = await setupPair({
    groups: [{ domain: 'idle.bench.test', prefix: 'idle', count: sessions, messages, light: true }],
    // Room for every connection, all from 127.0.0.1: socketmax and the per-address cap above the count.
    oursSettings: { socket: { backlog: 200, max: connections + sessions + 100, min: 10, threshold: 3 }, connectionsPerAddress: connections + sessions + 100 },
  });
  const users = pair.groups.get('idle') ?? [];
  const dovecotPids = (): number[] => [pair.dovecot.pid, ...descendants(pair.dovecot.pid)];
  const dovecotRss = (): number => dovecotPids().reduce((s, p) => s + (rssBytes(p) ?? 0), 0);
  const dovecotPss = (): number => dovecotPids().reduce((s, p) => s + pssBytes(p), 0);
  const oursRss = (): number => rssBytes(pair.ours.pid) ?? 0;

  // Warm-up: one session each, so both have loaded what a session needs before the baseline.
  for (const port of [pair.ours.pop3Port, pair.dovecot.pop3Port]) {
    const c = await loggedIn(port, users[0]?.address ?? '', users[0]?.password ?? '');
    await c.quit();
    c.destroy();
  }
  await sleep(1000);
  const base = { ours: oursRss(), dovecotRss: dovecotRss(), dovecotPss: dovecotPss() };

  const figures: Record<string, { ours: number; dovecotRss: number; dovecotPss: number }> = {};
  for (const side of ['ours', 'dovecot'] as const) {
    const port = side === 'ours' ? pair.ours.pop3Port : pair.dovecot.pop3Port;
    const clients = await openIdle(port, connections);
    await sleep(3000);
    if (side === 'ours') figures.idleOurs = { ours: oursRss(), dovecotRss: 0, dovecotPss: 0 };
    else figures.idleDovecot = { ours: 0, dovecotRss: dovecotRss(), dovecotPss: dovecotPss() };
    const alive = clients.filter((c) => c.endedAt === null).length;
    console.log(`${side}: ${alive} of ${connections} idle connections open`);
    if (alive !== connections) throw new Error(`${side} closed ${connections - alive} idle connections`);
    for (const c of clients) c.destroy();
    await sleep(1000);
  }

  // The same over POP3S: what TLS adds to an idle connection.
  const tlsBase = oursRss();
  let idleTls = 0;
  if (pair.ours.pop3sPort !== null) {
    const sockets = await openIdleTls(pair.ours.pop3sPort, connections);
    await sleep(3000);
    idleTls = oursRss();
    const alive = sockets.filter((s) => !s.destroyed).length;
    console.log(`ours POP3S: ${alive} of ${connections} idle connections open`);
    if (alive !== connections) throw new Error(`ours closed ${connections - alive} idle POP3S connections`);
    for (const s of sockets) s.destroy();
    await sleep(1000);
  }
  const kernel = kernelSocketBytes();

  // The sessions' own baseline: RSS right before they open (the service's heap may have shrunk since).
  const sessionBase = { ours: oursRss(), dovecotRss: dovecotRss(), dovecotPss: dovecotPss() };
  for (const side of ['ours', 'dovecot'] as const) {
    const port = side === 'ours' ? pair.ours.pop3Port : pair.dovecot.pop3Port;
    const clients: Pop3Client[] = [];
    for (let i = 0; i < users.length; i += 20) {
      clients.push(...(await Promise.all(users.slice(i, i + 20).map((u) => loggedIn(port, u.address, u.password)))));
    }
    await sleep(3000);
    if (side === 'ours') figures.sessionsOurs = { ours: oursRss(), dovecotRss: 0, dovecotPss: 0 };
    else figures.sessionsDovecot = { ours: 0, dovecotRss: dovecotRss(), dovecotPss: dovecotPss() };
    for (const c of clients) c.destroy();
    await sleep(1000);
  }

  const mib = (b: number): string => (b / MiB).toFixed(1);
  // A heap that shrank meanwhile can make the difference negative: below what RSS can show.
  const perSession = (bytes: number): string => (bytes <= 0 ? '< GC noise' : (bytes / sessions / 1024).toFixed(1));
  const idleOurs = figures.idleOurs?.ours ?? 0;
  const idleDove = figures.idleDovecot ?? { ours: 0, dovecotRss: 0, dovecotPss: 0 };
  const sessOurs = figures.sessionsOurs?.ours ?? 0;
  const sessDove = figures.sessionsDovecot ?? { ours: 0, dovecotRss: 0, dovecotPss: 0 };
  await saveResult(
    {
      name: 'idle-connections',
      title: `${connections} idle POP3 connections: service memory`,
      command: `node dist/bench/idle-connections.js --connections ${connections} --sessions ${sessions}`,
      table: [
        ['state', 'ours RSS MiB', 'ours per connection KiB', 'Dovecot RSS MiB (sum)', 'Dovecot PSS MiB (sum)', 'Dovecot PSS per connection KiB'],
        ['service idle (baseline)', mib(base.ours), '', mib(base.dovecotRss), mib(base.dovecotPss), ''],
        [
          `${connections} connections greeted, idle`,
          mib(idleOurs),
          (((idleOurs - base.ours) / connections) / 1024).toFixed(1),
          mib(idleDove.dovecotRss),
          mib(idleDove.dovecotPss),
          (((idleDove.dovecotPss - base.dovecotPss) / connections) / 1024).toFixed(1),
        ],
        ['service idle again, before POP3S', mib(tlsBase), '', '', '', ''],
        [`${connections} POP3S connections (TLS) greeted, idle`, idleTls === 0 ? 'no POP3S' : mib(idleTls), idleTls === 0 ? '' : (((idleTls - tlsBase) / connections) / 1024).toFixed(1), '', '', ''],
        ['service idle again, before the sessions', mib(sessionBase.ours), '', mib(sessionBase.dovecotRss), mib(sessionBase.dovecotPss), ''],
        [
          `${sessions} sessions logged in (20 messages each), idle`,
          mib(sessOurs),
          perSession(sessOurs - sessionBase.ours),
          mib(sessDove.dovecotRss),
          mib(sessDove.dovecotPss),
          perSession(sessDove.dovecotPss - sessionBase.dovecotPss),
        ],
      ],
      targets: [{ what: `${connections} idle POP3 connections, service RSS`, target: '≤ 150 MB', value: `${mib(idleOurs)} MiB`, met: idleOurs <= 150 * 1e6 }],
      notes: [
        'Ours: VmRSS of the one pop3svc process (POP3, SMTP, control channel and store in it), read 3 s after the last connection was greeted.',
        'Dovecot: the master and all its processes (pop3-login in high-performance mode holds the idle connections; a logged-in session is one pop3 process). RSS summed over processes counts shared libraries many times; PSS counts them once.',
        `socketmax and the per-address cap raised to ${connections + sessions + 100} for the run (defaults: 5,000 and 10); Dovecot has no POP3S in this set-up, so the POP3S row is ours alone.`,
        kernel === null
          ? 'The kernel part of a connection was not read (/proc/slabinfo needs root).'
          : `Not in RSS: the kernel's part of each idle connection on the server side, ${(kernel.bytes / 1024).toFixed(1)} KiB of slab objects (${kernel.parts} bytes, /proc/slabinfo), plus socket buffers only while data waits in them.`,
      ],
      raw: { base, sessionBase, figures, tlsBase, idleTls, kernel },
    },
    started,
  );
}

runMain('idle-connections', main, 3 * 60_000);
