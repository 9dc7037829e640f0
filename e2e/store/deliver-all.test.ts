/**
 * Delivering one message to several mailboxes all or nothing (`deliverAll`):
 * every copy becomes visible, or none does and no tmp/ file is left.
 */

import assert from 'node:assert/strict';
import { promises as fsp, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openMailStore } from '../../electron/service/store/index.js';
import type { DeliveryCopy, MailStore, StoreChange } from '../../electron/service/store/types.js';
import { readAll, recordingLogger, removeRoot, streamOf, tempRoot } from './store-fixture.js';

const BOXES = ['ann', 'ben', 'cat'] as const;
const address = (box: string): string => `${box}@example.com`;

describe('store deliverAll', () => {
  let root: string;
  let store: MailStore;
  const log = recordingLogger();
  const boxDir = (box: string, sub: 'tmp' | 'new'): string => path.join(root, 'example.com', box, sub);
  const copies = (subject: string, boxes: readonly string[] = BOXES): DeliveryCopy[] =>
    boxes.map((box) => ({ address: address(box), content: () => streamOf(`To: ${box}\r\nSubject: ${subject}\r\n\r\nbody\r\n`) }));

  /** Message count per mailbox as listed, and the files in each new/ and tmp/. */
  const state = async (): Promise<{ listed: Record<string, number>; fresh: number[]; tmp: number[] }> => {
    const listed: Record<string, number> = {};
    for (const m of await store.listMailboxes('example.com')) listed[m.name] = m.messages;
    const count = async (box: string, sub: 'tmp' | 'new'): Promise<number> => (await fsp.readdir(boxDir(box, sub))).length;
    return {
      listed,
      fresh: await Promise.all(BOXES.map((b) => count(b, 'new'))),
      tmp: await Promise.all(BOXES.map((b) => count(b, 'tmp'))),
    };
  };

  before(async () => {
    root = await tempRoot();
    // With fsync on: the path the service takes.
    store = await openMailStore(root, { fsync: true, log });
    await store.addDomain('example.com');
    for (const box of BOXES) await store.addMailbox(address(box), 'secret');
  });
  after(() => removeRoot(root));

  it('makes every copy visible, counts them in the listing and tells listeners', async () => {
    const changes: Exclude<StoreChange, { type: 'stateProblem' }>[] = [];
    const stop = store.onChange((c) => {
      if (c.type !== 'stateProblem') changes.push(c);
    });
    const results = await store.deliverAll(copies('all'));
    stop();
    assert.deepEqual(results.map((r) => r.address), BOXES.map(address));
    assert.deepEqual(await state(), { listed: { ann: 1, ben: 1, cat: 1 }, fresh: [1, 1, 1], tmp: [0, 0, 0] });
    assert.deepEqual(changes.map((c) => [c.type, c.address, c.messages]), BOXES.map((b) => ['mailArrived', address(b), 1]));
    for (const box of BOXES) {
      const drop = await store.openMaildrop(address(box));
      const text = (await readAll(drop.openMessage(drop.messages[0]!))).toString('latin1');
      assert.equal(text, `To: ${box}\r\nSubject: all\r\n\r\nbody\r\n`, 'each copy has its own content, in CRLF wire form');
    }
  });

  it('a copy that cannot be written (tmp/ is a file): nothing visible anywhere, no tmp/ leftovers', async () => {
    const tmp = boxDir('ben', 'tmp');
    await fsp.rename(tmp, `${tmp}.saved`);
    await fsp.writeFile(tmp, 'in the way');
    try {
      await assert.rejects(store.deliverAll(copies('blocked')), (err: NodeJS.ErrnoException) => err.code === 'STORE_ERROR');
    } finally {
      await fsp.rm(tmp);
      await fsp.rename(`${tmp}.saved`, tmp);
    }
    assert.deepEqual(await state(), { listed: { ann: 1, ben: 1, cat: 1 }, fresh: [1, 1, 1], tmp: [0, 0, 0] });
  });

  it('a copy over its size limit: EMSGSIZE and nothing stored', async () => {
    const big = copies('big').map((c, i) => (i === 2 ? { ...c, maxBytes: 10 } : c));
    await assert.rejects(store.deliverAll(big), { code: 'EMSGSIZE' });
    assert.deepEqual(await state(), { listed: { ann: 1, ben: 1, cat: 1 }, fresh: [1, 1, 1], tmp: [0, 0, 0] });
  });

  it('a rename failing in phase 2 takes back the copies already made visible', async () => {
    const fresh = boxDir('cat', 'new');
    // While the last copy is written (phase 1), cat's new/ is swapped for a file: its rename then fails.
    const sabotaged = copies('late').map((c, i) =>
      i === 2
        ? {
            ...c,
            content: () => {
              renameSync(fresh, `${fresh}.saved`);
              writeFileSync(fresh, 'in the way');
              return c.content();
            },
          }
        : c,
    );
    try {
      await assert.rejects(store.deliverAll(sabotaged), (err: NodeJS.ErrnoException) => err.code === 'STORE_ERROR');
    } finally {
      await fsp.rm(fresh);
      await fsp.rename(`${fresh}.saved`, fresh);
    }
    // ann and ben had theirs renamed into new/ before cat's failed; both were taken back.
    assert.deepEqual(await state(), { listed: { ann: 1, ben: 1, cat: 1 }, fresh: [1, 1, 1], tmp: [0, 0, 0] });
    assert.equal((await store.getMailbox(address('ann'))).messages, 1, 'a fresh scan agrees with the index');
    assert.ok(!log.lines.some((l) => l.level === 'error'), 'taking back worked: nothing to report loudly');
  });

  it('a mailbox deleted before the delivery: NOT_FOUND and nothing stored for the others', async () => {
    await store.deleteMailbox(address('cat'));
    await assert.rejects(store.deliverAll(copies('gone')), { code: 'NOT_FOUND' });
    const listed = Object.fromEntries((await store.listMailboxes('example.com')).map((m) => [m.name, m.messages]));
    assert.deepEqual(listed, { ann: 1, ben: 1 });
    for (const box of ['ann', 'ben']) {
      assert.deepEqual(await fsp.readdir(boxDir(box, 'tmp')), []);
      assert.equal((await fsp.readdir(boxDir(box, 'new'))).length, 1);
    }
    // The retry without that recipient (SMTP refuses it at RCPT now) delivers the rest once.
    await store.deliverAll(copies('gone', ['ann', 'ben']));
    assert.deepEqual(Object.fromEntries((await store.listMailboxes('example.com')).map((m) => [m.name, m.messages])), { ann: 2, ben: 2 });
  });
});
