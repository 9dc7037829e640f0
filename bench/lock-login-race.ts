/**
 * Workload 4: lock → next log-in refused. Log-ins are hammered in a loop
 * while the mailbox (or its domain) is locked; any log-in that still
 * succeeds after the lock call returned is a failure of the guarantee.
 *
 *   node dist/bench/lock-login-race.js [--rounds 20]
 *
 * Each hammer connection does USER, PASS and, when PASS is accepted, STAT,
 * then QUIT, again and again. Violations:
 *   - a PASS sent after the lock call returned that was answered +OK;
 *   - a STAT sent after the lock call returned that was answered +OK (a
 *     session that survived the lock).
 * Half the rounds use the store's real password hash (scrypt, ~0.1 s per
 * log-in: the lock lands while hashes are running), half a light hash (many
 * more log-ins per second). Rounds alternate mailbox and domain locks.
 */

import { performance } from 'node:perf_hooks';
import { connectControl } from '../electron/service/admin/control-client.js';
import { setupPair } from './lib/pair.js';
import { Pop3Client } from './lib/pop3-client.js';
import { saveResult } from './lib/results.js';
import { options, runMain, sleep } from './lib/util.js';

interface Attempt {
  readonly passSent: number;
  readonly passReplied: number;
  readonly passOk: boolean;
  readonly statSent?: number;
  readonly statOk?: boolean;
}

const HAMMERS = 4;

async function hammer(port: number, address: string, password: string, stop: () => boolean, out: Attempt[]): Promise<void> {
  while (!stop()) {
    let client: Pop3Client | undefined;
    try {
      ({ client } = await Pop3Client.connect(port));
      await client.command(`USER ${address}`);
      const passSent = performance.now();
      const pass = await client.command(`PASS ${password}`);
      const passReplied = performance.now();
      if (!pass.startsWith('+OK')) {
        out.push({ passSent, passReplied, passOk: false });
        continue;
      }
      const statSent = performance.now();
      let statOk = false;
      try {
        statOk = (await client.command('STAT')).startsWith('+OK');
      } catch {
        // Closed by the lock: the session did not survive it.
      }
      out.push({ passSent, passReplied, passOk: true, statSent, statOk });
      if (statOk) await client.quit().catch(() => undefined);
    } catch {
      // Ended mid-log-in by the lock (the session was closed): not a success.
    } finally {
      client?.destroy();
    }
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const opt = options();
  const rounds = opt.num('rounds', 20);
  const pair = await setupPair({
    dovecot: false,
    groups: [
      { domain: 'race-real.bench.test', prefix: 'real', count: HAMMERS },
      { domain: 'race-light.bench.test', prefix: 'light', count: HAMMERS, light: true },
    ],
  });
  const control = await connectControl(pair.mailroot, 'bench');
  if (!control) throw new Error('no control channel answered for the running pop3svc');

  let attemptsTotal = 0;
  let acceptedBefore = 0;
  let refusedAfter = 0;
  let inFlight = 0;
  const violations: string[] = [];
  let lastOkBeforeReturnMs = Number.NEGATIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const light = r % 2 === 1;
    const users = pair.groups.get(light ? 'light' : 'real') ?? [];
    const domain = light ? 'race-light.bench.test' : 'race-real.bench.test';
    const byDomain = Math.floor(r / 2) % 2 === 1;
    // A mailbox lock targets the first mailbox; all hammer it and its neighbours, so only its attempts count.
    const target = byDomain ? domain : (users[0]?.address as string);
    const counts = (address: string): boolean => byDomain || address === target;
    let stopping = false;
    const attempts = users.map(() => [] as Attempt[]);
    const hammers = users.map((u, i) => hammer(pair.ours.pop3Port, u.address, u.password, () => stopping, attempts[i] as Attempt[]));
    await sleep(light ? 300 + Math.random() * 300 : 600 + Math.random() * 600);
    const tCall = performance.now();
    await control.lock({ target, reason: 'race benchmark' });
    const tReturn = performance.now();
    await sleep(light ? 400 : 800);
    stopping = true;
    await Promise.all(hammers);
    await control.unlock({ target });
    users.forEach((u, i) => {
      if (!counts(u.address)) return;
      for (const a of attempts[i] as Attempt[]) {
        attemptsTotal++;
        if (a.passSent < tCall && a.passReplied > tCall) inFlight++;
        if (a.passOk && a.passReplied < tReturn) {
          acceptedBefore++;
          lastOkBeforeReturnMs = Math.max(lastOkBeforeReturnMs, a.passReplied - tReturn);
        }
        if (a.passSent > tReturn && !a.passOk) refusedAfter++;
        if (a.passSent > tReturn && a.passOk) violations.push(`round ${r + 1}: PASS sent ${(a.passSent - tReturn).toFixed(1)} ms after the lock returned was accepted (${u.address})`);
        if (a.statSent !== undefined && a.statSent > tReturn && a.statOk) {
          violations.push(`round ${r + 1}: STAT sent ${(a.statSent - tReturn).toFixed(1)} ms after the lock returned was answered +OK (${u.address})`);
        }
      }
    });
    console.log(`round ${r + 1} (${light ? 'light' : 'scrypt'} log-in, ${byDomain ? 'domain' : 'mailbox'} lock): lock took ${(tReturn - tCall).toFixed(1)} ms; totals: ${attemptsTotal} attempts, ${inFlight} in flight at the lock, ${refusedAfter} refused after it, ${violations.length} violations`);
  }
  control.close();
  for (const v of violations.slice(0, 20)) console.log(`VIOLATION ${v}`);
  await saveResult(
    {
      name: 'lock-login-race',
      title: 'Lock → next log-in refused (ours; log-ins hammered during the lock)',
      command: `node dist/bench/lock-login-race.js --rounds ${rounds}`,
      table: [
        ['rounds', 'log-in attempts on the locked target', 'in flight when the lock was called', 'accepted before the lock returned', 'refused after', 'accepted after the lock returned (violations)'],
        [String(rounds), String(attemptsTotal), String(inFlight), String(acceptedBefore), String(refusedAfter), String(violations.length)],
      ],
      targets: [{ what: 'log-ins accepted (or sessions still usable) after the lock returned', target: 'none', value: String(violations.length), met: violations.length === 0 }],
      notes: [
        `${HAMMERS} connections hammer USER/PASS/STAT/QUIT in a loop; the lock is called through the control channel of the running pop3svc ${'after 0.3–1.2 s'} and hammering goes on for 0.4–0.8 s after it returns; then the target is unlocked.`,
        "Odd rounds use the store's real scrypt hash, even rounds a light hash; rounds alternate mailbox and domain locks. With the cache of verified credentials, only the first log-in of each mailbox in this pop3svc run pays scrypt (a locked mailbox's password is still verified, then refused); later ones, in odd rounds too, are cache hits: this run checks the cached path, and a lock landing while scrypt runs is hardly exercised any more.",
        `Latest accepted log-in relative to the lock's return: ${Number.isFinite(lastOkBeforeReturnMs) ? `${lastOkBeforeReturnMs.toFixed(1)} ms` : 'none'} (negative = before it returned).`,
      ],
      raw: { violations },
    },
    started,
  );
}

runMain('lock-login-race', main, 3 * 60_000);
