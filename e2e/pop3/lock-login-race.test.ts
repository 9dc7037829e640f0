/**
 * The lock-versus-log-in race of bench/lock-login-race.ts, short: two rounds
 * of its code (bench/lib/lock-race-rounds.ts) against a real pop3svc, the
 * locks sent through its control channel. Four connections hammer
 * USER/PASS/STAT/QUIT while the lock is called; no PASS or STAT sent after
 * the lock returned may be answered +OK. Each round must also show log-ins
 * accepted before the lock and refused by it after, so a round that
 * exercised nothing fails.
 *
 * The waits before each lock are random: the seed is printed, and
 * LOCK_LOGIN_RACE_SEED replays it; LOCK_LOGIN_RACE_ROUNDS runs more rounds
 * (rounds 3 and 4 lock the domain instead of one mailbox).
 */

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { HAMMERS, runLockRace, type RaceGroup } from '../../bench/lib/lock-race-rounds.js';
import { lightScryptHash } from '../../bench/lib/pair.js';
import { countFrom, Random, seedFrom, startService } from '../hostile/support.js';

const group = (domain: string, prefix: string): RaceGroup => ({
  domain,
  users: Array.from({ length: HAMMERS }, (_, i) => ({ address: `${prefix}${i}@${domain}`, password: `pw-${prefix}${i}-race` })),
});
const REAL = group('race-real.test', 'real');
const LIGHT = group('race-light.test', 'light');

test('no log-in gets through a lock while log-ins are hammered, and each round logged in before the lock and was refused after it', async (ctx) => {
  const random = new Random(seedFrom('LOCK_LOGIN_RACE_SEED', 'lock-login race'));
  const rounds = countFrom('LOCK_LOGIN_RACE_ROUNDS', 2);
  const service = await startService({
    mailboxes: [...REAL.users, ...LIGHT.users],
    // As the benchmark does: the light group's log-ins cost little, so many more of them race the lock.
    prepare: async (mailroot) => {
      for (const u of LIGHT.users) {
        const [name, domain] = u.address.split('@') as [string, string];
        const file = path.join(mailroot, domain, name, '.winpop-mailbox.json');
        const meta = JSON.parse(await readFile(file, 'utf8')) as { password: string };
        meta.password = lightScryptHash(u.password);
        await writeFile(file, JSON.stringify(meta));
      }
    },
  });
  try {
    const control = await service.control();
    try {
      const figures = await runLockRace({
        port: service.svc.pop3Port,
        admin: control,
        real: REAL,
        light: LIGHT,
        rounds,
        random: () => random.next(),
        log: (line) => ctx.diagnostic(line),
        patienceMs: 30_000,
      });
      assert.equal(figures.length, rounds);
      for (const f of figures) {
        for (const other of f.refusedOtherwise) ctx.diagnostic(`round ${f.round}: refused otherwise: ${other}`);
        assert.equal(f.violations.length, 0, `round ${f.round}: ${f.violations.length} log-ins or sessions got through the lock, first:\n${f.violations.slice(0, 5).join('\n')}`);
        assert.ok(f.acceptedBefore > 0, `round ${f.round}: no log-in on ${f.target} was accepted before the lock returned`);
        assert.ok(f.refusedAfter > 0, `round ${f.round}: no log-in on ${f.target} sent after the lock returned was refused by it`);
      }
    } finally {
      control.close();
    }
  } finally {
    await service.cleanup();
  }
});
