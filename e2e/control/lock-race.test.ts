/**
 * A lock is never silently lost: many lock, unlock, lockMany and unlockMany
 * calls on mailboxes and domains at once, over several control connections
 * and the in-process admin API of one real service, leave every target in
 * the state that the last of its replies names (ordered by the serial each
 * reply carries; e2e/helpers/lock-history.ts has the argument); the state
 * files, the listings, the events a console sees and POP3 log-in (Python's
 * poplib) all agree with it. Also: the issue's own case (one connection
 * pipelining unlock then lock), an unlock refused under a locked domain,
 * password changes and deletions racing locks.
 *
 * Seeded (printed): replay with LOCK_RACE_SEED; LOCK_RACE_OPS sets the
 * number of calls of the main race (default 300, in rounds of 100, each
 * round checked).
 */

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AdminApi, AdminEvent, BulkItemResult } from '../../shared/contract.js';
import { AdminError, toErrorShape } from '../../shared/errors.js';
import { connectControl, type ControlClient } from '../../electron/service/admin/control-client.js';
import { startService, type ServiceHost } from '../../electron/service/host.js';
import { silentLogger } from '../../electron/service/log.js';
import { readAudit } from '../../electron/service/store/index.js';
import { countFrom, Random, seedFrom } from '../hostile/support.js';
import { checkHistory, describeOutcome, expectedEvents, LOCKED_TEXT, popLogins, readStored, stateFile, type Outcome, type RaceTarget, type Stored } from '../helpers/lock-history.js';
import { rejection } from '../helpers/rejection.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const ROUND = 100;

interface Target extends RaceTarget {
  readonly password?: string;
}

interface Caller {
  readonly name: string;
  readonly api: AdminApi;
}

type LockEvent = Extract<AdminEvent, { type: 'locked' | 'unlocked' }>;

/** Events one subscriber saw, in arrival order. */
class EventLog {
  readonly events: AdminEvent[] = [];
  constructor(readonly name: string) {}

  /** The lock events of a target, from position `from` on. */
  lockEvents(target: string, from = 0): LockEvent[] {
    return this.events.slice(from).filter((e): e is LockEvent => (e.type === 'locked' || e.type === 'unlocked') && e.target === target);
  }
}

const eventText = (e: LockEvent): string => (e.type === 'locked' ? `locked ${e.lock.by}/${e.lock.reason}` : 'unlocked');

const DOMAINS = ['one.race.test', 'two.race.test'];
const MAILBOXES = ['ann', 'ben', 'cy'];
const MARKER = 'marker.race.test';

let dir: TempDir;
let host: ServiceHost;
const clients: ControlClient[] = [];
const callers: Caller[] = [];
let watched: EventLog[] = [];
const targets: Target[] = [];

/** Waits, polling, until `check` holds; fails with `what` after `ms`. */
async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const stored = (t: RaceTarget): Promise<Stored> => readStored(host.mailroot, t);
const mailboxTarget = (address: string, password?: string): Target => ({
  name: address,
  kind: 'mailbox',
  domain: address.slice(address.indexOf('@') + 1),
  ...(password === undefined ? {} : { password }),
});

/** Runs one call and splits it into per-target outcomes. */
async function runCall(call: number, caller: Caller, op: 'lock' | 'unlock', names: readonly string[], reason: string): Promise<Outcome[]> {
  const base = { call, via: caller.name, op };
  if (names.length === 1) {
    const target = names[0] as string;
    try {
      const result = op === 'lock' ? await caller.api.lock({ target, reason }) : await caller.api.unlock({ target });
      return [{ ...base, target, result }];
    } catch (err) {
      assert.ok(err instanceof AdminError, `call ${call} failed with ${String(err)}`);
      return [{ ...base, target, error: toErrorShape(err) }];
    }
  }
  const items: BulkItemResult[] = op === 'lock' ? await caller.api.lockMany({ targets: [...names], reason }) : await caller.api.unlockMany({ targets: [...names] });
  assert.deepEqual(
    items.map((i) => i.target),
    names,
    `call ${call}: one item per target, in order`,
  );
  return items.map((item) => (item.ok ? { ...base, target: item.target, result: item.result } : { ...base, target: item.target, error: item.error }));
}

