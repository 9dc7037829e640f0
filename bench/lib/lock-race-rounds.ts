/**
 * The rounds of the lock-versus-log-in race: log-ins are hammered in a loop
 * while a mailbox (or its domain) is locked through the admin API; any
 * log-in that still succeeds after the lock call returned breaks the
 * guarantee. bench/lock-login-race.ts runs many rounds and keeps the
 * figures; e2e/pop3/lock-login-race.test.ts runs two in CI.
 *
 * Each hammer connection does USER, PASS and, when PASS is accepted, STAT,
 * then QUIT, again and again. Violations:
 *   - a PASS sent after the lock call returned that was answered +OK;
 *   - a STAT sent after the lock call returned that was answered +OK (a
 *     session that survived the lock).
 * Odd rounds use mailboxes with the store's real password hash (scrypt),
 * even rounds mailboxes with a light hash (many more log-ins per second);
 * rounds 1-2 lock one mailbox, 3-4 its domain, and so on.
 *
 * A round locks only once its target has accepted a log-in, and ends only
 * once a log-in was tried after the lock returned: a round that exercised
 * nothing fails instead of counting as a pass.
 */

import { performance } from 'node:perf_hooks';
import type { AdminApi } from '../../shared/contract.js';
import { Pop3Client } from './pop3-client.js';

/** Connections hammering at once: one per mailbox of a group. */
export const HAMMERS = 4;

export interface RaceUser {
  readonly address: string;
  readonly password: string;
}

/** HAMMERS mailboxes of one domain, all with the same kind of password hash. */
export interface RaceGroup {
  readonly domain: string;
  readonly users: readonly RaceUser[];
}

export interface RaceOptions {
  /** The POP3 port of the running service. */
  readonly port: number;
  /** Its admin API (the control channel), through which each lock and unlock goes. */
  readonly admin: Pick<AdminApi, 'lock' | 'unlock'>;
  readonly real: RaceGroup;
  readonly light: RaceGroup;
  readonly rounds: number;
  /** A number in [0, 1) for the random waits; seeded by the caller so that a run can be replayed. */
  readonly random: () => number;
  /** One line per round; console.log unless given. */
  readonly log?: (line: string) => void;
  /** How long a round waits for the log-ins it needs before it fails (default 60 s). */
  readonly patienceMs?: number;
}

interface Attempt {
  readonly passSent: number;
  readonly passReplied: number;
  readonly passOk: boolean;
  /** The answer to a refused PASS. */
  readonly refusal?: string;
  readonly statSent?: number;
  readonly statOk?: boolean;
}

export interface RoundFigures {
  readonly round: number;
  readonly light: boolean;
  readonly byDomain: boolean;
  readonly target: string;
  readonly lockMs: number;
  /** Log-in attempts on the locked target (all mailboxes of the domain, or the one mailbox). */
  readonly attempts: number;
  /** PASS sent before the lock call and answered after it. */
  readonly inFlight: number;
  /** PASS accepted, answered before the lock call returned. */
  readonly acceptedBefore: number;
  /** PASS sent after the lock call returned and refused with the lock's answer. */
  readonly refusedAfter: number;
  /** PASS sent after the lock call returned and refused with another answer (not a violation; shown). */
  readonly refusedOtherwise: readonly string[];
  readonly violations: readonly string[];
  /** Latest accepted PASS relative to the lock's return (negative: before it). */
  readonly lastOkBeforeReturnMs: number;
}

