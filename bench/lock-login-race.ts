/**
 * Workload 4: lock → next log-in refused. Log-ins are hammered in a loop
 * while the mailbox (or its domain) is locked; any log-in that still
 * succeeds after the lock call returned is a failure of the guarantee
 * (lib/lock-race-rounds.ts has the rounds and what counts as a violation).
 *
 *   node dist/bench/lock-login-race.js [--rounds 20] [--seed N]
 *
 * Half the rounds use the store's real password hash (scrypt, ~0.1 s per
 * log-in: the lock lands while hashes are running), half a light hash (many
 * more log-ins per second). Rounds alternate mailbox and domain locks. The
 * random waits before each lock come from the seed, printed at the start.
 */

import { connectControl } from '../electron/service/admin/control-client.js';
import { Random } from '../e2e/hostile/support.js';
import { HAMMERS, runLockRace } from './lib/lock-race-rounds.js';
import { setupPair } from './lib/pair.js';
import { saveResult } from './lib/results.js';
import { options, runMain } from './lib/util.js';

async function main(): Promise<void> {
  const started = Date.now();
  const opt = options();
  const rounds = opt.num('rounds', 20);
  const seed = opt.has('seed') ? opt.num('seed', 0) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`seed ${seed} (replay with --seed ${seed})`);
  const random = new Random(seed);
  const pair = await setupPair({
    dovecot: false,
    groups: [
      { domain: 'race-real.bench.test', prefix: 'real', count: HAMMERS },
      { domain: 'race-light.bench.test', prefix: 'light', count: HAMMERS, light: true },
    ],
  });
  const control = await connectControl(pair.mailroot, 'bench');
  if (!control) throw new Error('no control channel answered for the running pop3svc');

  const figures = await runLockRace({
    port: pair.ours.pop3Port,
    admin: control,
    real: { domain: 'race-real.bench.test', users: pair.groups.get('real') ?? [] },
    light: { domain: 'race-light.bench.test', users: pair.groups.get('light') ?? [] },
    rounds,
    random: () => random.next(),
  });
  control.close();
  const sum = (pick: (f: (typeof figures)[number]) => number): number => figures.reduce((total, f) => total + pick(f), 0);
  const violations = figures.flatMap((f) => f.violations);
  const lastOkBeforeReturnMs = Math.max(...figures.map((f) => f.lastOkBeforeReturnMs));
  for (const v of violations.slice(0, 20)) console.log(`VIOLATION ${v}`);
  await saveResult(
    {
      name: 'lock-login-race',
      title: 'Lock → next log-in refused (ours; log-ins hammered during the lock)',
      command: `node dist/bench/lock-login-race.js --rounds ${rounds} --seed ${seed}`,
      table: [
        ['rounds', 'log-in attempts on the locked target', 'in flight when the lock was called', 'accepted before the lock returned', 'refused after', 'accepted after the lock returned (violations)'],
        [String(rounds), String(sum((f) => f.attempts)), String(sum((f) => f.inFlight)), String(sum((f) => f.acceptedBefore)), String(sum((f) => f.refusedAfter + f.refusedOtherwise.length)), String(violations.length)],
      ],
      targets: [{ what: 'log-ins accepted (or sessions still usable) after the lock returned', target: 'none', value: String(violations.length), met: violations.length === 0 }],
      notes: [
        `${HAMMERS} connections hammer USER/PASS/STAT/QUIT in a loop; the lock is called through the control channel of the running pop3svc ${'after 0.3–1.2 s'} (and once the target has accepted a log-in) and hammering goes on for 0.4–0.8 s after it returns (and until a log-in was tried after it); then the target is unlocked.`,
        "Odd rounds use the store's real scrypt hash, even rounds a light hash; rounds alternate mailbox and domain locks. With the cache of verified credentials, only the first log-in of each mailbox in this pop3svc run pays scrypt (a locked mailbox's password is still verified, then refused); later ones, in odd rounds too, are cache hits: this run checks the cached path, and a lock landing while scrypt runs is hardly exercised any more.",
        `Latest accepted log-in relative to the lock's return: ${Number.isFinite(lastOkBeforeReturnMs) ? `${lastOkBeforeReturnMs.toFixed(1)} ms` : 'none'} (negative = before it returned).`,
      ],
      raw: { seed, violations, rounds: figures },
    },
    started,
  );
}

runMain('lock-login-race', main, 3 * 60_000);
