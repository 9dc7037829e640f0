/**
 * The listing index under concurrent work: deliveries, expunges, listings
 * and admin changes at once must leave counts that match the disk.
 */

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MailStore, StoreChange } from '../../electron/service/store/types.js';
import { open, removeRoot, seededStore, streamOf, tempRoot } from './store-fixture.js';

/** Messages and bytes of a mailbox as the disk has them. */
async function onDisk(root: string, mailbox: string): Promise<{ messages: number; bytes: number }> {
  let messages = 0;
  let bytes = 0;
  for (const sub of ['new', 'cur']) {
    const dir = path.join(root, 'example.com', mailbox, sub);
    for (const name of await fsp.readdir(dir)) {
      messages += 1;
      bytes += (await fsp.stat(path.join(dir, name))).size;
    }
  }
  return { messages, bytes };
}

describe('store index under concurrency', () => {
  let root: string;
  let store: MailStore;
  before(async () => {
    root = await tempRoot();
    store = await seededStore(root);
  });
  after(() => removeRoot(root));

  it('keeps counts exact while deliveries, expunges and listings overlap', async () => {
    for (let i = 0; i < 10; i++) await store.deliver('bob@example.com', streamOf(`Subject: seed ${i}\r\n\r\n${'x'.repeat(i * 10)}\r\n`));
    const drop = await store.openMaildrop('bob@example.com');
    const arrived: Exclude<StoreChange, { type: 'stateProblem' }>[] = [];
    store.onChange((c) => {
      if (c.type !== 'stateProblem') arrived.push(c);
    });
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      work.push(store.deliver(i % 2 ? 'bob@example.com' : 'alice@example.com', streamOf(`Subject: ${i}\r\n\r\n${'y'.repeat(i * 7)}\r\n`)));
      if (i % 5 === 0) work.push(store.listMailboxes('example.com'), store.listDomains());
      if (i === 10) work.push(drop.expunge(drop.messages.slice(0, 6)));
      if (i === 20) work.push(store.setMailboxLock('alice@example.com', { by: 'a', at: new Date().toISOString() }));
    }
    // A second, fresh store building its index from scratch while the first keeps writing.
    const second = await open(root);
    work.push(second.listMailboxes('example.com'));
    await Promise.all(work);

    const list = await store.listMailboxes('example.com');
    for (const name of ['alice', 'bob']) {
      const want = await onDisk(root, name);
      const got = list.find((m) => m.name === name);
      assert.deepEqual({ messages: got?.messages, bytes: got?.bytes }, want, `${name} in the index matches the disk`);
    }
    assert.equal(list.find((m) => m.name === 'alice')?.locked, true);
    const lastBob = arrived.filter((c) => c.address === 'bob@example.com').at(-1);
    assert.ok(lastBob);
    const sums = await store.getDomain('example.com');
    assert.equal(sums.messages, list.reduce((n, m) => n + m.messages, 0));
    assert.equal(sums.bytes, list.reduce((n, m) => n + m.bytes, 0));
    assert.equal(arrived.filter((c) => c.type === 'mailArrived').length, 40);
    assert.equal(arrived.filter((c) => c.type === 'mailboxChanged').length, 1);
  });

  it('adds and deletes mailboxes while listing, and other processes\' additions show up', async () => {
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      work.push(store.addMailbox(`user${i}@example.com`, 'pw'));
      work.push(store.listMailboxes('example.com'));
    }
    await Promise.all(work);
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.deleteMailbox(`user${i * 2}@example.com`)));
    const other = await open(root);
    await other.addMailbox('from-elsewhere@example.com', 'pw');
    await other.deleteMailbox('user1@example.com');
    const names = (await store.listMailboxes('example.com')).map((m) => m.name);
    const expected = ['alice', 'bob', 'from-elsewhere', ...Array.from({ length: 10 }, (_, i) => `user${i * 2 + 1}`).filter((n) => n !== 'user1')].sort();
    assert.deepEqual(names, expected);
    assert.equal((await store.getDomain('example.com')).mailboxes, expected.length);
  });
});
