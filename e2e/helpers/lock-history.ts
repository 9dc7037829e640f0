/**
 * Checks a history of concurrent lock and unlock calls on one target
 * against the state it left, for the lock race tests.
 *
 * Replies from several callers arrive in no useful order, so they are
 * ordered by what they report, two ways:
 *
 * - Counting (needs nothing but `changed`): a call that reports
 *   `changed: true` found the opposite state and left its own, so the
 *   changing calls of one target, in the order they took effect, alternate
 *   lock, unlock, lock… from the state before. However they interleave, the
 *   numbers of changing locks L and unlocks U satisfy L − U ∈ {0, 1} (from
 *   unlocked) or U − L ∈ {0, 1} (from locked), and fix the final state. Two
 *   calls that both read the old state and both wrote (a lost update) break
 *   the alternation or the final state.
 * - Serials (exact): every reply carries the target's lock serial, which the
 *   store bumps with each change, read and written in one step. Changing
 *   replies must carry distinct serials that are exactly the next L + U
 *   numbers; every reply must name the state (and the lock: who, why) that
 *   its serial implies, the first state flipped once per step; the stored
 *   state, lock and serial are those of the reply with the highest serial.
 *
 * Neither argument depends on timing: a correct store passes for every
 * interleaving, and a lost update fails as soon as two calls overlap on one
 * target.
 */

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { LockInfo, LockResult } from '../../shared/contract.js';
import { python } from './python.js';
import { REPLY } from '../../electron/service/pop3/responses.js';

export interface RaceTarget {
  readonly name: string;
  readonly kind: 'mailbox' | 'domain';
  readonly domain: string;
}

/** One target's part of one call, as its caller saw it. */
export interface Outcome {
  readonly call: number;
  readonly via: string;
  readonly op: 'lock' | 'unlock';
  readonly target: string;
  readonly result?: LockResult;
  readonly error?: { readonly code: string; readonly message: string };
}

/** A target's lock as its state file has it. */
export interface Stored {
  readonly lock: LockInfo | null;
  readonly serial: number;
}

export function stateFile(mailroot: string, t: RaceTarget): string {
  if (t.kind === 'domain') return path.join(mailroot, t.name, '.winpop-domain.json');
  return path.join(mailroot, t.domain, t.name.slice(0, t.name.indexOf('@')), '.winpop-mailbox.json');
}

export async function readStored(mailroot: string, t: RaceTarget): Promise<Stored> {
  const meta = JSON.parse(await fsp.readFile(stateFile(mailroot, t), 'utf8')) as { lock: LockInfo | null; lockSerial?: number };
  return { lock: meta.lock, serial: meta.lockSerial ?? 0 };
}

export function describeOutcome(o: Outcome): string {
  const r = o.result;
  return r
    ? `call ${o.call} ${o.op} via ${o.via}: locked=${r.locked} changed=${r.changed} serial=${r.serial}${r.lock?.reason ? ` reason=${r.lock.reason}` : ''}`
    : `call ${o.call} ${o.op} via ${o.via}: ${o.error?.code}`;
}

/**
 * Checks the outcomes of one target from state `start` (before the calls)
 * against `now` (after them all; null when the target was deleted, which
 * leaves only the replies to check against each other).
 */
