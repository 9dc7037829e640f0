/**
 * Locks changed by several processes at once on a store that no service
 * runs, as several `winpop` commands do: each reads a state file, decides
 * and writes it. The lock files (.winpop/locks) make that one step across
 * processes; without them two processes both report a change from the same
 * state, and a password change writes back a lock state it read before
 * another process's change.
 *
 * Child processes (e2e/helpers/lock-child.ts, the admin operations on the
 * store as winpop runs them) and real `winpop --json` commands race on a
 * domain and two of its mailboxes; every round is checked with the argument
 * of e2e/helpers/lock-history.ts (the changes alternate; the serials order
 * the replies exactly). At the end a service is started on the store: POP3
 * log-in (poplib) agrees with the state, with the changed password. Also:
 * a lock file left by a process that died is taken over.
 *
 * Seeded (printed): replay with LOCK_RACE_SEED. Each child process makes a
 * tenth of LOCK_RACE_OPS calls (default 300, so 30), 3 processes per round,
 * 2 rounds.
 */

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LockResult } from '../../shared/contract.js';
import { openAdmin } from '../../electron/service/admin/open-admin.js';
import { startService } from '../../electron/service/host.js';
import { silentLogger } from '../../electron/service/log.js';
import { openMailStore } from '../../electron/service/store/index.js';
import { bootId } from '../../electron/service/store/listing-snapshot.js';
import { ownHostTag } from '../../electron/service/store/message-names.js';
import { countFrom, Random, seedFrom } from '../hostile/support.js';
import { LOCK_CHILD } from '../helpers/lock-child.js';
import { checkHistory, LOCKED_TEXT, popLogins, readStored, type Outcome, type RaceTarget, type Stored } from '../helpers/lock-history.js';
import { run, winpop } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const DOMAIN = 'proc.race.test';
const TARGETS: RaceTarget[] = [
  { name: DOMAIN, kind: 'domain', domain: DOMAIN },
  { name: `ann@${DOMAIN}`, kind: 'mailbox', domain: DOMAIN },
  { name: `ben@${DOMAIN}`, kind: 'mailbox', domain: DOMAIN },
];
const FIRST_PASSWORD = 'pw-first';
const NEW_PASSWORD = 'pw-changed-elsewhere';
const PROCESSES = 3;
const ROUNDS = 2;

let dir: TempDir;
let mailroot: string;
let config: string;

before(async () => {
  dir = await tempDir('winpop-lock-procs-');
  mailroot = path.join(dir.path, 'mail');
  config = path.join(dir.path, 'config.json');
  const store = await openMailStore(mailroot, { fsync: false });
  await store.addDomain(DOMAIN);
  for (const t of TARGETS) if (t.kind === 'mailbox') await store.addMailbox(t.name, FIRST_PASSWORD);
  // From here on only other processes touch the store.
  await store.close();
});

after(() => dir?.remove());

const stored = (t: RaceTarget): Promise<Stored> => readStored(mailroot, t);

/** Lock files left in the store (in their domains' folders): none once every process has finished. */
async function lockFilesLeft(): Promise<string[]> {
  const locks = path.join(mailroot, '.winpop', 'locks');
  const left: string[] = [];
  for (const domain of await fsp.readdir(locks).catch(() => [])) {
    for (const name of await fsp.readdir(path.join(locks, domain))) left.push(`${domain}/${name}`);
  }
  return left;
}

