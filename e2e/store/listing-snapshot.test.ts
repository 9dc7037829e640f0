/**
 * Listing snapshots (store listing-snapshot.ts): `winpop list DOMAIN` without
 * a service reads a domain's listing from a file when it can be trusted, and
 * never shows what a snapshot says when it could be stale. Real processes on
 * a real store: winpop, a second store process (helpers/store-child.ts) and
 * pop3svc; every listing is compared with the disk itself (diskTruth), not
 * with the store's own idea of it.
 */

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { SNAPSHOT_MIN_MAILBOXES, SNAPSHOT_VERSION } from '../../electron/service/store/listing-snapshot.js';
import { openMailStore } from '../../electron/service/store/index.js';
import { asTruth, boxName, diskTruth, messageName, writeDomain, type MailboxTruth } from '../helpers/listing-fixture.js';
import { seedFrom } from '../hostile/support.js';
import { run, startPop3svc, winpop } from '../helpers/processes.js';
import { STORE_CHILD } from '../helpers/store-child.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const DOMAIN = 'big.example';
const COUNT = SNAPSHOT_MIN_MAILBOXES + 20;

let dir: TempDir;
let mailroot: string;
let config: string;

const wp = (...args: string[]) => winpop(['--mailroot', mailroot, '--config', config, ...args]);
const child = (...args: string[]) => run(process.execPath, [STORE_CHILD, ...args], { timeoutMs: 60_000 });
const indexFolder = (): string => path.join(mailroot, '.winpop', 'index', DOMAIN);
const snapshotFile = (): string => path.join(indexFolder(), 'listing.json');
const hasSnapshot = (): Promise<boolean> => fsp.access(snapshotFile()).then(() => true, () => false);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `winpop list DOMAIN --json`, as rows comparable with diskTruth. */
async function listed(): Promise<MailboxTruth[]> {
  const r = await wp('list', DOMAIN, '--json');
  assert.equal(r.code, 0, r.stderr);
  return asTruth((JSON.parse(r.stdout) as { mailboxes: { name: string; messages: number; bytes: number; lock: unknown }[] }).mailboxes);
}

async function listsTheTruth(why: string): Promise<MailboxTruth[]> {
  const rows = await listed();
  assert.deepEqual(rows, await diskTruth(mailroot, DOMAIN), why);
  return rows;
}

const row = (rows: readonly MailboxTruth[], name: string): MailboxTruth => {
  const r = rows.find((x) => x.name === name);
  assert.ok(r, `${name} is listed`);
  return r;
};

/** Waits for a condition that a child process brings about; bounded, so a hang fails instead of blocking. */
/**
 * Linux: a thread of `pid` waits in the open of a FIFO for a writer (the
 * kernel's wait_for_partner). Where /proc does not tell, true: the mark alone is then the sign.
 */
