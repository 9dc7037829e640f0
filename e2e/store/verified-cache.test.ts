/**
 * The cache of verified passwords: it may skip scrypt for a password just
 * verified, and must never let an old password, a wrong one, or a locked
 * mailbox through.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createVerifiedCache } from '../../electron/service/store/verified-cache.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { open, removeRoot, tempRoot } from './store-fixture.js';

test('remembers only the verified password, for its own hash, until it expires', () => {
  let clock = 1_000;
  const cache = createVerifiedCache({ ttlMs: 100, now: () => clock });
  assert.equal(cache.has('$h1', 'pw'), false);
  cache.remember('$h1', 'pw');
  assert.equal(cache.has('$h1', 'pw'), true);
  assert.equal(cache.has('$h1', 'other'), false);
  assert.equal(cache.has('$h2', 'pw'), false, 'a new hash (changed password) never matches an old entry');
  clock += 100;
  assert.equal(cache.has('$h1', 'pw'), false, 'expired');
});

test('stays bounded: the oldest entry goes first', () => {
  const cache = createVerifiedCache({ maxEntries: 3 });
  for (const h of ['$a', '$b', '$c', '$d']) cache.remember(h, 'pw');
  assert.deepEqual(['$a', '$b', '$c', '$d'].map((h) => cache.has(h, 'pw')), [false, true, true, true]);
});

let root: string;
let store: MailStore;
before(async () => {
  root = await tempRoot();
  store = await open(root);
  await store.addDomain('cache.example');
  await store.addMailbox('u@cache.example', 'first-pw');
});
after(async () => removeRoot(root));

test('through the store: a password change and a lock take effect at once despite the cache', async () => {
  assert.deepEqual(await store.checkLogin('u@cache.example', 'first-pw'), { ok: true, address: 'u@cache.example' });
  assert.deepEqual(await store.checkLogin('u@cache.example', 'first-pw'), { ok: true, address: 'u@cache.example' }, 'cached');
  assert.deepEqual(await store.checkLogin('u@cache.example', 'wrong'), { ok: false, reason: 'bad-credentials' });

  await store.setPassword('u@cache.example', 'second-pw');
  assert.deepEqual(await store.checkLogin('u@cache.example', 'first-pw'), { ok: false, reason: 'bad-credentials' });
  assert.deepEqual(await store.checkLogin('u@cache.example', 'second-pw'), { ok: true, address: 'u@cache.example' });

  await store.setMailboxLock('u@cache.example', { by: 'admin', at: new Date().toISOString() });
  assert.deepEqual(await store.checkLogin('u@cache.example', 'second-pw'), { ok: false, reason: 'locked', by: 'mailbox' });
});
