/**
 * Delivery into the Maildir: line ends, sizes in names, UIDLs across a
 * reopen, the size limit, messages written by other Maildir programs.
 */

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { AdminError } from '../../shared/errors.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { open, readAll, removeRoot, seededStore, streamOf, tempRoot } from './store-fixture.js';

describe('store delivery', () => {
  let root: string;
  let store: MailStore;
  const bobDir = (): string => path.join(root, 'example.com', 'bob');

  before(async () => {
    root = await tempRoot();
    store = await seededStore(root);
  });
  after(() => removeRoot(root));

  it('stores mail in CRLF wire form (bare LFs get their CR, a last line its line end) and names the file with S= and W=', async () => {
    const changes: unknown[] = [];
    const stop = store.onChange((c) => changes.push(c));
    // CR and LF split across chunks on purpose; a lone CR stays.
    const result = await store.deliver('bob@example.com', streamOf('Subject: one\r', '\n\r\nline a\r\nlone\rcr\r', '\nend'));
    stop();
    // The store writes what RETR sends before dot-stuffing: the lone CR stays data, the last line gets its CRLF.
    const expected = 'Subject: one\r\n\r\nline a\r\nlone\rcr\r\nend\r\n';
    assert.equal(result.address, 'bob@example.com');
    assert.equal(result.size, Buffer.byteLength(expected));
    const files = await fsp.readdir(path.join(bobDir(), 'new'));
    assert.equal(files.length, 1);
    const name = files[0] ?? '';
    assert.match(name, /^\d+\.M\d{6}P\d+Q\d+R[0-9a-f]{16}\.[A-Za-z0-9._-]+,S=\d+,W=\d+$/);
    assert.equal(await fsp.readFile(path.join(bobDir(), 'new', name), 'latin1'), expected);
    assert.ok(name.endsWith(`,S=${expected.length},W=${expected.length}`), name);
    assert.deepEqual(await fsp.readdir(path.join(bobDir(), 'tmp')), []);
    assert.deepEqual(changes, [{ type: 'mailArrived', address: 'bob@example.com', messages: 1, bytes: expected.length }]);
  });

  it('gives each message its POP3 size and a UIDL that survives reopening the store', async () => {
    await store.deliver('bob@example.com', streamOf('Subject: two\r\n\r\nsecond\r\n'));
    const drop = await store.openMaildrop('bob@example.com');
    assert.equal(drop.messages.length, 2);
    for (const m of drop.messages) {
      const stored = await readAll(drop.openMessage(m));
      const text = stored.toString('latin1');
      assert.equal(m.size, text.replace(/\r?\n/g, '\r\n').length + (text.endsWith('\n') ? 0 : 2));
      assert.match(m.uidl, /^[\x21-\x7e]{1,70}$/);
    }
    const reopened = await open(root);
    const again = await reopened.openMaildrop('BOB@Example.COM');
    assert.deepEqual(again.messages.map((m) => m.uidl), drop.messages.map((m) => m.uidl));
    assert.deepEqual(again.messages.map((m) => m.size), drop.messages.map((m) => m.size));
    const first = await readAll(again.openMessage(again.messages[0]!));
    assert.ok(first.toString().startsWith('Subject: one'), 'oldest message first');
  });

  it('rejects a message over maxBytes with EMSGSIZE and leaves nothing behind', async () => {
    const before = (await store.getMailbox('alice@example.com')).messages;
    const big = Buffer.alloc(64 * 1024, 0x61);
    const source = Readable.from([big, big, big, big]);
    await assert.rejects(store.deliver('alice@example.com', source, { maxBytes: 100_000 }), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'EMSGSIZE');
      assert.match(err.message, /100000 bytes/);
      return true;
    });
    const dir = path.join(root, 'example.com', 'alice');
    assert.deepEqual(await fsp.readdir(path.join(dir, 'tmp')), []);
    assert.deepEqual(await fsp.readdir(path.join(dir, 'new')), []);
    assert.equal((await store.getMailbox('alice@example.com')).messages, before);
    // Exactly at the limit is fine (the limit counts what was received; the store adds the last line's CRLF).
    const ok = await store.deliver('alice@example.com', Readable.from([Buffer.alloc(1000, 0x62)]), { maxBytes: 1000 });
    assert.equal(ok.size, 1002);
  });

  it('leaves nothing when the input stream fails part-way', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.from('Subject: broken\r\n\r\npartial'));
        this.destroy(new Error('connection reset'));
      },
    });
    await assert.rejects(store.deliver('alice@example.com', failing), /connection reset/);
    const dir = path.join(root, 'example.com', 'alice');
    assert.deepEqual(await fsp.readdir(path.join(dir, 'tmp')), []);
    const names = await fsp.readdir(path.join(dir, 'new'));
    assert.equal(names.length, 1, 'only the earlier good message');
  });

  it('keeps delivery order for messages delivered back to back in the same millisecond', async () => {
    // Found in CI: the sub-millisecond digits of a name were random, so two
    // quick deliveries could be listed in the wrong order.
    await store.addMailbox('quick@example.com', 'quick-secret');
    const count = 200;
    for (let i = 0; i < count; i++) await store.deliver('quick@example.com', streamOf(`Subject: ${i}\n\n${i}\n`));
    const drop = await store.openMaildrop('quick@example.com');
    const subjects: string[] = [];
    for (const m of drop.messages) subjects.push(/Subject: (\d+)/.exec((await readAll(drop.openMessage(m))).toString())?.[1] ?? '?');
    assert.deepEqual(subjects, Array.from({ length: count }, (_, i) => String(i)));
  });

  it('refuses delivery to an unknown mailbox with NOT_FOUND', async () => {
    await assert.rejects(store.deliver('nobody@example.com', streamOf('x')), (err: unknown) => {
      assert.ok(err instanceof AdminError);
      assert.equal(err.code, 'NOT_FOUND');
      assert.match(err.message, /No mailbox nobody@example\.com\. Check the name with `winpop list example\.com`\./);
      return true;
    });
    assert.equal(await store.hasMailbox('nobody@example.com'), false);
    assert.equal(await store.hasMailbox('Bob@example.com'), true);
    assert.equal(await store.hasMailbox('../etc@example.com'), false);
  });

  it('reads messages that other Maildir programs wrote: Dovecot names with flags, and plain names', async () => {
    const dir = bobDir();
    // Dovecot's own style in cur/ with flags, and a qmail-style name without sizes holding CRLF already.
    const dovecotBody = 'Subject: from dovecot\n\nhello\n';
    const dovecotName = `1000000000.M1P2Q3.otherhost,S=${dovecotBody.length},W=${dovecotBody.length + 3}:2,S`;
    await fsp.writeFile(path.join(dir, 'cur', dovecotName), dovecotBody);
    const plainBody = 'Subject: plain\r\n\r\nbody\nmixed\r\n';
    await fsp.writeFile(path.join(dir, 'new', '1000000001.12345.otherhost'), plainBody);
    // Names that are not messages are ignored.
    await fsp.writeFile(path.join(dir, 'new', '.hidden'), 'x');

    const drop = await store.openMaildrop('bob@example.com');
    const uidls = drop.messages.map((m) => m.uidl);
    assert.equal(uidls[0], '1000000000.M1P2Q3.otherhost', 'oldest (by timestamp) first');
    assert.equal(uidls[1], '1000000001.12345.otherhost');
    assert.equal(drop.messages[0]?.size, dovecotBody.length + 3);
    // The plain file: 3 LFs, one without CR before it → 1 more octet on the wire.
    assert.equal(drop.messages[1]?.size, Buffer.byteLength(plainBody) + 1);
    assert.equal((await readAll(drop.openMessage(drop.messages[0]!))).toString(), dovecotBody);
    assert.equal(new Set(uidls).size, uidls.length);
    const summary = await store.getMailbox('bob@example.com');
    assert.equal(summary.messages, 4);
    const onDisk = await Promise.all(
      drop.messages.map(async (m) => (await fsp.stat(path.join(dir, m.file))).size),
    );
    assert.equal(summary.bytes, onDisk.reduce((a, b) => a + b, 0));
  });

  it('uses a hash UIDL for a unique part that is too long or not printable', async () => {
    const dir = path.join(root, 'example.com', 'alice');
    const longName = `1000000002.${'x'.repeat(80)}`;
    await fsp.writeFile(path.join(dir, 'new', longName), 'a\n');
    const drop = await store.openMaildrop('alice@example.com');
    const m = drop.messages.find((x) => x.file === `new/${longName}`);
    assert.ok(m);
    assert.match(m.uidl, /^[0-9a-f]{40}$/);
    const again = await (await open(root)).openMaildrop('alice@example.com');
    assert.equal(again.messages.find((x) => x.file === m.file)?.uidl, m.uidl);
  });

  it('streams a 100 MB message to disk without holding it in memory', async () => {
    const line = Buffer.from(`${'y'.repeat(98)}\r\n`);
    const lines = (100 * 1024 * 1024) / line.length;
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent >= lines) return void this.push(null);
        const n = Math.min(650, lines - sent);
        sent += n;
        this.push(Buffer.concat(Array.from({ length: n }, () => line)));
      },
    });
    const heapBefore = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.heapUsed + m.arrayBuffers - heapBefore.heapUsed - heapBefore.arrayBuffers);
    }, 20);
    try {
      const result = await store.deliver('alice@example.com', source);
      const total = Math.floor(lines) * line.length;
      // CRLF in, CRLF on disk: the same octets.
      const disk = total;
      assert.equal(result.size, disk);
      const files = await fsp.readdir(path.join(root, 'example.com', 'alice', 'new'));
      const name = files.find((f) => f.endsWith(`,S=${disk},W=${total}`));
      assert.ok(name, `a file named with S=${disk},W=${total}`);
      assert.equal((await fsp.stat(path.join(root, 'example.com', 'alice', 'new', name))).size, disk);
    } finally {
      clearInterval(sampler);
    }
    assert.ok(peak < 48 * 1024 * 1024, `memory grew by ${Math.round(peak / 1048576)} MB while storing 100 MB`);
  });
});