async function waitsOnFifo(pid: number): Promise<boolean> {
  let tasks: string[];
  try {
    tasks = await fsp.readdir(`/proc/${pid}/task`);
  } catch {
    return process.platform !== 'linux';
  }
  for (const task of tasks) {
    const wchan = await fsp.readFile(`/proc/${pid}/task/${task}/wchan`, 'utf8').catch(() => '');
    if (wchan.includes('wait_for_partner')) return true;
  }
  return false;
}

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting until ${what}`);
    await sleep(20);
  }
}

before(async () => {
  dir = await tempDir('winpop-snapshot-');
  mailroot = path.join(dir.path, 'mailroot');
  config = path.join(dir.path, 'config.json');
  await writeDomain(mailroot, DOMAIN, COUNT);
});

after(async () => {
  await dir?.remove();
});

test('the first listing scans and writes a snapshot; the next one is read from it', async () => {
  assert.equal(await hasSnapshot(), false);
  const rows = await listsTheTruth('the scan');
  assert.equal(rows.length, COUNT);
  assert.equal(await hasSnapshot(), true, 'a snapshot was written');
  // Proof that the next listing comes from the snapshot: a count changed in it (still valid otherwise) shows.
  const snapshot = JSON.parse(await fsp.readFile(snapshotFile(), 'utf8')) as { entries: [string, number][] };
  const [name, messages] = snapshot.entries[1] as [string, number];
  (snapshot.entries[1] as [string, number])[1] = messages + 1000;
  await fsp.writeFile(snapshotFile(), JSON.stringify(snapshot));
  assert.equal(row(await listed(), name).messages, messages + 1000);
  await fsp.rm(snapshotFile());
  await listsTheTruth('scanned again');
});

test('a delivery by another process is listed: it removed the snapshot first', async () => {
  const before = await listsTheTruth('before');
  assert.equal(await hasSnapshot(), true);
  const box = boxName(4);
  const r = await child('deliver', mailroot, `${box}@${DOMAIN}`, '2');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await hasSnapshot(), false, 'the delivery removed the snapshot');
  const rows = await listsTheTruth('after the delivery');
  assert.equal(row(rows, box).messages, row(before, box).messages + 2);
  assert.equal(await hasSnapshot(), true, 'the listing wrote a new one');
});

test('a lock and an unlock by winpop in another process are listed', async () => {
  await listsTheTruth('before');
  const address = `${boxName(5)}@${DOMAIN}`;
  assert.equal((await wp('lock', address)).code, 0);
  assert.equal(await hasSnapshot(), false, 'the lock removed the snapshot');
  assert.equal(row(await listsTheTruth('locked'), boxName(5)).locked, true);
  assert.equal((await wp('unlock', address)).code, 0);
  assert.equal(row(await listsTheTruth('unlocked'), boxName(5)).locked, false);
  assert.equal(await hasSnapshot(), true);
});

test('mailbox folders added or removed by hand are listed (the domain folder changed)', async () => {
  await listsTheTruth('before');
  const domainDir = path.join(mailroot, DOMAIN);
  await fsp.cp(path.join(domainDir, boxName(1)), path.join(domainDir, 'handmade'), { recursive: true });
  assert.ok((await listsTheTruth('one added')).some((r) => r.name === 'handmade'));
  await fsp.rm(path.join(domainDir, boxName(2)), { recursive: true });
  assert.ok(!(await listsTheTruth('one removed')).some((r) => r.name === boxName(2)));
});

test('a damaged, truncated, outdated or foreign snapshot is not believed, and a good one replaces it', async () => {
  await listsTheTruth('before');
  const good = await fsp.readFile(snapshotFile(), 'utf8');
  /** The good snapshot with one count changed (so believing it would show) and one field spoiled. */
  const spoiled = (field: string, value: unknown): string => {
    const s = JSON.parse(good) as Record<string, unknown> & { entries: [string, number][] };
    (s.entries[0] as [string, number])[1] += 1000;
    s[field] = value;
    return JSON.stringify(s);
  };
  const cases: [string, string][] = [
    ['garbage', 'not a snapshot at all'],
    ['truncated', good.slice(0, Math.floor(good.length / 2))],
    ['another format version', spoiled('version', 99)],
    ['written before the machine last started', spoiled('boot', 'linux:00000000-0000-0000-0000-000000000000')],
    ['for the domain folder as it was before a change', spoiled('mtimeNs', '1')],
    ['for another folder of that name', spoiled('ino', '1')],
    ['for another domain', spoiled('domain', 'other.example')],
  ];
  for (const [what, text] of cases) {
    await fsp.writeFile(snapshotFile(), text);
    await listsTheTruth(what);
    const rewritten = JSON.parse(await fsp.readFile(snapshotFile(), 'utf8')) as { version: number; entries: unknown[] };
    assert.equal(rewritten.version, SNAPSHOT_VERSION, `${what}: a good snapshot replaced it`);
    assert.equal(rewritten.entries.length, (await diskTruth(mailroot, DOMAIN)).length);
  }
});

test('a change killed after removing the snapshot: no snapshot while it runs, none trusted from before it, the next listing is right', {
  skip: process.platform === 'win32' ? 'needs a FIFO (mkfifo)' : false,
}, async () => {
  await listsTheTruth('before');
  assert.equal(await hasSnapshot(), true);
  const box = boxName(8);
  // An expunge record that is a FIFO: the child's recovery opens it inside its change and waits there for a writer.
  const fifo = path.join(mailroot, DOMAIN, box, '.winpop-expunge.0e0e.json');
  execFileSync('mkfifo', [fifo]);
  const c = spawn(process.execPath, [STORE_CHILD, 'open-maildrop', mailroot, `${box}@${DOMAIN}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => c.on('exit', () => resolve()));
  try {
    const mark = `changing.${c.pid}.`;
    await until('the child is inside its change', async () => (await fsp.readdir(indexFolder())).some((n) => n.startsWith(mark)));
    // Its mark is made before its recovery reaches the record: removing the FIFO sooner would let the change finish.
    await until('the child waits in the open of the FIFO', () => waitsOnFifo(c.pid as number));
    assert.equal(await hasSnapshot(), false, 'the snapshot was removed before the change began its work');
    // The child stays inside its change (its open of the FIFO never returns), and the mailbox is clean again.
    await fsp.rm(fifo);
    await listsTheTruth('while the change is in flight');
    assert.equal(await hasSnapshot(), false, 'no snapshot is installed while another process has a change in flight');
    c.kill('SIGKILL');
    await exited;
    assert.ok((await fsp.readdir(indexFolder())).some((n) => n.startsWith(mark)), 'the killed change left its mark');
    await listsTheTruth('after the kill');
    assert.equal(await hasSnapshot(), true, 'the dead mark was swept and a snapshot written');
    assert.ok(!(await fsp.readdir(indexFolder())).some((n) => n.startsWith(mark)));
    await listsTheTruth('from that snapshot');
  } finally {
    c.kill('SIGKILL');
    await exited;
  }
});

