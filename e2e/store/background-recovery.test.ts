/**
 * The service's recovery (`recovery: 'background'`): the store opens
 * without walking its mailboxes, each mailbox is recovered before its first
 * use (a maildrop, a listing, a delivery, a lock), first uses at the same
 * time share one recovery, telling a hosted domain waits for none of its
 * mailboxes, and a sweep in the background recovers and
 * indexes the rest; `close()` stops it, and the next open's sweep finishes.
 *
 * The store: a domain of 3,000 mailboxes that sorts first (the sweep goes
 * through it before the other), and a small domain whose mailboxes get what
 * a crash leaves behind: an interrupted expunge (its intent record, one of
 * its messages already unlinked) or a dead writer's tmp/ file. A dead
 * writer's tmp/ file in the last mailbox of the big domain tells whether
 * the sweep has reached the small domain yet.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openMailStore } from '../../electron/service/store/index.js';
import { ownHostTag } from '../../electron/service/store/message-names.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { asTruth, boxName, diskTruth, writeDomain } from '../helpers/listing-fixture.js';
import { recordingLogger, removeRoot, streamOf, tempRoot } from './store-fixture.js';

const BIG = 'a-first.example';
const BIG_COUNT = 3000;
const SMALL = 'b-test.example';
const SMALL_COUNT = 10;

let root: string;
let planted = 0;
const boxDir = (domain: string, box: string): string => path.join(root, domain, box);
const address = (box: string): string => `${box}@${SMALL}`;
/** The fixture's messages of a mailbox: `i % 3` of them. */
const fixtureCount = (box: string): number => Number(box.slice(3)) % 3;

/** A process id that no process has now. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid as number;

/** A tmp/ file that a writer killed on this machine left; recovery removes it. */
async function plantTmp(domain: string, box: string): Promise<string> {
  const file = path.join(boxDir(domain, box), 'tmp', `${Math.floor(Date.now() / 1000)}.M${++planted}P${deadPid()}Q1R${planted.toString(16)}.${ownHostTag()}`);
  await fsp.writeFile(file, 'Subject: cut short\n\nhal');
  return file;
}

/** An expunge a crash cut short: its intent record names two messages on disk and one already unlinked. */
async function plantExpunge(box: string): Promise<{ record: string; doomed: string[] }> {
  const names = [0, 1, 2].map((i) => `${Math.floor(Date.now() / 1000)}.Mdoomed${++planted}x${i}P1Q1R0.fixture,S=9,W=10`);
  for (const name of names.slice(1)) await fsp.writeFile(path.join(boxDir(SMALL, box), 'new', name), 'Doomed.\n\n');
  const record = path.join(boxDir(SMALL, box), `.winpop-expunge.${planted.toString(16)}.json`);
  await fsp.writeFile(record, JSON.stringify({ version: 1, files: names.map((n) => `new/${n}`) }));
  return { record, doomed: names };
}

const openBackground = (log = recordingLogger()): Promise<MailStore> => openMailStore(root, { fsync: false, log, recovery: 'background' });