/** What the administrator's lock answers a log-in with (pop3/responses.ts: lockedAtLogin). */
const LOCK_ANSWER = /^-ERR \[AUTH\] Log-in to this mailbox is disabled by the administrator/;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function hammer(port: number, user: RaceUser, stop: () => boolean, out: Attempt[]): Promise<void> {
  while (!stop()) {
    let client: Pop3Client | undefined;
    try {
      ({ client } = await Pop3Client.connect(port));
      await client.command(`USER ${user.address}`);
      const passSent = performance.now();
      const pass = await client.command(`PASS ${user.password}`);
      const passReplied = performance.now();
      if (!pass.startsWith('+OK')) {
        out.push({ passSent, passReplied, passOk: false, refusal: pass });
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

/** Polls until `check` holds; fails after `ms` with `what`. */
async function until(check: () => boolean, what: string, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) throw new Error(`lock race: ${what} within ${ms / 1000} s`);
    await sleep(10);
  }
}

/** Runs one round: hammer, lock, hammer on, stop, unlock; returns its figures. */
async function round(options: RaceOptions, r: number): Promise<RoundFigures> {
  const light = r % 2 === 1;
  const group = light ? options.light : options.real;
  const byDomain = Math.floor(r / 2) % 2 === 1;
  // A mailbox lock targets the first mailbox; all hammer it and its neighbours, so only its attempts count.
  const target = byDomain ? group.domain : (group.users[0] as RaceUser).address;
  const counted = group.users.map((u) => byDomain || u.address === target);
  const patience = options.patienceMs ?? 60_000;
  let stopping = false;
  const attempts = group.users.map(() => [] as Attempt[]);
  const onTarget = (): Attempt[] => attempts.filter((_, i) => counted[i]).flat();
  const hammers = group.users.map((u, i) => hammer(options.port, u, () => stopping, attempts[i] as Attempt[]));
  let tCall = Number.NaN;
  let tReturn = Number.NaN;
  try {
    await sleep(light ? 300 + options.random() * 300 : 600 + options.random() * 600);
    await until(() => onTarget().some((a) => a.passOk), `no log-in on ${target} was accepted before the lock`, patience);
    tCall = performance.now();
    await options.admin.lock({ target, reason: 'race benchmark' });
    tReturn = performance.now();
    await sleep(light ? 400 : 800);
    await until(() => onTarget().some((a) => a.passSent > tReturn), `no log-in on ${target} was tried after the lock returned`, patience);
  } finally {
    stopping = true;
    await Promise.all(hammers);
    if (!Number.isNaN(tCall)) await options.admin.unlock({ target });
  }

  const violations: string[] = [];
  const refusedOtherwise: string[] = [];
  let inFlight = 0;
  let acceptedBefore = 0;
  let refusedAfter = 0;
  let lastOkBeforeReturnMs = Number.NEGATIVE_INFINITY;
  group.users.forEach((u, i) => {
    if (!counted[i]) return;
    for (const a of attempts[i] as Attempt[]) {
      if (a.passSent < tCall && a.passReplied > tCall) inFlight++;
      if (a.passOk && a.passReplied < tReturn) {
        acceptedBefore++;
        lastOkBeforeReturnMs = Math.max(lastOkBeforeReturnMs, a.passReplied - tReturn);
      }
      if (a.passSent > tReturn && !a.passOk) {
        if (LOCK_ANSWER.test(a.refusal ?? '')) refusedAfter++;
        else refusedOtherwise.push(`${u.address}: ${a.refusal ?? ''}`);
      }
      if (a.passSent > tReturn && a.passOk) violations.push(`round ${r + 1}: PASS sent ${(a.passSent - tReturn).toFixed(1)} ms after the lock returned was accepted (${u.address})`);
      if (a.statSent !== undefined && a.statSent > tReturn && a.statOk) {
        violations.push(`round ${r + 1}: STAT sent ${(a.statSent - tReturn).toFixed(1)} ms after the lock returned was answered +OK (${u.address})`);
      }
    }
  });
  return {
    round: r + 1,
    light,
    byDomain,
    target,
    lockMs: tReturn - tCall,
    attempts: onTarget().length,
    inFlight,
    acceptedBefore,
    refusedAfter,
    refusedOtherwise,
    violations,
    lastOkBeforeReturnMs,
  };
}

/** Runs the rounds one after another; each one's line is logged as it ends. */
export async function runLockRace(options: RaceOptions): Promise<RoundFigures[]> {
  for (const group of [options.real, options.light]) {
    if (group.users.length === 0) throw new Error(`lock race: the group of ${group.domain} has no mailboxes`);
  }
  const log = options.log ?? ((line: string) => console.log(line));
  const figures: RoundFigures[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const f = await round(options, r);
    figures.push(f);
    log(
      `round ${f.round} (${f.light ? 'light' : 'scrypt'} log-in, ${f.byDomain ? 'domain' : 'mailbox'} lock of ${f.target}): lock took ${f.lockMs.toFixed(1)} ms; ` +
        `${f.attempts} attempts, ${f.acceptedBefore} accepted before the lock returned, ${f.inFlight} in flight at the lock, ` +
        `${f.refusedAfter} refused by it after, ${f.refusedOtherwise.length} refused otherwise, ${f.violations.length} violations`,
    );
  }
  return figures;
}