test('a race: changes in one process, listings that write snapshots in others; afterwards a listing is the truth', async (t) => {
  await listsTheTruth('before');
  const seed = seedFrom('SNAPSHOT_CHURN_SEED', 'snapshot churn');
  const churn = child('churn', mailroot, DOMAIN, '3000', '20', '40', String(seed));
  const lister = child('list-loop', mailroot, DOMAIN, '3000');
  let finished = false;
  void Promise.all([churn, lister]).finally(() => {
    finished = true;
  });
  let runs = 0;
  while (!finished) {
    const r = await wp('list', DOMAIN);
    assert.equal(r.code, 0, r.stderr);
    runs += 1;
  }
  const [c, l] = await Promise.all([churn, lister]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(l.code, 0, l.stderr);
  t.diagnostic(`${c.stdout.trim()}; store-child ${l.stdout.trim()}; winpop listings ${runs}`);
  await listsTheTruth('a fresh listing after the race');
  assert.equal(await hasSnapshot(), true);
  await listsTheTruth('the same from its snapshot');
});

test('the service writes the snapshot from memory: at close after its own change, never after another process changed the domain', async () => {
  await listsTheTruth('before');
  const a = await openMailStore(mailroot, { fsync: false });
  assert.equal(await hasSnapshot(), true, 'written at open, after the walk');
  await a.deliver(`${boxName(10)}@${DOMAIN}`, Readable.from([Buffer.from('Subject: own\r\n\r\nbody\r\n')]));
  assert.equal(await hasSnapshot(), false, 'its own change removed it');
  await a.close();
  assert.equal(await hasSnapshot(), true, 'written from memory at close');
  await listsTheTruth('from the snapshot written at close');

  const holder = await openMailStore(mailroot, { fsync: false });
  const other = await openMailStore(mailroot, { fsync: false, recovery: 'lazy' });
  await holder.deliver(`${boxName(13)}@${DOMAIN}`, Readable.from([Buffer.from('Subject: own\r\n\r\nbody\r\n')])); // a write is now due at close
  await other.deliver(`${boxName(11)}@${DOMAIN}`, Readable.from([Buffer.from('Subject: foreign\r\n\r\nbody\r\n')]));
  // The holder's memory does not have that delivery; it must not write what it knows.
  await holder.close();
  await other.close();
  assert.equal(await hasSnapshot(), false, 'nothing written from a memory that missed a change');
  await listsTheTruth('scanned');
});

test('mail another program puts into a Maildir or takes out is listed at once: a snapshot never hides it', async () => {
  await listsTheTruth('before');
  assert.equal(await hasSnapshot(), true);
  // Proof that the listings below still come from the snapshot: a count changed in it for a mailbox nobody touches shows.
  const marked = boxName(14);
  const snapshot = JSON.parse(await fsp.readFile(snapshotFile(), 'utf8')) as { entries: [string, number][] };
  const entry = snapshot.entries.find(([name]) => name === marked) as [string, number];
  entry[1] += 1000;
  await fsp.writeFile(snapshotFile(), JSON.stringify(snapshot));

  const secs = Math.floor(Date.now() / 1000);
  const body = 'Subject: from another program\n\nHello.\n';
  // As an MTA delivers: no S= or W= in the names; into new/, and one already read into cur/ with its flags.
  await fsp.writeFile(path.join(mailroot, DOMAIN, boxName(12), 'new', `${secs}.P77Q1.otherhost`), body);
  await fsp.writeFile(path.join(mailroot, DOMAIN, boxName(13), 'cur', `${secs}.P77Q2.otherhost:2,S`), `${body}more\n`);
  // And one taken away, as another server sharing the store deletes.
  const taken = path.join(mailroot, DOMAIN, boxName(16), 'new');
  const [first] = await fsp.readdir(taken);
  assert.ok(first, `${boxName(16)} has a message to take away`);
  await fsp.rm(path.join(taken, first));

  const rows = await listed();
  assert.equal(await hasSnapshot(), true, 'the snapshot is still there');
  assert.equal(row(rows, marked).messages, entry[1], 'the listing came from the snapshot');
  const truth = await diskTruth(mailroot, DOMAIN);
  assert.deepEqual(rows.filter((r) => r.name !== marked), truth.filter((r) => r.name !== marked), 'every other mailbox as on disk, the three changed ones too');

  // A service start still rewrites the snapshot from its walk.
  const svc = await startPop3svc(mailroot, config);
  try {
    // The walk runs in the background after the start; the snapshot is written once it is through.
    await svc.recovered();
    const written = JSON.parse(await fsp.readFile(snapshotFile(), 'utf8')) as { entries: [string, number][] };
    assert.equal(written.entries.find(([name]) => name === boxName(12))?.[1], row(truth, boxName(12)).messages, 'the start wrote what its walk found');
  } finally {
    await svc.stop();
  }
  await listsTheTruth('after the restart');
});
