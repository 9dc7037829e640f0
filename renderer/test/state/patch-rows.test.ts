/**
 * patch-rows: the console keeps a domain's mailbox list up to date from the
 * service's events alone. Checked by hand on small lists, then against a
 * real admin service over a real store: after every change, the rows kept by
 * events must be what a fresh listing (F5) shows, and a list fetched at any
 * moment, given the events from any earlier moment on (events that came
 * while it was fetched, some it already has), must end as the service does.
 */

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import type { AdminEvent, LockInfo, LockResult, MailboxSummary, MailboxTable } from '../../../shared/contract.js';
import { applyMailboxEvents, domainRows, touchesDomainList, type DomainRows } from '../../src/state/patch-rows.js';
import { openTestService, PASSWORD, type TestService } from '../../../e2e/helpers/admin-service.js';

const DOMAIN = 'example.com';
const LOCK: LockInfo = { by: 'admin', at: '2024-05-01T10:00:00.000Z', reason: 'left the company' };
const LATER_LOCK: LockInfo = { by: 'other-admin', at: '2024-05-02T09:30:00.000Z' };

/** The list the console holds after fetching `table`. */
function listOf(table: Partial<MailboxTable> & Pick<MailboxTable, 'names'>): DomainRows {
  const count = table.names.length;
  return domainRows({
    domain: DOMAIN,
    domainLocked: false,
    messages: Array<number>(count).fill(0),
    bytes: Array<number>(count).fill(0),
    locks: {},
    ...table,
  });
}

function rowOf(list: DomainRows, name: string): MailboxSummary {
  const row = list.rows.find((r) => r.name === name);
  assert.ok(row, `${name} should be in the list (it has ${list.rows.map((r) => r.name).join(', ') || 'no rows'})`);
  return row;
}

/** What the administrator sees of a list: the domain's state and the rows by address (the view sorts them itself). */
function shown(list: DomainRows): unknown {
  return {
    domainLocked: list.domainLocked,
    domainProblem: list.domainProblem,
    rows: [...list.rows].sort((a, b) => a.address.localeCompare(b.address)),
  };
}