describe("the service's background recovery", () => {
  before(async () => {
    root = await tempRoot();
    await writeDomain(root, BIG, BIG_COUNT);
    await writeDomain(root, SMALL, SMALL_COUNT);
  });
  after(() => removeRoot(root));

  it('opens without recovering any mailbox; a maildrop, a row, a delivery, a lock and a listing each find their mailbox recovered first', async () => {
    const canary = await plantTmp(BIG, boxName(BIG_COUNT - 1));
    const forMaildrop = await plantExpunge(boxName(1));
    const forListing = await plantExpunge(boxName(2));
    const forRow = await plantExpunge(boxName(3));
    const forLock = await plantExpunge(boxName(4));
    const forDelivery = await plantTmp(SMALL, boxName(5));
    const store = await openBackground();
    try {
      // Read before any file-system callback can run: the open itself left every mailbox as it was.
      assert.deepEqual(
        [canary, forMaildrop.record, forListing.record, forRow.record, forLock.record, forDelivery].filter((f) => !existsSync(f)),
        [],
        'the open returned before recovering any mailbox',
      );
      const [drop, row] = await Promise.all([
        store.openMaildrop(address(boxName(1))),
        store.getMailbox(address(boxName(3))),
        store.deliver(address(boxName(5)), streamOf('Subject: first delivery since the start\r\n\r\nHello.\r\n')),
        store.changeLock({ address: address(boxName(4)) }, { by: 'test', at: new Date().toISOString() }),
      ]);
      assert.deepEqual(
        drop.messages.filter((m) => m.uidl.includes('doomed')),
        [],
        'the maildrop shows none of the messages the interrupted expunge deleted',
      );
      assert.equal(drop.messages.length, fixtureCount(boxName(1)));
      assert.equal(row.messages, fixtureCount(boxName(3)), 'the row counts the messages left after the interrupted expunge');
      assert.deepEqual(readdirSync(path.join(boxDir(SMALL, boxName(5)), 'tmp')), [], "after the first delivery, the dead writer's tmp/ file is gone");
      assert.equal(existsSync(forLock.record), false, 'the lock found the interrupted expunge finished');
      const listed = (await store.listMailboxes(SMALL)).find((m) => m.name === boxName(2));
      assert.equal(listed?.messages, fixtureCount(boxName(2)), 'the listing counts the messages left after the interrupted expunge');
      for (const p of [forMaildrop, forListing, forRow, forLock]) {
        assert.equal(existsSync(p.record), false);
        for (const name of p.doomed) assert.equal(existsSync(path.join(path.dirname(p.record), 'new', name)), false, `${name} is gone`);
      }
      // Else the sweep, not the first uses, did the work, and this test proved nothing about them.
      assert.ok(existsSync(canary), `the sweep had not reached ${SMALL} yet: each of these mailboxes was recovered by its first use`);
    } finally {
      await store.close();
    }
  });

  it('first uses of a mailbox at the same time share one recovery', async () => {
    const canary = await plantTmp(BIG, boxName(BIG_COUNT - 1));
    const box = boxName(6);
    const interrupted = await plantExpunge(box);
    const log = recordingLogger();
    const store = await openBackground(log);
    try {
      const [drop, row] = await Promise.all([
        store.openMaildrop(address(box)),
        store.getMailbox(address(box)),
        store.deliver(address(box), streamOf('Subject: meanwhile\r\n\r\nHello.\r\n')),
      ]);
      assert.deepEqual(drop.messages.filter((m) => m.uidl.includes('doomed')), []);
      assert.ok(row.messages === fixtureCount(box) || row.messages === fixtureCount(box) + 1, `row: ${row.messages}`);
      const completed = log.lines.filter((l) => l.message === 'Completed an interrupted expunge' && l.fields?.mailbox === boxDir(SMALL, box));
      assert.equal(completed.length, 1, 'the interrupted expunge was finished once, by one recovery that the three first uses waited for');
      assert.equal(existsSync(interrupted.record), false);
      assert.ok(existsSync(canary), `the sweep had not reached ${SMALL} yet`);
    } finally {
      await store.close();
    }
  });

  it('telling a hosted domain (SMTP, for an unknown recipient) does not wait for its mailboxes to be recovered', async () => {
    const canary = await plantTmp(BIG, boxName(BIG_COUNT - 1));
    const store = await openBackground();
    try {
      assert.equal(await store.hasDomain(BIG), true);
      assert.equal(await store.hasDomain('not-hosted.example'), false);
      assert.equal(await store.hasDomain('..'), false);
      // The domain's totals (getDomain) would have scanned, and so recovered, every one of its 3,000 mailboxes first.
      assert.ok(existsSync(canary), 'no mailbox of the domain was recovered for the answer');
    } finally {
      await store.close();
    }
  });

  it("close() stops the sweep; the next open's sweep recovers the rest, indexes every mailbox and writes the big domain's snapshot", async () => {
    const canary = await plantTmp(BIG, boxName(BIG_COUNT - 1));
    const left = [await plantTmp(SMALL, boxName(8)), (await plantExpunge(boxName(9))).record];
    const first = await openBackground();
    await first.close();
    await first.recovered();
    assert.deepEqual([canary, ...left].filter((f) => !existsSync(f)), [], 'the sweep stopped at close, before it reached these mailboxes');

    const log = recordingLogger();
    const second = await openBackground(log);
    try {
      await second.recovered();
      assert.deepEqual([canary, ...left].filter((f) => existsSync(f)), [], 'the sweep recovered every mailbox');
      const finished = log.lines.find((l) => l.message === 'Store recovery finished');
      assert.equal(finished?.fields?.mailboxes, BIG_COUNT + SMALL_COUNT, 'the sweep went through every mailbox');
      assert.deepEqual(asTruth(await second.listMailboxes(BIG)), await diskTruth(root, BIG));
      assert.deepEqual(asTruth(await second.listMailboxes(SMALL)), await diskTruth(root, SMALL));
      const snapshot = path.join(root, '.winpop', 'index', BIG, 'listing.json');
      assert.ok(existsSync(snapshot), 'the snapshot of the big domain was written from the index the sweep built');
      const entries = (JSON.parse(await fsp.readFile(snapshot, 'utf8')) as { entries: unknown[] }).entries;
      assert.equal(entries.length, BIG_COUNT);
    } finally {
      await second.close();
    }
  });
});
