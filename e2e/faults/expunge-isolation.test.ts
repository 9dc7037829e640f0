/**
 * A QUIT's deletions are seen whole or not at all, even by a session that
 * opens the maildrop while they are still being applied: the client that
 * sent QUIT may hang up (or be closed by a lock) before the expunge ends,
 * which frees the maildrop for the next log-in at once.
 */

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { openMailStore } from '../../electron/service/store/index.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const ADDRESS = 'many@isolation.example';
const MESSAGES = 1000;

let dir: TempDir;
let store: MailStore;

before(async () => {
  dir = await tempDir('winpop-isolation-');
  store = await openMailStore(dir.path, { fsync: false });
  await store.addDomain('isolation.example');
  await store.addMailbox(ADDRESS, 'pw-many');
});
after(async () => {
  await dir?.remove();
});

test('a maildrop opened while an expunge runs shows all of its deletions or none', async () => {
  for (let round = 0; round < 3; round++) {
    const have = (await store.openMaildrop(ADDRESS)).messages.length;
    for (let i = have; i < MESSAGES; i++) await store.deliver(ADDRESS, Readable.from([Buffer.from(`Subject: ${round}-${i}\n\nbody\n`)]));
    const quitting = await store.openMaildrop(ADDRESS);
    const doomed = quitting.messages.slice(0, MESSAGES / 2);
    let done = false;
    const expunge = quitting.expunge(doomed).finally(() => {
      done = true;
    });
    // Next sessions' log-ins, racing the expunge of the one that left, for as long as it runs.
    const snapshots: number[] = [];
    while (!done) snapshots.push((await store.openMaildrop(ADDRESS)).messages.length);
    await expunge;
    for (const seen of snapshots) {
      assert.ok(seen === MESSAGES || seen === MESSAGES - doomed.length, `round ${round}: a snapshot showed ${MESSAGES - seen} of ${doomed.length} deletions`);
    }
    assert.equal((await store.openMaildrop(ADDRESS)).messages.length, MESSAGES - doomed.length);
  }
});