describe('applyMailboxEvents, by hand', () => {
  const three = (): DomainRows => listOf({ names: ['alice', 'bob', 'carol'], messages: [1, 0, 2], bytes: [100, 0, 250], locks: { 1: LOCK } });

  test('events of other domains and events that change no row leave the very same list', () => {
    const list = three();
    const unrelated: AdminEvent[] = [
      // Suffix traps: the domain is what follows the last @, not a string match.
      { type: 'locked', target: 'alice@ample.com', kind: 'mailbox', lock: LOCK },
      { type: 'locked', target: 'alice@mail.example.com', kind: 'mailbox', lock: LOCK },
      { type: 'locked', target: 'other.org', kind: 'domain', lock: LOCK },
      { type: 'locked', target: 'mail.example.com', kind: 'domain', lock: LOCK },
      { type: 'stateProblem', target: 'other.org', kind: 'domain', problem: 'damaged' },
      { type: 'mailArrived', address: 'alice@other.org', messages: 9, bytes: 900 },
      { type: 'mailboxAdded', address: 'dave@other.org' },
      { type: 'mailboxRemoved', address: 'alice@other.org' },
      { type: 'domainAdded', domain: DOMAIN },
      { type: 'passwordChanged', address: 'alice@example.com' },
      { type: 'sessionOpened', address: 'alice@example.com', remote: '127.0.0.1' },
      { type: 'sessionClosed', address: 'alice@example.com', remote: '127.0.0.1', reason: 'QUIT' },
    ];
    assert.equal(applyMailboxEvents(list, unrelated), list);
    assert.equal(applyMailboxEvents(list, []), list);
  });

  test("a mailbox's lock and unlock change its row only; the other rows stay the same objects (their grid rows do not re-render)", () => {
    const list = three();
    const locked = applyMailboxEvents(list, [{ type: 'locked', target: 'carol@example.com', kind: 'mailbox', lock: LATER_LOCK }]);
    assert.deepEqual(rowOf(locked, 'carol'), { ...rowOf(list, 'carol'), lock: LATER_LOCK, locked: true });
    assert.equal(rowOf(locked, 'alice'), rowOf(list, 'alice'));
    assert.equal(rowOf(locked, 'bob'), rowOf(list, 'bob'));

    const unlocked = applyMailboxEvents(locked, [{ type: 'unlocked', target: 'bob@example.com', kind: 'mailbox' }]);
    assert.deepEqual(rowOf(unlocked, 'bob'), { ...rowOf(list, 'bob'), lock: null, locked: false });
    assert.equal(rowOf(unlocked, 'carol'), rowOf(locked, 'carol'));
    assert.deepEqual(
      unlocked.rows.map((r) => r.name),
      ['alice', 'bob', 'carol'],
      'a change keeps the list order',
    );
    // The service refuses that unlock while the domain is locked; an old event replayed on a newer list still must not open the row.
    const underDomain = listOf({ names: ['bob'], locks: { 0: LOCK }, domainLocked: true });
    const stale = applyMailboxEvents(underDomain, [{ type: 'unlocked', target: 'bob@example.com', kind: 'mailbox' }]);
    assert.deepEqual(rowOf(stale, 'bob'), { ...rowOf(underDomain, 'bob'), lock: null, locked: true });
  });

  test('a domain lock locks every row through the domain and keeps their own locks; its unlock leaves the own locks', () => {
    const list = three();
    const locked = applyMailboxEvents(list, [{ type: 'locked', target: DOMAIN, kind: 'domain', lock: LATER_LOCK }]);
    assert.equal(locked.domainLocked, true);
    assert.deepEqual(
      locked.rows.map((r) => [r.name, r.lock, r.domainLocked, r.locked]),
      [
        ['alice', null, true, true],
        ['bob', LOCK, true, true],
        ['carol', null, true, true],
      ],
    );
    const unlocked = applyMailboxEvents(locked, [{ type: 'unlocked', target: DOMAIN, kind: 'domain' }]);
    assert.equal(unlocked.domainLocked, false);
    assert.deepEqual(shown(unlocked), shown(list), 'after the unlock the rows are as before the lock');
  });

  test('a mailbox added to a locked domain is locked through it: in the same batch, in a later batch, and when the domain was empty', () => {
    const lockDomain: AdminEvent = { type: 'locked', target: DOMAIN, kind: 'domain', lock: LOCK };
    const addDave: AdminEvent = { type: 'mailboxAdded', address: 'dave@example.com' };
    const expectedDave: MailboxSummary = {
      name: 'dave',
      domain: DOMAIN,
      address: 'dave@example.com',
      messages: 0,
      bytes: 0,
      lock: null,
      domainLocked: true,
      locked: true,
    };
    assert.deepEqual(rowOf(applyMailboxEvents(three(), [lockDomain, addDave]), 'dave'), expectedDave, 'same batch');
    assert.deepEqual(rowOf(applyMailboxEvents(applyMailboxEvents(three(), [lockDomain]), [addDave]), 'dave'), expectedDave, 'later batch');

    const empty = listOf({ names: [] });
    const emptyLocked = applyMailboxEvents(empty, [lockDomain]);
    assert.equal(emptyLocked.domainLocked, true, 'an empty domain remembers its lock');
    assert.deepEqual(emptyLocked.rows, []);
    assert.deepEqual(rowOf(applyMailboxEvents(emptyLocked, [addDave]), 'dave'), expectedDave, 'empty domain locked in an earlier batch');
    // An empty domain fetched while locked: the table says so, no row does.
    const fetchedLocked = listOf({ names: [], domainLocked: true });
    assert.deepEqual(rowOf(applyMailboxEvents(fetchedLocked, [addDave]), 'dave'), expectedDave, 'empty domain fetched locked');
  });

  test("a damaged domain file marks every row and new ones, and its lock reads as none, as the service lists it; a domain lock or unlock that changes it rewrites the file and clears the mark", () => {
    const problem = 'The store file example.com/.winpop-domain.json is damaged (not valid JSON). Lock the domain and unlock it again to rewrite it.';
    const lockedDomain = listOf({ names: ['alice', 'bob', 'carol'], locks: { 1: LOCK }, domainLocked: true });
    const damaged = applyMailboxEvents(lockedDomain, [
      { type: 'stateProblem', target: DOMAIN, kind: 'domain', problem },
      { type: 'mailboxAdded', address: 'dave@example.com' },
    ]);
    assert.equal(damaged.domainProblem, problem);
    assert.equal(damaged.domainLocked, false);
    assert.deepEqual(
      damaged.rows.map((r) => [r.name, r.domainProblem, r.domainLocked, r.locked]),
      [
        ['alice', problem, false, false],
        ['bob', problem, false, true],
        ['carol', problem, false, false],
        ['dave', problem, false, false],
      ],
      "bob keeps his own lock; the domain's cannot be read",
    );
    const repaired = applyMailboxEvents(damaged, [{ type: 'locked', target: DOMAIN, kind: 'domain', lock: LOCK }]);
    assert.equal(repaired.domainProblem, null);
    assert.equal(repaired.domainLocked, true);
    for (const row of repaired.rows) assert.equal('domainProblem' in row, false, `${row.name} has no domainProblem field, not an undefined one`);
    // Repaired without a change of lock (an unlock of a file that reads as unlocked): only the problem goes.
    const whole = applyMailboxEvents(damaged, [{ type: 'stateProblem', target: DOMAIN, kind: 'domain', problem: null }]);
    assert.deepEqual(shown(whole), shown(applyMailboxEvents(lockedDomain, [{ type: 'unlocked', target: DOMAIN, kind: 'domain' }, { type: 'mailboxAdded', address: 'dave@example.com' }])));
    // A damaged empty domain: the mailbox added later carries the problem.
    const emptyDamaged = listOf({ names: [], domainProblem: problem });
    assert.equal(rowOf(applyMailboxEvents(emptyDamaged, [{ type: 'mailboxAdded', address: 'dave@example.com' }]), 'dave').domainProblem, problem);
  });

  test("a damaged mailbox file marks that row and its lock reads as none; its repair removes the field (absent, never undefined)", () => {
    const problem = 'The store file example.com/bob/.winpop-mailbox.json is damaged (not valid JSON). Set its password to rewrite it.';
    const damaged = applyMailboxEvents(three(), [{ type: 'stateProblem', target: 'bob@example.com', kind: 'mailbox', problem }]);
    assert.deepEqual(rowOf(damaged, 'bob'), { ...rowOf(three(), 'bob'), lock: null, locked: false, problem });
    assert.equal('problem' in rowOf(damaged, 'alice'), false);
    const underDomainLock = applyMailboxEvents(damaged, [{ type: 'locked', target: DOMAIN, kind: 'domain', lock: LOCK }]);
    assert.equal(rowOf(underDomainLock, 'bob').locked, true, 'still locked through its domain');
    const repaired = applyMailboxEvents(damaged, [{ type: 'stateProblem', target: 'bob@example.com', kind: 'mailbox', problem: null }]);
    assert.equal('problem' in rowOf(repaired, 'bob'), false);
    assert.equal(rowOf(repaired, 'bob').lock, null, 'a password repair writes no lock back');
  });

  test('counts follow mail arriving and mail deleted; the last event of a batch wins', () => {
    const after = applyMailboxEvents(three(), [
      { type: 'mailArrived', address: 'bob@example.com', messages: 1, bytes: 40 },
      { type: 'mailArrived', address: 'bob@example.com', messages: 2, bytes: 95 },
      { type: 'mailboxChanged', address: 'carol@example.com', messages: 0, bytes: 0 },
    ]);
    assert.deepEqual(
      after.rows.map((r) => [r.name, r.messages, r.bytes]),
      [
        ['alice', 1, 100],
        ['bob', 2, 95],
        ['carol', 0, 0],
      ],
    );
  });

  test('an added mailbox that is already listed keeps its row; a removed one that is not listed changes nothing', () => {
    const list = three();
    const again = applyMailboxEvents(list, [{ type: 'mailboxAdded', address: 'bob@example.com' }]);
    assert.deepEqual(shown(again), shown(list), "bob's lock and counts stay");
    const removed = applyMailboxEvents(list, [
      { type: 'mailboxRemoved', address: 'zed@example.com' },
      { type: 'mailboxRemoved', address: 'alice@example.com' },
    ]);
    assert.deepEqual(
      removed.rows.map((r) => r.name),
      ['bob', 'carol'],
    );
  });

  test('every event applied twice, in one batch or two, gives what applying it once gives', () => {
    const lockedDomain = (): DomainRows => applyMailboxEvents(three(), [{ type: 'locked', target: DOMAIN, kind: 'domain', lock: LOCK }]);
    const damagedCarol = (): DomainRows =>
      applyMailboxEvents(three(), [{ type: 'stateProblem', target: 'carol@example.com', kind: 'mailbox', problem: 'damaged mailbox file' }]);
    // Each event with a list it changes.
    const cases: [AdminEvent, () => DomainRows][] = [
      [{ type: 'locked', target: 'alice@example.com', kind: 'mailbox', lock: LATER_LOCK }, three],
      [{ type: 'unlocked', target: 'bob@example.com', kind: 'mailbox' }, three],
      [{ type: 'locked', target: DOMAIN, kind: 'domain', lock: LATER_LOCK }, three],
      [{ type: 'unlocked', target: DOMAIN, kind: 'domain' }, lockedDomain],
      [{ type: 'stateProblem', target: DOMAIN, kind: 'domain', problem: 'damaged domain file' }, three],
      [{ type: 'stateProblem', target: 'carol@example.com', kind: 'mailbox', problem: 'damaged mailbox file' }, three],
      [{ type: 'stateProblem', target: 'carol@example.com', kind: 'mailbox', problem: null }, damagedCarol],
      [{ type: 'mailArrived', address: 'bob@example.com', messages: 3, bytes: 300 }, three],
      [{ type: 'mailboxChanged', address: 'carol@example.com', messages: 1, bytes: 120 }, three],
      [{ type: 'mailboxAdded', address: 'dave@example.com' }, three],
      [{ type: 'mailboxRemoved', address: 'alice@example.com' }, three],
    ];
    for (const [event, start] of cases) {
      const once = applyMailboxEvents(start(), [event]);
      assert.notDeepEqual(shown(once), shown(start()), `${JSON.stringify(event)} should change something (else this test proves nothing)`);
      assert.deepEqual(shown(applyMailboxEvents(start(), [event, event])), shown(once), `${event.type} twice in one batch`);
      assert.deepEqual(shown(applyMailboxEvents(once, [event])), shown(once), `${event.type} again in a later batch`);
    }
  });
});