describe('locks changed by several processes without a service', () => {
  let passwordChanged = false;

  test('processes racing on the same targets: every change is counted once and the state is the last reply\'s', async () => {
    const random = new Random(seedFrom('LOCK_RACE_SEED', 'lock race across processes'));
    const perProcess = Math.max(1, Math.floor(countFrom('LOCK_RACE_OPS', 300) / 10));
    // A process that has exited: its pid names nobody now.
    const dead = (await run(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])).stdout;
    for (let round = 0; round < ROUNDS; round++) {
      const start = new Map<string, Stored>();
      for (const t of TARGETS) start.set(t.name, await stored(t));
      if (round === 1) {
        // Every target's lock file left by a process that died: the racing processes find them stale at once, and one of them removes each.
        const locks = path.join(mailroot, '.winpop', 'locks', DOMAIN);
        await fsp.mkdir(locks, { recursive: true });
        for (const name of ['.domain', 'ann', 'ben']) await fsp.writeFile(path.join(locks, `${name}.lock`), `${dead} ${bootId()} ${ownHostTag()} 0123456789abcdef\n`);
      }
      const children = Array.from({ length: PROCESSES }, (_, i) =>
        run(process.execPath, [LOCK_CHILD, mailroot, config, `proc${i}`, String(random.int(0, 2 ** 31)), String(perProcess), NEW_PASSWORD, ...TARGETS.map((t) => t.name)], {
          timeoutMs: 120_000,
        }),
      );
      const outcomes: Outcome[] = [];
      for (const child of await Promise.all(children)) {
        assert.equal(child.code, 0, child.stderr);
        for (const line of child.stdout.split('\n').filter((l) => l !== '')) {
          const parsed = JSON.parse(line) as Outcome | { changePassword: string; ok: boolean; error?: { message: string } };
          if ('changePassword' in parsed) {
            assert.ok(parsed.ok, `changepwd ${parsed.changePassword}: ${parsed.error?.message}`);
            passwordChanged = true;
          } else outcomes.push(parsed);
        }
      }
      for (const t of TARGETS) {
        checkHistory(t, start.get(t.name) as Stored, outcomes.filter((o) => o.target === t.name), await stored(t), random.seed);
      }
      assert.deepEqual(await lockFilesLeft(), [], 'every lock file is removed when its change is done');
    }
  });

  test('real winpop commands at once: the same holds', async () => {
    const random = new Random(seedFrom('LOCK_RACE_SEED', 'winpop commands at once'));
    const t = TARGETS[1] as RaceTarget;
    const start = await stored(t);
    const ops = Array.from({ length: 6 }, (_, i) => (random.chance(0.5) ? { op: 'lock' as const, args: ['lock', t.name, '--reason', `winpop ${i}`] } : { op: 'unlock' as const, args: ['unlock', t.name] }));
    const results = await Promise.all(ops.map((o) => winpop(['--mailroot', mailroot, '--config', config, '--json', ...o.args])));
    const outcomes: Outcome[] = results.map((r, i) => {
      const parsed = JSON.parse(r.stdout) as LockResult | { error: { code: string; message: string } };
      const base = { call: i, via: `winpop ${i}`, op: ops[i]?.op as 'lock' | 'unlock', target: t.name };
      return 'error' in parsed ? { ...base, error: parsed.error } : { ...base, result: parsed };
    });
    checkHistory(t, start, outcomes, await stored(t), random.seed);
    assert.deepEqual(await lockFilesLeft(), []);
  });

  test('names at their longest (a 253-character domain, a 64-character mailbox) lock and unlock', async () => {
    const domain = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(56)}.test`;
    const address = `${'m'.repeat(64)}@${domain}`;
    assert.equal(domain.length, 253);
    const admin = await openAdmin({ mailroot, configPath: config, actor: 'long-names' });
    try {
      assert.equal(admin.mode, 'store-only');
      await admin.api.addDomain({ domain });
      await admin.api.addMailbox({ address, password: 'pw-long' });
      for (const target of [address, domain]) {
        assert.equal((await admin.api.lock({ target, reason: 'long' })).serial, 1, target);
      }
      await assert.rejects(admin.api.unlock({ target: address }), { code: 'DOMAIN_LOCKED' });
      for (const target of [domain, address]) assert.equal((await admin.api.unlock({ target })).serial, 2, target);
      await admin.api.deleteDomain({ domain });
    } finally {
      admin.close();
    }
    assert.deepEqual(await lockFilesLeft(), []);
  });

  test('lock files left by a process that died, before a restart or long ago on another machine are taken over; log-in agrees with the state in a service started afterwards', async () => {
    // A process that has exited: its pid names nobody now.
    const dead = await run(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const t = TARGETS[2] as RaceTarget;
    const locks = path.join(mailroot, '.winpop', 'locks', DOMAIN);
    await fsp.mkdir(locks, { recursive: true });
    await fsp.writeFile(path.join(locks, 'ben.lock'), `${dead.stdout} ${bootId()} ${ownHostTag()} 0123456789abcdef\n`);
    // And one written before the machine last started, by a pid that may well run now.
    await fsp.writeFile(path.join(locks, '.domain.lock'), `${process.pid} another-boot ${ownHostTag()} 0123456789abcdef\n`);
    // And one of a holder on another machine, untouched for two minutes.
    const elsewhere = path.join(locks, 'ann.lock');
    await fsp.writeFile(elsewhere, `4242 linux:some-boot elsewhere.example 0123456789abcdef\n`);
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    await fsp.utimes(elsewhere, twoMinutesAgo, twoMinutesAgo);
    const other = TARGETS[1] as RaceTarget;
    const otherBefore = await stored(other);
    const before = await stored(t);
    const out = await winpop(['--mailroot', mailroot, '--config', config, '--json', 'lock', t.name, '--reason', 'after the crash']);
    assert.equal(out.code, 0, out.stderr);
    const result = JSON.parse(out.stdout) as LockResult;
    assert.equal(result.serial, before.serial + (before.lock ? 0 : 1));
    const otherOut = await winpop(['--mailroot', mailroot, '--config', config, '--json', 'unlock', other.name]);
    const otherResult = JSON.parse(otherOut.stdout) as LockResult | { error: { code: string } };
    // Refused only if the domain is locked; either way the lock file of the other machine's holder was no obstacle.
    if ('error' in otherResult) assert.equal(otherResult.error.code, 'DOMAIN_LOCKED');
    else assert.equal(otherResult.serial, otherBefore.serial + (otherBefore.lock ? 1 : 0));
    assert.deepEqual(await lockFilesLeft(), []);

    const host = await startService({ mailroot, configPath: config, pop3Port: 0, smtpPort: 0, log: silentLogger, fsync: false });
    try {
      const mailboxes = TARGETS.filter((m) => m.kind === 'mailbox');
      const domainLocked = (await stored(TARGETS[0] as RaceTarget)).lock !== null;
      const states = await Promise.all(mailboxes.map((m) => stored(m)));
      const listed = await host.admin.listMailboxes({ domain: DOMAIN });
      for (const [i, m] of mailboxes.entries()) {
        assert.deepEqual(listed.find((row) => row.address === m.name)?.lock, states[i]?.lock, `${m.name}: the listing shows the stored lock`);
      }
      const password = passwordChanged ? NEW_PASSWORD : FIRST_PASSWORD;
      const logins = await popLogins(host.pop3Port as number, mailboxes.map((m) => ({ address: m.name, password })));
      for (const [i, m] of mailboxes.entries()) {
        const got = logins.get(m.name);
        if (domainLocked || states[i]?.lock) assert.ok(got && !got.ok && got.reply.includes(LOCKED_TEXT), `${m.name} is locked: ${got?.reply}`);
        else assert.ok(got?.ok, `${m.name} is unlocked and takes the password last set: ${got?.reply}`);
      }
    } finally {
      await host.stop();
    }
  });
});
