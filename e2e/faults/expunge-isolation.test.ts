/**
 * A QUIT's deletions are seen whole or not at all, even by a session that
 * opens the maildrop while they are still being applied: the client that
 * sent QUIT may hang up (or be closed by a lock) before the expunge ends,
 * which frees the maildrop for the next log-in at once.
 *
 * Besides log-ins that race the expunge for as long as it runs, each round
 * opens the maildrop at a moment seen on disk to be inside it: the intent
 * record is there and some of the files are gone, others not. Without the
 * exclusion that log-in would list a half-applied deletion.
 */

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { openMailStore } from '../../electron/service/store/index.js';
import { EXPUNGE_RECORD } from '../../electron/service/store/layout.js';
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

test('a maildrop opened while an expunge runs shows all of its deletions or none', async (t) => {
  const box = path.join(dir.path, 'isolation.example', 'many');
  /** Whether an expunge of `doomed` files is half done: read at once, so that it cannot move on between the look and the log-in that follows. */
  const midway = (doomed: number): { inside: boolean; files: number } => {
    const files = readdirSync(path.join(box, 'new')).length + readdirSync(path.join(box, 'cur')).length;
    const recorded = readdirSync(box).some((n) => EXPUNGE_RECORD.test(n));
    return { inside: recorded && files > MESSAGES - doomed && files < MESSAGES, files };
  };
  const ROUNDS = 3;
  let inside = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const have = (await store.openMaildrop(ADDRESS)).messages.length;
    for (let i = have; i < MESSAGES; i++) await store.deliver(ADDRESS, Readable.from([Buffer.from(`Subject: ${round}-${i}\n\nbody\n`)]));
    const quitting = await store.openMaildrop(ADDRESS);
    const doomed = quitting.messages.slice(0, MESSAGES / 2);
    let done = false;
    const expunge = quitting.expunge(doomed).finally(() => {
      done = true;
    });
    // Next sessions' log-ins, racing the expunge of the one that left, for as long as it runs.
    const racing = (async () => {
      const seen: number[] = [];
      while (!done) seen.push((await store.openMaildrop(ADDRESS)).messages.length);
      return seen;
    })();
    // And one log-in that begins when the disk shows the expunge half done.
    const during = (async () => {
      for (;;) {
        if (done) return null;
        const now = midway(doomed.length);
        if (now.inside) return { files: now.files, seen: (await store.openMaildrop(ADDRESS)).messages.length };
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await expunge;
    const [snapshots, midwayLogin] = await Promise.all([racing, during]);
    if (midwayLogin) {
      inside++;
      assert.equal(midwayLogin.seen, MESSAGES - doomed.length, `round ${round}: a log-in begun with ${midwayLogin.files} of ${MESSAGES} files on disk saw ${MESSAGES - midwayLogin.seen} of ${doomed.length} deletions`);
    }
    for (const seen of snapshots) {
      assert.ok(seen === MESSAGES || seen === MESSAGES - doomed.length, `round ${round}: a snapshot showed ${MESSAGES - seen} of ${doomed.length} deletions`);
    }
    t.diagnostic(
      `round ${round}: ${snapshots.length} racing log-ins; ${midwayLogin ? `one begun inside the expunge (${MESSAGES - midwayLogin.files} of ${doomed.length} files gone) saw all deletions` : 'the expunge ended before a log-in could begin inside it'}`,
    );
    assert.equal((await store.openMaildrop(ADDRESS)).messages.length, MESSAGES - doomed.length);
  }
  // The look runs at every turn of the event loop, and the expunge takes one turn per file: no round misses it.
  assert.equal(inside, ROUNDS, 'in every round a log-in began while the expunge was half done');
});
