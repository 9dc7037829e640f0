/**
 * Deleting messages: all or nothing, and an interrupted expunge completed
 * when the store or the mailbox is opened again.
 */

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openMailStore } from '../../electron/service/store/index.js';
import type { MailStore, StoreChange } from '../../electron/service/store/types.js';
import { open, readAll, recordingLogger, removeRoot, seededStore, streamOf, tempRoot } from './store-fixture.js';

describe('store expunge', () => {
  let root: string;
  let store: MailStore;
  const bobDir = (): string => path.join(root, 'example.com', 'bob');

  before(async () => {
    root = await tempRoot();
    store = await seededStore(root);
    for (let i = 1; i <= 5; i++) await store.deliver('bob@example.com', streamOf(`Subject: ${i}\r\n\r\nbody ${i}\r\n`));
  });
  after(() => removeRoot(root));

  it('deletes the given messages, updates the counts and tells listeners', async () => {
    const drop = await store.openMaildrop('bob@example.com');
    assert.equal(drop.messages.length, 5);
    const changes: StoreChange[] = [];
    const stop = store.onChange((c) => changes.push(c));
    const doomed = [drop.messages[0]!, drop.messages[2]!];
    await drop.expunge(doomed);
    stop();
    const left = await store.openMaildrop('bob@example.com');
    assert.deepEqual(left.messages.map((m) => m.uidl), [1, 3, 4].map((i) => drop.messages[i]!.uidl));
    const summary = await store.getMailbox('bob@example.com');
    assert.equal(summary.messages, 3);
    assert.deepEqual(changes, [{ type: 'mailboxChanged', address: 'bob@example.com', messages: 3, bytes: summary.bytes }]);
    assert.equal((await store.listMailboxes('example.com')).find((m) => m.name === 'bob')?.messages, 3);
    assert.deepEqual((await fsp.readdir(bobDir())).filter((n) => n.includes('expunge')), [], 'no intent record left');
    // Reading a message deleted meanwhile fails cleanly rather than returning something else.
    await assert.rejects(readAll(drop.openMessage(doomed[0]!)), { code: 'ENOENT' });
  });

  it('refuses messages that are not from this maildrop', async () => {
    const drop = await store.openMaildrop('bob@example.com');
    const forged = { file: '../alice/.winpop-mailbox.json', uidl: 'x', size: 1 };
    await assert.rejects(drop.expunge([forged]), /not a message of bob@example\.com/);
    assert.throws(() => drop.openMessage(forged), /not a message of bob@example\.com/);
    await fsp.access(path.join(root, 'example.com', 'alice', '.winpop-mailbox.json'));
  });

  it('completes an interrupted expunge when the store is reopened', async () => {
    const drop = await store.openMaildrop('bob@example.com');
    const [first, second, third] = drop.messages;
    assert.ok(first && second && third);
    // The state a crash after the intent record and the first unlink leaves behind.
    await fsp.writeFile(path.join(bobDir(), '.winpop-expunge.json'), JSON.stringify({ version: 1, files: [first.file, second.file] }));
    await fsp.unlink(path.join(bobDir(), first.file));

    const reopened = await open(root);
    const after = await reopened.openMaildrop('bob@example.com');
    assert.deepEqual(after.messages.map((m) => m.uidl), [third.uidl]);
    assert.deepEqual((await fsp.readdir(bobDir())).filter((n) => n.includes('expunge')), []);
    assert.equal((await reopened.getMailbox('bob@example.com')).messages, 1);
  });

  it('completes an intent record found when a maildrop is opened, without a restart', async () => {
    for (let i = 6; i <= 7; i++) await store.deliver('bob@example.com', streamOf(`Subject: ${i}\r\n\r\nbody ${i}\r\n`));
    const drop = await store.openMaildrop('bob@example.com');
    const last = drop.messages[drop.messages.length - 1]!;
    await store.listMailboxes('example.com'); // the index is built before the record appears
    await fsp.writeFile(path.join(bobDir(), '.winpop-expunge.0a1b.json'), JSON.stringify({ version: 1, files: [last.file] }));
    const next = await store.openMaildrop('bob@example.com');
    assert.ok(!next.messages.some((m) => m.uidl === last.uidl));
    assert.equal((await store.listMailboxes('example.com')).find((m) => m.name === 'bob')?.messages, next.messages.length);
  });

  it('with lazy recovery, finishes a mailbox\'s interrupted expunge and clears its tmp/ the first time it is used', async () => {
    const drop = await store.openMaildrop('bob@example.com');
    const first = drop.messages[0]!;
    await fsp.writeFile(path.join(bobDir(), '.winpop-expunge.json'), JSON.stringify({ version: 1, files: [first.file] }));
    const junk = path.join(bobDir(), 'tmp', `1000000000.M1P${2 ** 22 + 7}Q1R00.old,S=1,W=1`);
    await fsp.writeFile(junk, 'x');
    const past = new Date(Date.now() - 40 * 3600 * 1000);
    await fsp.utimes(junk, past, past);

    const lazy = await openMailStore(root, { fsync: false, recovery: 'lazy' });
    await fsp.access(path.join(bobDir(), '.winpop-expunge.json')); // not yet: nothing touched bob
    const list = await lazy.listMailboxes('example.com');
    assert.equal(list.find((m) => m.name === 'bob')?.messages, drop.messages.length - 1);
    assert.deepEqual((await fsp.readdir(bobDir())).filter((n) => n.includes('expunge')), []);
    assert.deepEqual(await fsp.readdir(path.join(bobDir(), 'tmp')), []);
  });

  it('never deletes outside the mailbox for a tampered intent record; it is set aside and logged', async () => {
    const log = recordingLogger();
    const victim = path.join(root, 'example.com', 'alice', '.winpop-mailbox.json');
    const before = (await store.openMaildrop('bob@example.com')).messages.length;
    await fsp.writeFile(path.join(bobDir(), '.winpop-expunge.json'), JSON.stringify({ version: 1, files: ['new/../../alice/.winpop-mailbox.json'] }));
    await open(root, log);
    await fsp.access(victim);
    const names = await fsp.readdir(bobDir());
    assert.ok(!names.includes('.winpop-expunge.json'));
    assert.ok(names.some((n) => n.startsWith('.winpop-expunge-damaged.')));
    assert.ok(log.lines.some((l) => l.level === 'error' && /Damaged expunge record/.test(l.message)));
    assert.equal((await store.openMaildrop('bob@example.com')).messages.length, before);
  });
});
