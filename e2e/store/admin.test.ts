/**
 * Domains and mailboxes: create, list, delete, name checks, damaged state
 * files, atomic writes and the leftovers recovery sweeps away.
 */

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminError } from '../../shared/errors.js';
import { writeFileAtomic } from '../../electron/service/store/index.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { open, recordingLogger, removeRoot, seededStore, streamOf, tempRoot } from './store-fixture.js';

function isAdminError(code: string, text?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof AdminError, `expected an AdminError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (text) assert.match(err.message, text);
    return true;
  };
}

/** Every path under a folder, relative to it. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) {
    out.push(path.relative(dir, path.join(entry.parentPath ?? entry.path, entry.name)));
  }
  return out.sort();
}

describe('store administration', () => {
  let root: string;
  let store: MailStore;

  before(async () => {
    // The root sits in a private folder, so "nothing outside the root" can be checked exactly.
    root = path.join(await tempRoot(), 'mail');
    store = await seededStore(root);
  });
  after(() => removeRoot(path.dirname(root)));

  it('lays out domains and mailboxes as documented, private to the owner', async () => {
    const files = await tree(root);
    for (const p of ['.winpop', '.winpop/trash', 'example.com/.winpop-domain.json', 'example.com/bob/.winpop-mailbox.json', 'example.com/bob/tmp', 'example.com/bob/new', 'example.com/bob/cur']) {
      assert.ok(files.includes(p.split('/').join(path.sep)), `${p} exists`);
    }
    assert.ok(!files.some((f) => f.includes('.staging-') || f.includes('.tmp-')), 'no staging or temp leftovers');
    const meta = JSON.parse(await fsp.readFile(path.join(root, 'example.com', 'bob', '.winpop-mailbox.json'), 'utf8'));
    assert.equal(meta.version, 1);
    assert.equal(meta.lock, null);
    assert.match(meta.password, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    assert.ok(!JSON.stringify(meta).includes('bob-secret'));
    assert.ok(!Number.isNaN(Date.parse(meta.created)));
    const domainMeta = JSON.parse(await fsp.readFile(path.join(root, 'example.com', '.winpop-domain.json'), 'utf8'));
    assert.deepEqual(Object.keys(domainMeta).sort(), ['created', 'lock', 'version']);
    if (process.platform !== 'win32') {
      const fresh = path.join(await tempRoot(), 'new-root');
      await open(fresh);
      assert.equal((await fsp.stat(fresh)).mode & 0o777, 0o700);
      assert.equal((await fsp.stat(path.join(fresh, '.winpop'))).mode & 0o777, 0o700);
      await removeRoot(path.dirname(fresh));
    }
  });

  it('lists domains and mailboxes with counts, bytes and locks', async () => {
    await store.addDomain('other.org');
    await store.deliver('bob@example.com', streamOf('Subject: a\r\n\r\n1234\r\n'));
    await store.deliver('bob@example.com', streamOf('Subject: b\r\n\r\n5678\r\n'));
    const domains = await store.listDomains();
    assert.deepEqual(
      domains.map((d) => [d.name, d.mailboxes, d.messages]),
      [
        ['example.com', 2, 2],
        ['other.org', 0, 0],
      ],
    );
    const list = await store.listMailboxes('example.com');
    assert.deepEqual(list.map((m) => m.name), ['alice', 'bob']);
    const bob = list[1]!;
    assert.equal(bob.messages, 2);
    assert.equal(bob.bytes, 2 * 'Subject: a\r\n\r\n1234\r\n'.length);
    assert.equal(domains[0]?.bytes, bob.bytes);
    assert.deepEqual(await store.getMailbox('bob@example.com'), bob);
    assert.deepEqual((await store.getDomain('EXAMPLE.com')).name, 'example.com');
  });

  it('keeps each lock and reports the domain lock on every mailbox', async () => {
    const lock = { by: 'admin', at: new Date().toISOString(), reason: 'audit' };
    assert.equal(await store.setMailboxLock('alice@example.com', lock), null);
    assert.deepEqual(await store.setMailboxLock('alice@example.com', lock), lock, 'returns the previous lock');
    let alice = await store.getMailbox('alice@example.com');
    assert.deepEqual(alice.lock, lock);
    assert.equal(alice.locked, true);
    assert.equal(alice.domainLocked, false);

    assert.equal(await store.setDomainLock('example.com', { by: 'admin', at: lock.at }), null);
    const list = await store.listMailboxes('example.com');
    assert.ok(list.every((m) => m.domainLocked && m.locked));
    assert.equal(list.find((m) => m.name === 'bob')?.lock, null, 'bob keeps his own (absent) lock');
    assert.deepEqual((await store.getDomain('example.com')).lock, { by: 'admin', at: lock.at });

    await store.setDomainLock('example.com', null);
    alice = await store.getMailbox('alice@example.com');
    assert.equal(alice.locked, true, 'alice is still locked by her own lock');
    assert.equal((await store.getMailbox('bob@example.com')).locked, false);
    assert.deepEqual(await store.setMailboxLock('alice@example.com', null), lock);
    assert.equal((await store.getMailbox('alice@example.com')).locked, false);
  });

  it('refuses to create what exists and to touch what does not', async () => {
    await assert.rejects(store.addDomain('Example.COM'), isAdminError('ALREADY_EXISTS', /example\.com already exists/));
    await assert.rejects(store.addMailbox('BOB@example.com', 'x'), isAdminError('ALREADY_EXISTS', /bob@example\.com already exists/));
    await assert.rejects(store.addMailbox('carol@missing.net', 'x'), isAdminError('NOT_FOUND', /No domain missing\.net\. Create it first/));
    await assert.rejects(store.deleteMailbox('carol@example.com'), isAdminError('NOT_FOUND', /No mailbox carol@example\.com\. Check the name with `winpop list example\.com`\./));
    await assert.rejects(store.deleteDomain('missing.net'), isAdminError('NOT_FOUND', /No domain missing\.net\. Check the name with `winpop list`\./));
    await assert.rejects(store.listMailboxes('missing.net'), isAdminError('NOT_FOUND'));
    await assert.rejects(store.getMailbox('carol@example.com'), isAdminError('NOT_FOUND'));
    await assert.rejects(store.setPassword('carol@example.com', 'pw'), isAdminError('NOT_FOUND'));
    await assert.rejects(store.setMailboxLock('carol@example.com', null), isAdminError('NOT_FOUND'));
    await assert.rejects(store.setDomainLock('missing.net', null), isAdminError('NOT_FOUND'));
    await assert.rejects(store.openMaildrop('carol@example.com'), isAdminError('NOT_FOUND'));
    await assert.rejects(store.isLocked('carol@example.com'), isAdminError('NOT_FOUND'));
    await assert.rejects(store.addMailbox('carol@example.com', ''), isAdminError('INVALID_ARGUMENT', /password cannot be empty/));
  });

  it('rejects bad names before touching the disk, and nothing appears outside the root', async () => {
    const parent = path.dirname(root);
    const siblingsBefore = (await fsp.readdir(parent)).sort();
    const treeBefore = await tree(root);
    const badDomains = ['../evil.com', '..', '.', 'a/../../b.com', `${os.tmpdir()}/x.com`, '/etc', 'C:\\Windows', 'evil\0.com', 'nodot', 'ex ample.com', ''];
    const badAddresses = ['../x@example.com', '..@example.com', 'a/b@example.com', 'a\\b@example.com', 'nul\0@example.com', '/etc/passwd@example.com', 'bob@../example.com', 'bob@..', 'bob', '.hidden@example.com', 'con@example.com', '@example.com', 'a+b@example.com'];
    for (const d of badDomains) {
      for (const call of [() => store.addDomain(d), () => store.deleteDomain(d), () => store.listMailboxes(d), () => store.setDomainLock(d, null), () => store.getDomain(d)]) {
        await assert.rejects(call(), isAdminError('INVALID_ARGUMENT'), `domain ${JSON.stringify(d)}`);
      }
    }
    for (const a of badAddresses) {
      const calls = [
        () => store.addMailbox(a, 'pw'),
        () => store.deleteMailbox(a),
        () => store.setPassword(a, 'pw'),
        () => store.setMailboxLock(a, null),
        () => store.getMailbox(a),
        () => store.openMaildrop(a),
        () => store.deliver(a, streamOf('x')),
        () => store.isLocked(a),
      ];
      for (const call of calls) await assert.rejects(call(), isAdminError('INVALID_ARGUMENT'), `address ${JSON.stringify(a)}`);
      assert.deepEqual(await store.checkLogin(a, 'pw'), { ok: false, reason: 'bad-credentials' });
      assert.equal(await store.hasMailbox(a), false);
    }
    assert.deepEqual((await fsp.readdir(parent)).sort(), siblingsBefore);
    assert.deepEqual(await tree(root), treeBefore);
  });

  it('reports a damaged mailbox file clearly, and the rest of the store keeps working', async () => {
    const log = recordingLogger();
    const r = await tempRoot();
    try {
      const s = await seededStore(r, log);
      await s.addMailbox('carol@example.com', 'carol-secret');
      const metaFile = path.join(r, 'example.com', 'bob', '.winpop-mailbox.json');
      await fsp.writeFile(metaFile, '{"version": 1, "password": ');
      await s.deliver('bob@example.com', streamOf('still delivered\r\n'));

      const fresh = await open(r, log);
      const expectDamaged = isAdminError('STORE_ERROR', new RegExp(`${metaFile.replace(/[\\.]/g, '\\$&')} is damaged.*winpop changepwd bob@example\\.com`));
      await assert.rejects(fresh.checkLogin('bob@example.com', 'bob-secret'), expectDamaged);
      await assert.rejects(fresh.getMailbox('bob@example.com'), expectDamaged);
      await assert.rejects(fresh.setMailboxLock('bob@example.com', null), expectDamaged);
      // Listing still works: the damaged mailbox shows with its mail, and a warning is logged.
      const list = await fresh.listMailboxes('example.com');
      assert.deepEqual(list.map((m) => m.name), ['alice', 'bob', 'carol']);
      assert.equal(list.find((m) => m.name === 'bob')?.messages, 1);
      assert.ok(log.lines.some((l) => l.level === 'warn' && l.message.includes(metaFile)), 'a warning names the file');
      assert.deepEqual(await fresh.checkLogin('carol@example.com', 'carol-secret'), { ok: true, address: 'carol@example.com' });
      assert.equal((await fresh.listDomains())[0]?.mailboxes, 3);

      // The documented repair: set a new password.
      await fresh.setPassword('bob@example.com', 'new-bob');
      assert.deepEqual(await fresh.checkLogin('bob@example.com', 'new-bob'), { ok: true, address: 'bob@example.com' });

      // A damaged domain file: listing goes on (shown unlocked, warned), log-in refuses with a clear error, lock rewrites it.
      const domainFile = path.join(r, 'example.com', '.winpop-domain.json');
      await fsp.writeFile(domainFile, 'not json');
      assert.equal((await fresh.listMailboxes('example.com')).length, 3);
      await assert.rejects(fresh.checkLogin('carol@example.com', 'carol-secret'), isAdminError('STORE_ERROR', /\.winpop-domain\.json is damaged.*winpop unlock example\.com/));
      assert.equal(await fresh.setDomainLock('example.com', null), null);
      assert.deepEqual(await fresh.checkLogin('carol@example.com', 'carol-secret'), { ok: true, address: 'carol@example.com' });

      // A mailbox folder without its file is named as missing.
      await fsp.rm(path.join(r, 'example.com', 'carol', '.winpop-mailbox.json'));
      await assert.rejects(fresh.checkLogin('carol@example.com', 'carol-secret'), isAdminError('STORE_ERROR', /\.winpop-mailbox\.json is missing/));
    } finally {
      await removeRoot(r);
    }
  });

  it('deletes a mailbox and a domain with all their mail, through the trash', async () => {
    await store.addDomain('gone.net');
    await store.addMailbox('x@gone.net', 'pw');
    await store.deliver('x@gone.net', streamOf('bye\r\n'));
    await store.deleteMailbox('x@gone.net');
    assert.equal(await store.hasMailbox('x@gone.net'), false);
    assert.deepEqual(await store.listMailboxes('gone.net'), []);
    await store.addMailbox('x@gone.net', 'pw2');
    assert.equal((await store.getMailbox('x@gone.net')).messages, 0, 'a re-created mailbox starts empty');
    await store.deleteDomain('gone.net');
    await assert.rejects(store.getDomain('gone.net'), isAdminError('NOT_FOUND'));
    assert.ok(!(await store.listDomains()).some((d) => d.name === 'gone.net'));
    assert.deepEqual(await fsp.readdir(path.join(root, '.winpop', 'trash')), []);
    await store.addDomain('gone.net');
    assert.equal((await store.getDomain('gone.net')).mailboxes, 0);
  });

  it('writes small files atomically, and recovery sweeps away what a crash left', async () => {
    const file = path.join(root, 'state.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, 'two');
    assert.equal(await fsp.readFile(file, 'utf8'), 'two');
    assert.deepEqual((await fsp.readdir(root)).filter((n) => n.startsWith('.tmp-')), []);
    await fsp.rm(file);

    // Leftovers of a crashed process (a pid that does not run) and of an old crash.
    const deadPid = 2 ** 22 + 12345;
    const domain = path.join(root, 'example.com');
    const staleStaging = path.join(domain, `.staging-${deadPid}-abcdef`);
    await fsp.mkdir(path.join(staleStaging, 'new'), { recursive: true });
    const oldStaging = path.join(root, `.staging-${process.pid}-0123ab`);
    await fsp.mkdir(oldStaging);
    const past = new Date(Date.now() - 2 * 3600 * 1000);
    await fsp.utimes(oldStaging, past, past);
    const freshStaging = path.join(root, `.staging-${process.pid}-456789`);
    await fsp.mkdir(freshStaging);
    const halfMeta = path.join(domain, 'bob', `.tmp-${deadPid}-aa-.winpop-mailbox.json`);
    await fsp.writeFile(halfMeta, '{"ver');
    const trashItem = path.join(root, '.winpop', 'trash', 'deadbeef');
    await fsp.mkdir(path.join(trashItem, 'new'), { recursive: true });
    await fsp.writeFile(path.join(trashItem, 'new', 'm'), 'x');
    const oldTmp = path.join(domain, 'bob', 'tmp', '1000000000.M1P1Q1.elsewhere');
    await fsp.writeFile(oldTmp, 'partial');
    const longAgo = new Date(Date.now() - 37 * 3600 * 1000);
    await fsp.utimes(oldTmp, longAgo, longAgo);
    const youngTmp = path.join(domain, 'bob', 'tmp', '1000000001.M1P1Q1.elsewhere');
    await fsp.writeFile(youngTmp, 'being written by another host');

    const before = await store.listMailboxes('example.com');
    const reopened = await open(root);
    for (const gone of [staleStaging, oldStaging, halfMeta, trashItem, oldTmp]) {
      await assert.rejects(fsp.lstat(gone), { code: 'ENOENT' }, `${gone} removed`);
    }
    await fsp.lstat(freshStaging); // a live process's work in progress is left alone
    await fsp.lstat(youngTmp);
    await fsp.rm(freshStaging, { recursive: true });
    await fsp.rm(youngTmp);
    assert.deepEqual(await reopened.listMailboxes('example.com'), before);
  });
});