export function checkHistory(t: RaceTarget, start: Stored, outcomes: readonly Outcome[], now: Stored | null, seed: number): void {
  const where = `${t.name} (seed ${seed})`;
  const wasLocked = start.lock !== null;
  for (const o of outcomes) {
    if (o.error) {
      // A mailbox's unlock is refused while its domain is locked; a deleted target is not found; nothing else may fail.
      const refused = t.kind === 'mailbox' && o.op === 'unlock' && o.error.code === 'DOMAIN_LOCKED';
      assert.ok(refused || (now === null && o.error.code === 'NOT_FOUND'), `${where}: ${describeOutcome(o)}: ${o.error.message}`);
      continue;
    }
    const r = o.result as LockResult;
    assert.equal(r.target, t.name, `${where}: ${describeOutcome(o)} names its target`);
    assert.equal(r.locked, o.op === 'lock', `${where}: ${describeOutcome(o)} reports the state it asked for`);
  }
  const ok = outcomes.filter((o) => o.result !== undefined);
  const changed = ok.filter((o) => o.result?.changed);
  const locks = changed.filter((o) => o.op === 'lock').length;
  const unlocks = changed.length - locks;
  const history = ok.map(describeOutcome).join('\n  ');
  const from = wasLocked ? 'locked' : 'unlocked';

  // Counting: the changes alternate from the first state.
  const surplus = wasLocked ? unlocks - locks : locks - unlocks;
  assert.ok(surplus === 0 || surplus === 1, `${where}: from ${from}, ${locks} calls changed it to locked and ${unlocks} to unlocked: two calls made the same change\n  ${history}`);
  const impliedLocked = surplus === 0 ? wasLocked : !wasLocked;
  const last = [...ok].sort((a, b) => (a.result?.serial ?? 0) - (b.result?.serial ?? 0)).at(-1);
  if (now) {
    assert.equal(
      now.lock !== null,
      impliedLocked,
      `${where}: final ${now.lock ? 'locked' : 'unlocked'} while the changing replies (${locks} locks, ${unlocks} unlocks from ${from}) say ${impliedLocked ? 'locked' : 'unlocked'}; the last reply by serial: ${last ? describeOutcome(last) : 'none'}\n  ${history}`,
    );
  }

  // Serials: each change has the next number, and every reply names the state of its serial.
  assert.deepEqual(
    changed.map((o) => o.result?.serial).sort((a, b) => (a ?? 0) - (b ?? 0)),
    Array.from({ length: changed.length }, (_, i) => start.serial + 1 + i),
    `${where}: the changing replies carry the next serials, one each\n  ${history}`,
  );
  const lockAt = new Map<number, LockInfo | null>([[start.serial, start.lock]]);
  for (const o of changed) lockAt.set(o.result?.serial as number, o.result?.lock ?? null);
  for (const o of ok) {
    const r = o.result as LockResult;
    assert.ok(r.serial >= start.serial && r.serial <= start.serial + changed.length, `${where}: ${describeOutcome(o)} has a serial of these calls`);
    const lockedThen = (r.serial - start.serial) % 2 === 0 ? wasLocked : !wasLocked;
    assert.equal(r.locked, lockedThen, `${where}: ${describeOutcome(o)} names the state of its serial`);
    assert.deepEqual(r.lock, lockAt.get(r.serial), `${where}: ${describeOutcome(o)} names the lock of its serial`);
  }
  if (!now) return;
  assert.equal(now.serial, start.serial + changed.length, `${where}: the stored serial counts every change\n  ${history}`);
  assert.deepEqual(now.lock, lockAt.get(now.serial), `${where}: the stored lock is the one the last reply named\n  ${history}`);
}

/** The changes of a target in the order they took effect, as its events must list them. */
export function expectedEvents(outcomes: readonly Outcome[]): string[] {
  return outcomes
    .filter((o) => o.result?.changed)
    .sort((a, b) => (a.result?.serial as number) - (b.result?.serial as number))
    .map((o) => (o.op === 'lock' ? `locked ${o.result?.lock?.by}/${o.result?.lock?.reason}` : 'unlocked'));
}

/** Logs in with Python's poplib to each mailbox; the server's answer to PASS. */
export async function popLogins(port: number, accounts: readonly { address: string; password: string }[]): Promise<Map<string, { ok: boolean; reply: string }>> {
  const lines = await python<{ address: string; ok: boolean; reply: string }>(
    `
import poplib
for a in ARGS['accounts']:
    p = poplib.POP3('127.0.0.1', ARGS['port'], timeout=20)
    try:
        p.user(a['address'])
        out = {'address': a['address'], 'ok': True, 'reply': p.pass_(a['password']).decode('latin-1')}
    except poplib.error_proto as e:
        out = {'address': a['address'], 'ok': False, 'reply': e.args[0].decode('latin-1')}
    try:
        p.quit()
    except Exception:
        pass
    print(json.dumps(out))
`,
    { port, accounts },
  );
  return new Map(lines.map((l) => [l.address, { ok: l.ok, reply: l.reply }]));
}

/** The reply a locked mailbox's user gets for the right password. */
export const LOCKED_TEXT = REPLY.lockedAtLogin;