describe('touchesDomainList', () => {
  test('refetches the domain list for what changes its counts, sizes, locks and names, and for a damaged domain file only', () => {
    const cases: [AdminEvent, boolean][] = [
      [{ type: 'domainAdded', domain: DOMAIN }, true],
      [{ type: 'domainRemoved', domain: DOMAIN }, true],
      [{ type: 'mailboxAdded', address: 'a@example.com' }, true],
      [{ type: 'mailboxRemoved', address: 'a@example.com' }, true],
      [{ type: 'locked', target: 'a@example.com', kind: 'mailbox', lock: LOCK }, true],
      [{ type: 'unlocked', target: DOMAIN, kind: 'domain' }, true],
      [{ type: 'mailArrived', address: 'a@example.com', messages: 1, bytes: 10 }, true],
      [{ type: 'mailboxChanged', address: 'a@example.com', messages: 0, bytes: 0 }, true],
      [{ type: 'stateProblem', target: DOMAIN, kind: 'domain', problem: 'damaged' }, true],
      [{ type: 'stateProblem', target: 'a@example.com', kind: 'mailbox', problem: 'damaged' }, false],
      [{ type: 'passwordChanged', address: 'a@example.com' }, false],
      [{ type: 'sessionOpened', address: 'a@example.com', remote: '127.0.0.1' }, false],
      [{ type: 'sessionClosed', address: 'a@example.com', remote: '127.0.0.1', reason: 'QUIT' }, false],
    ];
    for (const [event, expected] of cases) assert.equal(touchesDomainList(event), expected, JSON.stringify(event));
  });
});

