/**
 * checkLogin and isLocked: passwords, locks read from disk at each call, and
 * unknown mailboxes answered like wrong passwords.
 */

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashPassword, verifyPassword } from '../../electron/service/store/index.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { open, removeRoot, seededStore, tempRoot } from './store-fixture.js';

describe('store log-in checks', () => {
  let root: string;
  let store: MailStore;
  const lock = { by: 'admin', at: '2026-01-02T03:04:05.000Z' };

  before(async () => {
    root = await tempRoot();
    store = await seededStore(root);
  });
  after(() => removeRoot(root));

  it('accepts the right password, in any case of the address', async () => {
    assert.deepEqual(await store.checkLogin('bob@example.com', 'bob-secret'), { ok: true, address: 'bob@example.com' });
    assert.deepEqual(await store.checkLogin('Bob@EXAMPLE.com', 'bob-secret'), { ok: true, address: 'bob@example.com' });
  });

  it('answers a wrong password and an unknown mailbox the same way', async () => {
    const bad = { ok: false, reason: 'bad-credentials' };
    assert.deepEqual(await store.checkLogin('bob@example.com', 'Bob-secret'), bad);
    assert.deepEqual(await store.checkLogin('bob@example.com', ''), bad);
    assert.deepEqual(await store.checkLogin('bob@example.com', 'alice-secret'), bad);
    assert.deepEqual(await store.checkLogin('nobody@example.com', 'bob-secret'), bad);
    assert.deepEqual(await store.checkLogin('bob@nowhere.org', 'bob-secret'), bad);
    assert.deepEqual(await store.checkLogin('not an address', 'x'), bad);
  });

  it('refuses a locked mailbox only once the password is right', async () => {
    await store.setMailboxLock('bob@example.com', lock);
    assert.deepEqual(await store.checkLogin('bob@example.com', 'bob-secret'), { ok: false, reason: 'locked', by: 'mailbox' });
    assert.deepEqual(await store.checkLogin('bob@example.com', 'wrong'), { ok: false, reason: 'bad-credentials' });
    assert.equal(await store.isLocked('bob@example.com'), true);
    assert.equal(await store.isLocked('alice@example.com'), false);
    await store.setMailboxLock('bob@example.com', null);
    assert.deepEqual(await store.checkLogin('bob@example.com', 'bob-secret'), { ok: true, address: 'bob@example.com' });
  });

  it('refuses every mailbox of a locked domain, each keeping its own lock', async () => {
    await store.setMailboxLock('alice@example.com', lock);
    await store.setDomainLock('example.com', lock);
    assert.deepEqual(await store.checkLogin('bob@example.com', 'bob-secret'), { ok: false, reason: 'locked', by: 'domain' });
    assert.deepEqual(await store.checkLogin('alice@example.com', 'alice-secret'), { ok: false, reason: 'locked', by: 'domain' });
    assert.deepEqual(await store.checkLogin('bob@example.com', 'nope'), { ok: false, reason: 'bad-credentials' });
    assert.equal(await store.isLocked('bob@example.com'), true);
    await store.setDomainLock('example.com', null);
    assert.deepEqual(await store.checkLogin('bob@example.com', 'bob-secret'), { ok: true, address: 'bob@example.com' });
    assert.deepEqual(await store.checkLogin('alice@example.com', 'alice-secret'), { ok: false, reason: 'locked', by: 'mailbox' });
    await store.setMailboxLock('alice@example.com', null);
  });

  it('sees a lock written by another process at once', async () => {
    // Another store instance (as `winpop` working on the store directly would be) writes the lock.
    const other = await open(root);
    assert.deepEqual(await store.checkLogin('bob@example.com', 'bob-secret'), { ok: true, address: 'bob@example.com' });
    await other.setMailboxLock('bob@example.com', lock);
    assert.deepEqual(await store.checkLogin('bob@example.com', 'bob-secret'), { ok: false, reason: 'locked', by: 'mailbox' });
    assert.equal(await store.isLocked('bob@example.com'), true);
    assert.equal((await store.getMailbox('bob@example.com')).locked, true);
    // Even a hand edit of the file counts.
    const file = path.join(root, 'example.com', 'bob', '.winpop-mailbox.json');
    const meta = JSON.parse(await fsp.readFile(file, 'utf8'));
    await fsp.writeFile(file, JSON.stringify({ ...meta, lock: null }));
    assert.deepEqual(await store.checkLogin('bob@example.com', 'bob-secret'), { ok: true, address: 'bob@example.com' });
  });

  it('changes a password', async () => {
    await store.setPassword('bob@example.com', 'new secret ☃');
    assert.deepEqual(await store.checkLogin('bob@example.com', 'bob-secret'), { ok: false, reason: 'bad-credentials' });
    assert.deepEqual(await store.checkLogin('bob@example.com', 'new secret ☃'), { ok: true, address: 'bob@example.com' });
  });

  it('hashes with salted scrypt and verifies only the right password', async () => {
    const a = await hashPassword('pw');
    const b = await hashPassword('pw');
    assert.notEqual(a, b, 'a fresh salt each time');
    assert.match(a, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.equal(await verifyPassword('pw', a), true);
    assert.equal(await verifyPassword('pW', a), false);
    assert.equal(await verifyPassword('pw', 'garbage'), false);
    assert.equal(await verifyPassword('pw', '$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), false, 'absurd cost parameters are refused');
  });
});