/** Random single calls on one target from random callers, started at once; `extra` is started among them at a random place. */
function raceOn(random: Random, name: string, calls: number, first: number, extra: () => Promise<unknown>): { outcomes: Promise<Outcome[]>; extra: Promise<unknown> } {
  const work: Promise<Outcome[]>[] = [];
  const at = random.int(0, calls);
  let started: Promise<unknown> = Promise.resolve();
  for (let i = 0; i <= calls; i++) {
    if (i === at) started = extra();
    if (i === calls) break;
    const op = random.chance(0.5) ? 'lock' : 'unlock';
    work.push(runCall(first + i, random.pick(callers), op, [name], `call ${first + i}`));
  }
  return { outcomes: Promise.all(work).then((all) => all.flat()), extra: started };
}

/** Waits until every watcher has seen a new marker lock and unlock; returns where each one's log stands, so what follows is after it. */
async function markEvents(): Promise<number[]> {
  const reason = `marker ${Date.now()} ${Math.random()}`;
  assert.ok((await host.admin.lock({ target: MARKER, reason })).changed);
  await host.admin.unlock({ target: MARKER });
  const seen = (w: EventLog): boolean => {
    const events = w.lockEvents(MARKER);
    const at = events.findIndex((e) => e.type === 'locked' && e.lock.reason === reason);
    return at >= 0 && events[at + 1]?.type === 'unlocked';
  };
  await until(() => watched.every(seen), 'the marker events');
  return watched.map((w) => w.events.length);
}

before(async () => {
  dir = await tempDir('winpop-lock-race-');
  host = await startService({
    mailroot: path.join(dir.path, 'mail'),
    configPath: path.join(dir.path, 'config.json'),
    pop3Port: 0,
    smtpPort: 0,
    log: silentLogger,
    fsync: false,
  });
  assert.ok(host.pop3Port, 'the POP3 listener runs');
  await host.admin.addDomain({ domain: MARKER });
  for (const domain of DOMAINS) {
    await host.admin.addDomain({ domain });
    targets.push({ name: domain, kind: 'domain', domain });
    for (const mailbox of MAILBOXES) {
      const address = `${mailbox}@${domain}`;
      const password = `pw-${mailbox}-${domain}`;
      await host.admin.addMailbox({ address, password });
      targets.push({ name: address, kind: 'mailbox', domain, password });
    }
  }
  for (let i = 1; i <= 3; i++) {
    const client = await connectControl(host.mailroot, `racer${i}`);
    assert.ok(client, 'the control channel answers');
    clients.push(client);
    callers.push({ name: `racer${i}`, api: client });
  }
  callers.push({ name: 'in-process', api: host.admin });
  const inProcess = new EventLog('in-process subscriber');
  host.admin.onEvent((e) => inProcess.events.push(e));
  const subscriber = await connectControl(host.mailroot, 'watcher');
  assert.ok(subscriber);
  clients.push(subscriber);
  const overChannel = new EventLog('control-channel subscriber');
  subscriber.onEvent((e) => overChannel.events.push(e));
  // The service handles a connection's frames in order: once a later call is answered, the subscription is active.
  await subscriber.serverInfo({});
  watched = [inProcess, overChannel];
});

after(async () => {
  for (const client of clients) client.close();
  await host?.stop();
  await dir?.remove();
});