/** The service with `DOMAIN`, and a fresh listing of it as the console fetches it. */
async function openService(): Promise<TestService & { list(): Promise<DomainRows> }> {
  const service = await openTestService([DOMAIN]);
  return { ...service, list: async () => domainRows(await service.admin.listMailboxTable({ domain: DOMAIN })) };
}

function mail(text: string): Readable {
  return Readable.from([Buffer.from(text, 'latin1')]);
}

/** Makes the service find its state file damaged, as a log-in does. */
async function damage(s: TestService, file: string, address: string): Promise<void> {
  await writeFile(path.join(s.store.root, file), '{ "version": 1');
  await assert.rejects(s.store.checkLogin(address, PASSWORD), /is damaged/);
}

describe('applyMailboxEvents against a real service', () => {
  test('the rows kept by events are what a fresh listing shows, after every change, and from any fetch with any earlier events', async () => {
    const s = await openService();
    try {
      const address = (name: string): string => `${name}@${DOMAIN}`;
      const steps: [string, () => Promise<unknown>][] = [
        ['lock the empty domain', () => s.admin.lock({ target: DOMAIN })],
        ['add alice under the domain lock', () => s.admin.addMailbox({ address: address('alice'), password: PASSWORD })],
        ['add bob', () => s.admin.addMailbox({ address: address('bob'), password: PASSWORD })],
        ['lock bob with a reason', () => s.admin.lock({ target: address('bob'), reason: 'left the company' })],
        ['unlock the domain', () => s.admin.unlock({ target: DOMAIN })],
        ['deliver to alice', () => s.store.deliver(address('alice'), mail('Subject: one\n\nHello.\n'))],
        ['deliver to alice again', () => s.store.deliver(address('alice'), mail('Subject: two\n\nHello again, a longer one.\n'))],
        [
          "alice's mail client deletes her first message",
          async () => {
            const drop = await s.store.openMaildrop(address('alice'));
            await drop.expunge(drop.messages.slice(0, 1));
          },
        ],
        ['add carol', () => s.admin.addMailbox({ address: address('carol'), password: PASSWORD })],
        ['lock carol', () => s.admin.lock({ target: address('carol') })],
        ['unlock carol', () => s.admin.unlock({ target: address('carol') })],
        ['lock carol again', () => s.admin.lock({ target: address('carol') })],
        ['delete carol', () => s.admin.deleteMailbox({ address: address('carol') })],
        ['add carol again: a new mailbox, unlocked and empty', () => s.admin.addMailbox({ address: address('carol'), password: PASSWORD })],
        ['lock bulk: alice and carol', () => s.admin.lockMany({ targets: [address('alice'), address('carol')] })],
        ['unlock bulk: alice and carol', () => s.admin.unlockMany({ targets: [address('alice'), address('carol')] })],
        ['damage the domain file; a log-in finds it', () => damage(s, `${DOMAIN}/.winpop-domain.json`, address('alice'))],
        ['add dave to the damaged domain', () => s.admin.addMailbox({ address: address('dave'), password: PASSWORD })],
        ['lock the domain: the documented repair', () => s.admin.lock({ target: DOMAIN })],
        ['unlock the domain', () => s.admin.unlock({ target: DOMAIN })],
        ['damage the domain file again; a log-in finds it', () => damage(s, `${DOMAIN}/.winpop-domain.json`, address('alice'))],
        ['unlock the damaged domain (it reads as unlocked): a repair that changes no lock', () => s.admin.unlock({ target: DOMAIN })],
        ["damage dave's file; a log-in finds it", () => damage(s, `${DOMAIN}/dave/.winpop-mailbox.json`, address('dave'))],
        ["set dave's password: the documented repair", () => s.admin.changePassword({ address: address('dave'), password: PASSWORD })],
        ["damage bob's file while he is locked; a log-in finds it", () => damage(s, `${DOMAIN}/bob/.winpop-mailbox.json`, address('bob'))],
        ['lock the domain', () => s.admin.lock({ target: DOMAIN })],
        ['damage the domain file while it is locked; a log-in finds it', () => damage(s, `${DOMAIN}/.winpop-domain.json`, address('alice'))],
        ['delete bob, locked', () => s.admin.deleteMailbox({ address: address('bob') })],
      ];

      const snapshots: DomainRows[] = [await s.list()];
      const cuts: number[] = [s.events.length];
      let byEvents = snapshots[0] as DomainRows;
      for (const [what, run] of steps) {
        const before = s.events.length;
        await run();
        // Else the comparison below would check an idle list, not the events.
        assert.ok(s.events.length > before, `"${what}" should be announced by an event`);
        byEvents = applyMailboxEvents(byEvents, s.events.slice(before));
        const fresh = await s.list();
        assert.deepEqual(shown(byEvents), shown(fresh), `after "${what}" the events alone should give what a fresh listing shows`);
        snapshots.push(fresh);
        cuts.push(s.events.length);
      }
      const final = shown(snapshots[snapshots.length - 1] as DomainRows);
      for (let k = 0; k < snapshots.length; k++) {
        for (let j = 0; j <= (cuts[k] as number); j++) {
          const patched = applyMailboxEvents(snapshots[k] as DomainRows, s.events.slice(j));
          assert.deepEqual(shown(patched), final, `a list fetched after step ${k}, given the events from #${j} on (it had the first ${cuts[k]})`);
        }
      }
    } finally {
      await s.close();
    }
  });

  test('concurrent lock and unlock calls: events come in the order of their serials, so the rows end as the highest serial left them', async () => {
    const s = await openService();
    try {
      const target = `erin@${DOMAIN}`;
      await s.admin.addMailbox({ address: target, password: PASSWORD });
      const start = await s.list();
      const before = s.events.length;
      const calls: Promise<LockResult>[] = [];
      for (let i = 0; i < 24; i++) calls.push(i % 3 === 0 ? s.admin.unlock({ target }) : s.admin.lock({ target, reason: `call ${i}` }));
      const results = await Promise.all(calls);
      const events = s.events.slice(before).filter((e) => (e.type === 'locked' || e.type === 'unlocked') && e.target === target);

      // The serial counts the changes: the changed results, by serial, are the events in their order.
      const changes = results.filter((r) => r.changed).sort((a, b) => a.serial - b.serial);
      assert.deepEqual(
        changes.map((r) => r.serial),
        changes.map((_, i) => (changes[0] as LockResult).serial + i),
        'one serial per change',
      );
      assert.deepEqual(
        events.map((e) => e.type),
        changes.map((r) => (r.locked ? 'locked' : 'unlocked')),
      );
      assert.ok(changes.length >= 2, `the calls should change the lock more than once (${changes.length} changes)`);

      const last = results.reduce((a, b) => (b.serial > a.serial ? b : a));
      const fresh = await s.list();
      const all = s.events.slice(before);
      for (const [label, batch] of [
        ['in order', all],
        ['twice over', [...all, ...all]],
      ] as const) {
        const patched = applyMailboxEvents(start, batch);
        assert.deepEqual(shown(patched), shown(fresh), label);
        assert.equal(rowOf(patched, 'erin').locked, last.locked, `${label}: the highest serial (${last.serial}) says locked=${last.locked}`);
        assert.deepEqual(rowOf(patched, 'erin').lock, last.lock, label);
      }
    } finally {
      await s.close();
    }
  });
});
