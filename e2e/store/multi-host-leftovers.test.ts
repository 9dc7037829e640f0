/**
 * Recovery on a store that several machines share: a temp file or staging
 * folder names its writer's pid and machine (a host mark), and only this
 * machine's pids can be checked here. Another machine's leftover is
 * removed only once it is old, never while its writer may still be at it;
 * this machine's dead writers' are removed at once, as before.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { isProcessAlive } from '../../electron/service/store/fs-util.js';
import { open, removeRoot, tempRoot } from './store-fixture.js';

let root: string;

before(async () => {
  root = await tempRoot();
  const store = await open(root);
  await store.addDomain('shared.example');
  await store.addMailbox('box@shared.example', 'pw-box');
  await store.close();
});

after(async () => {
  await removeRoot(root);
});

const mark = (host: string): string => createHash('sha256').update(host).digest('hex').slice(0, 8);

test("recovery leaves another machine's fresh temp files and staging folders alone, and removes this machine's dead writers' and old ones", async () => {
  const dead = 2 ** 22 + 12_345;
  assert.equal(isProcessAlive(dead), false, `pid ${dead} must not run here for this test`);
  const ours = mark(os.hostname());
  const theirs = mark('another-machine.example');
  assert.notEqual(ours, theirs);
  const domain = path.join(root, 'shared.example');
  const box = path.join(domain, 'box');
  const left = {
    theirTemp: path.join(box, `.tmp-${dead}-aabbccddeeff.${theirs}-.winpop-mailbox.json`),
    theirStaging: path.join(domain, `.staging-${dead}-aabbccddeeff.${theirs}`),
    ourTemp: path.join(box, `.tmp-${dead}-aabbccddeeff.${ours}-.winpop-mailbox.json`),
    ourStaging: path.join(domain, `.staging-${dead}-aabbccddeeff.${ours}`),
    unmarkedTemp: path.join(box, `.tmp-${dead}-aabbcc-.winpop-mailbox.json`),
    theirOldTemp: path.join(box, `.tmp-${dead}-112233445566.${theirs}-.winpop-mailbox.json`),
  };
  for (const file of [left.theirTemp, left.ourTemp, left.unmarkedTemp, left.theirOldTemp]) writeFileSync(file, '{"half":');
  for (const folder of [left.theirStaging, left.ourStaging]) mkdirSync(folder);
  const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
  utimesSync(left.theirOldTemp, twoHoursAgo, twoHoursAgo);

  const store = await open(root);
  try {
    assert.ok(existsSync(left.theirTemp), "another machine's fresh temp file is kept: its writer may be at it");
    assert.ok(existsSync(left.theirStaging), "another machine's fresh staging folder is kept");
    assert.ok(!existsSync(left.ourTemp), "this machine's dead writer's temp file is removed");
    assert.ok(!existsSync(left.ourStaging), "this machine's dead writer's staging folder is removed");
    assert.ok(!existsSync(left.unmarkedTemp), 'a name without a host mark is taken as this machine’s');
    assert.ok(!existsSync(left.theirOldTemp), "another machine's temp file is removed once an hour old");
    assert.equal((await store.getMailbox('box@shared.example')).address, 'box@shared.example');
  } finally {
    await store.close();
  }
});