describe('locks under concurrent admin calls', () => {
  test('every target ends as the last reply says: state files, listings, events and POP3 log-in agree', async () => {
    const random = new Random(seedFrom('LOCK_RACE_SEED', 'lock race'));
    const total = countFrom('LOCK_RACE_OPS', 300);
    const all = new Map<string, Outcome[]>(targets.map((t) => [t.name, []]));
    // A random first state, mailboxes before their domains (an own unlock is refused under a locked domain).
    for (const t of [...targets].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'mailbox' ? -1 : 1))) {
      if (random.chance(0.5)) await host.admin.lock({ target: t.name, reason: 'first state' });
    }
    // Events after the marker are the race's.
    const from = await markEvents();
    const first = new Map<string, boolean>();
    for (const t of targets) first.set(t.name, (await stored(t)).lock !== null);

    let call = 0;
    const tally = { calls: 0, changes: 0, refused: 0 };
    for (let done = 0; done < total; done += ROUND) {
      const start = new Map<string, Stored>();
      for (const t of targets) start.set(t.name, await stored(t));
      const work: Promise<Outcome[]>[] = [];
      for (let i = 0; i < Math.min(ROUND, total - done); i++) {
        const caller = random.pick(callers);
        const op = random.chance(0.5) ? 'lock' : 'unlock';
        let names: string[];
        if (random.chance(0.3)) {
          const pool = [...targets];
          names = [];
          for (let k = random.int(2, 4); k > 0; k--) names.push(...pool.splice(random.int(0, pool.length - 1), 1).map((t) => t.name));
        } else names = [random.pick(targets).name];
        call += 1;
        work.push(runCall(call, caller, op, names, `race ${call}`));
      }
      const outcomes = (await Promise.all(work)).flat();
      tally.calls += work.length;
      tally.changes += outcomes.filter((o) => o.result?.changed).length;
      tally.refused += outcomes.filter((o) => o.error).length;

      const final = new Map<string, Stored>();
      for (const t of targets) {
        const now = await stored(t);
        final.set(t.name, now);
        const mine = outcomes.filter((o) => o.target === t.name);
        all.get(t.name)?.push(...mine);
        checkHistory(t, start.get(t.name) as Stored, mine, now, random.seed);
      }

      // The listings, in-process and over the channel.
      for (const api of [host.admin, clients[0] as ControlClient]) {
        for (const domain of DOMAINS) {
          const domainLock = final.get(domain)?.lock ?? null;
          assert.deepEqual((await api.stat({ domain })).domains[0]?.lock, domainLock, `${domain}: the domain's listing shows its stored lock`);
          for (const m of await api.listMailboxes({ domain })) {
            const own = final.get(m.address)?.lock ?? null;
            assert.deepEqual(m.lock, own, `${m.address}: the listing shows the stored own lock`);
            assert.equal(m.domainLocked, domainLock !== null, `${m.address}: the listing shows the domain's lock`);
            assert.equal(m.locked, own !== null || domainLock !== null);
          }
        }
      }

      // Events: every change once, in the order the changes took effect, for every subscriber.
      for (const [w, log] of watched.entries()) {
        for (const t of targets) {
          const want = expectedEvents(all.get(t.name) ?? []);
          await until(() => log.lockEvents(t.name, from[w]).length >= want.length, `${log.name}: ${want.length} lock events of ${t.name}`);
          const events = log.lockEvents(t.name, from[w]);
          assert.deepEqual(events.map(eventText), want, `${log.name}: the lock events of ${t.name} are its changes, in the order they took effect (seed ${random.seed})`);
          const lastEvent = events.at(-1);
          if (lastEvent) assert.equal(lastEvent.type === 'locked', final.get(t.name)?.lock !== null, `${log.name}: the last event of ${t.name} names its final state`);
        }
        // All targets' events in one stream are in the order of their changes: replayed, no mailbox's own
        // unlock lands while its domain is locked (the unlock's look at the domain and its write were one step).
        const state = new Map(first);
        for (const e of log.events.slice(from[w])) {
          if ((e.type !== 'locked' && e.type !== 'unlocked') || !state.has(e.target)) continue;
          if (e.type === 'unlocked' && e.kind === 'mailbox') {
            const domain = targets.find((t) => t.name === e.target)?.domain as string;
            assert.equal(state.get(domain), false, `${log.name}: ${e.target} was unlocked while ${domain} was locked (seed ${random.seed})`);
          }
          state.set(e.target, e.type === 'locked');
        }
        for (const t of targets) assert.equal(state.get(t.name), final.get(t.name)?.lock !== null, `${log.name}: replaying the events gives the final state of ${t.name}`);
      }

      // POP3: a locked mailbox (own or domain lock) refuses the right password with the lock text; the others log in.
      const mailboxes = targets.filter((t) => t.kind === 'mailbox');
      const logins = await popLogins(host.pop3Port as number, mailboxes.map((t) => ({ address: t.name, password: t.password as string })));
      for (const t of mailboxes) {
        const locked = final.get(t.name)?.lock !== null || final.get(t.domain)?.lock !== null;
        const got = logins.get(t.name);
        assert.ok(got, `a log-in result for ${t.name}`);
        if (locked) assert.ok(!got.ok && got.reply.includes(LOCKED_TEXT), `${t.name} is locked: log-in must be refused with the lock text, got ${got.reply}`);
        else assert.ok(got.ok, `${t.name} is unlocked: log-in must succeed, got ${got.reply}`);
      }
    }
    console.log(`lock race: ${tally.calls} calls, ${tally.changes} changes, ${tally.refused} unlocks refused under a locked domain`);
  });

  test('one connection pipelining unlock then lock ends locked, and a domain too', async () => {
    await host.admin.addDomain({ domain: 'pipe.race.test' });
    await host.admin.addMailbox({ address: 'pipe@pipe.race.test', password: 'pw-pipe' });
    const client = clients[0] as ControlClient;
    for (const target of ['pipe@pipe.race.test', 'pipe.race.test']) {
      const t: RaceTarget = target.includes('@') ? mailboxTarget(target) : { name: target, kind: 'domain', domain: target };
      for (let i = 0; i < 10; i++) {
        await client.lock({ target, reason: 'before' });
        const start = await stored(t);
        // Sent back to back on one connection, neither waiting for the other's reply.
        const unlocking = client.unlock({ target });
        const locking = client.lock({ target, reason: `try ${i}` });
        const [unlocked, locked] = await Promise.all([unlocking, locking]);
        const now = await stored(t);
        assert.equal(now.lock?.reason, `try ${i}`, `${target}, try ${i}: the lock sent last is the one that stays (unlock serial ${unlocked.serial} changed=${unlocked.changed}, lock serial ${locked.serial} changed=${locked.changed})`);
        assert.deepEqual([unlocked.changed, locked.changed], [true, true]);
        assert.deepEqual([unlocked.serial, locked.serial, now.serial], [start.serial + 1, start.serial + 2, start.serial + 2]);
      }
      await client.unlock({ target });
    }
  });

  test('an unlock refused because the domain is locked changes nothing: state, listing, audit, events', async () => {
    const domain = 'held.race.test';
    const address = `kept@${domain}`;
    await host.admin.addDomain({ domain });
    await host.admin.addMailbox({ address, password: 'pw-kept' });
    await (clients[1] as ControlClient).lock({ target: address, reason: 'its own reason' });
    await host.admin.lock({ target: domain, reason: 'the domain' });
    const box = mailboxTarget(address);
    const files = [stateFile(host.mailroot, box), stateFile(host.mailroot, { name: domain, kind: 'domain', domain })];
    const bytesBefore = await Promise.all(files.map((f) => fsp.readFile(f, 'utf8')));
    const rowBefore = (await host.admin.listMailboxes({ domain })).find((m) => m.address === address);
    const from = await markEvents();
    const auditBefore = (await readAudit(host.mailroot, 100_000)).length;

    const refused = await rejection((clients[2] as ControlClient).unlock({ target: address }));
    assert.equal(refused.code, 'DOMAIN_LOCKED');
    assert.match(refused.message, /The domain held\.race\.test is locked, so kept@held\.race\.test cannot be unlocked on its own\. Unlock the domain first \(winpop unlock held\.race\.test\)\./);
    const [item] = await host.admin.unlockMany({ targets: [address] });
    assert.ok(item && !item.ok && item.error.code === 'DOMAIN_LOCKED', 'the bulk item is refused the same way');

    assert.deepEqual(await Promise.all(files.map((f) => fsp.readFile(f, 'utf8'))), bytesBefore, 'the state files are untouched');
    assert.deepEqual((await host.admin.listMailboxes({ domain })).find((m) => m.address === address), rowBefore, 'the listing is the same, own lock and reason too');
    const audit = (await readAudit(host.mailroot, 100_000)).slice(auditBefore);
    assert.deepEqual(
      audit.map((e) => [e.op, e.target, e.result, e.detail]),
      [
        ['unlock', address, 'error', refused.message],
        ['unlockMany', address, 'ok', '0 ok, 1 failed'],
      ],
      'the audit log records the refusals and nothing else',
    );
    // Events are sent in order: once a later marker has arrived, any event of the refused unlocks would have too.
    const after = await markEvents();
    for (const [w, log] of watched.entries()) assert.deepEqual(log.events.slice(from[w], after[w]).filter((e) => 'target' in e && e.target === address), [], `${log.name}: no event`);
    const login = (await popLogins(host.pop3Port as number, [{ address, password: 'pw-kept' }])).get(address);
    assert.ok(login && !login.ok && login.reply.includes(LOCKED_TEXT), `still locked: ${login?.reply}`);

    // A domain file that cannot be read: whether the domain is locked is unknown, so the unlock is refused too.
    const domainFile = files[1] as string;
    await fsp.writeFile(domainFile, '{ "version": 1, "lock": ');
    const unknown = await rejection(host.admin.unlock({ target: address }));
    assert.equal(unknown.code, 'STORE_ERROR');
    assert.match(unknown.message, /held\.race\.test\/\.winpop-domain\.json is damaged/);
    assert.equal(await fsp.readFile(files[0] as string, 'utf8'), bytesBefore[0], 'the mailbox file is untouched');
    // Unlocking the domain rewrites its file (the documented repair); then the own unlock goes through.
    await host.admin.unlock({ target: domain });
    assert.equal((await host.admin.unlock({ target: address })).changed, true);
  });

  test('password changes racing locks: the lock stays as the last reply says, and the new password works', async () => {
    const random = new Random(seedFrom('LOCK_RACE_SEED', 'password race'));
    const domain = 'pw.race.test';
    const address = `pat@${domain}`;
    await host.admin.addDomain({ domain });
    await host.admin.addMailbox({ address, password: 'pw-first' });
    const t = mailboxTarget(address);
    for (let round = 0; round < 3; round++) {
      const start = await stored(t);
      const password = `pw-round-${round}`;
      const race = raceOn(random, address, 12, round * 100, () => random.pick(callers).api.changePassword({ address, password }));
      const [outcomes] = await Promise.all([race.outcomes, race.extra]);
      const now = await stored(t);
      checkHistory(t, start, outcomes, now, random.seed);
      const login = (await popLogins(host.pop3Port as number, [{ address, password }])).get(address);
      if (now.lock) {
        assert.ok(login && !login.ok && login.reply.includes(LOCKED_TEXT), `round ${round}: locked with the new password: ${login?.reply}`);
        await host.admin.unlock({ target: address });
        const again = (await popLogins(host.pop3Port as number, [{ address, password }])).get(address);
        assert.ok(again?.ok, `round ${round}: after the unlock the new password logs in: ${again?.reply}`);
      } else assert.ok(login?.ok, `round ${round}: unlocked, the new password logs in: ${login?.reply}`);
    }
  });

  test('deletions racing locks: the target ends deleted with nothing left, and only NOT_FOUND errors', async () => {
    const random = new Random(seedFrom('LOCK_RACE_SEED', 'delete race'));
    const domain = 'del.race.test';
    await host.admin.addDomain({ domain });
    const inProcess = watched[0] as EventLog;
    for (let round = 0; round < 6; round++) {
      const address = `dee@${domain}`;
      await host.admin.addMailbox({ address, password: 'pw-dee' });
      if (random.chance(0.5)) await host.admin.lock({ target: address, reason: 'first' });
      const t = mailboxTarget(address);
      const start = await stored(t);
      const from = inProcess.events.length;
      const race = raceOn(random, address, 12, round * 100, () => random.pick(callers).api.deleteMailbox({ address }));
      const [outcomes] = await Promise.all([race.outcomes, race.extra]);
      checkHistory(t, start, outcomes, null, random.seed);
      await assert.rejects(fsp.lstat(path.join(host.mailroot, domain, 'dee')), { code: 'ENOENT' }, 'no half-deleted mailbox, no state file written after the deletion');
      assert.deepEqual((await host.admin.listMailboxes({ domain })).map((m) => m.address), []);
      // The in-process events: the changes in serial order, and none after the removal.
      const events = inProcess.events.slice(from).filter((e) => ('target' in e && e.target === address) || ('address' in e && e.address === address));
      assert.equal(events.at(-1)?.type, 'mailboxRemoved', `round ${round}: the removal is the last event of ${address}`);
      assert.deepEqual(events.slice(0, -1).map((e) => eventText(e as LockEvent)), expectedEvents(outcomes), `round ${round}: the lock events are the changes, in order`);
    }

    // A whole domain deleted while its lock and its mailboxes' locks change.
    for (let round = 0; round < 4; round++) {
      const gone = `gone${round}.race.test`;
      await host.admin.addDomain({ domain: gone });
      for (const m of ['a', 'b']) await host.admin.addMailbox({ address: `${m}@${gone}`, password: 'pw' });
      const names = [gone, `a@${gone}`, `b@${gone}`];
      const work: Promise<Outcome[]>[] = [];
      let deleted: Promise<unknown> = Promise.resolve();
      const at = random.int(0, 15);
      for (let i = 0; i < 16; i++) {
        if (i === at) deleted = random.pick(callers).api.deleteDomain({ domain: gone });
        work.push(runCall(i, random.pick(callers), random.chance(0.5) ? 'lock' : 'unlock', [random.pick(names)], `call ${i}`));
      }
      const [outcomes] = await Promise.all([Promise.all(work), deleted]);
      for (const o of outcomes.flat()) {
        if (o.error) assert.ok(['NOT_FOUND', 'DOMAIN_LOCKED'].includes(o.error.code), `${describeOutcome(o)} on ${o.target}: ${o.error.message}`);
      }
      await assert.rejects(fsp.lstat(path.join(host.mailroot, gone)), { code: 'ENOENT' }, 'nothing of the domain is left');
      assert.ok(!(await host.admin.listDomains({})).some((d) => d.name === gone));
    }
  });
});
