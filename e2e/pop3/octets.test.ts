/**
 * Octet counts are exact (RFC 1939): the size LIST and STAT report for a
 * message is the number of octets RETR sends for it, before byte-stuffing
 * and without the terminator — also for a message whose last line has no
 * line end, which the server ends with a CRLF of its own.
 */

import assert from 'node:assert/strict';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SIZE_CACHE } from '../../electron/service/store/layout.js';
import { RawClient, seedMailbox, startServer, unstuff, useStoreAndServer } from './support.js';

const MESSAGES = [
  'Subject: ends with a line end\n\nbody\n',
  'Subject: no final line end\n\nlast line without one',
  'Subject: a lone CR at the very end\n\nbody\r',
  'Subject: CRLF throughout, none at the end\r\n\r\n.dotted\r\nlast',
];
/** Written straight into new/ by "another program": no S= or W= in the name, no final line end. */
const OUTSIDE = 'Subject: from another writer\n\n.starts with a dot\nno end';

async function sizesAndBodies(port: number, user: string, password: string): Promise<{ stat: number[]; list: number[]; retr: number[] }> {
  const client = await RawClient.login(port, user, password);
  try {
    const stat = (await client.command('STAT')).split(' ').slice(1).map(Number);
    assert.match(await client.command('LIST'), /^\+OK/);
    const list = (await client.lines()).map((l) => Number(l.split(' ')[1]));
    const retr: number[] = [];
    for (let n = 1; n <= list.length; n++) {
      const head = await client.command(`RETR ${n}`);
      assert.match(head, /^\+OK/);
      const announced = /(\d+) octets/.exec(head);
      const body = unstuff(await client.multiline());
      if (announced) assert.equal(Number(announced[1]), body.length, `RETR ${n} announces ${announced[1]} octets and sends ${body.length}`);
      retr.push(body.length);
    }
    await client.command('QUIT');
    return { stat, list, retr };
  } finally {
    client.destroy();
  }
}

describe('POP3 octet counts', () => {
  const fx = useStoreAndServer();

  it('LIST, STAT and RETR agree for messages with and without a final line end, ours and another writer\'s', async () => {
    await seedMailbox(fx.t.store, 'octets@example.com', 'octets-pw', MESSAGES);
    const outside = path.join(fx.t.root, 'example.com', 'octets', 'new', '2000000000.outside.otherhost');
    await writeFile(outside, OUTSIDE);

    const { stat, list, retr } = await sizesAndBodies(fx.srv.port, 'octets@example.com', 'octets-pw');
    assert.equal(list.length, MESSAGES.length + 1);
    assert.deepEqual(list, retr, 'each LIST size must equal the octets RETR sent');
    assert.deepEqual(stat, [list.length, retr.reduce((a, b) => a + b, 0)]);
    // The CRLF the server adds is part of the message on the wire.
    assert.equal(retr[1], Buffer.byteLength('Subject: no final line end\r\n\r\nlast line without one\r\n'));
  });

  it("another writer's sizes, measured once, are remembered exactly: the next session, and after a restart from the size cache", async () => {
    await seedMailbox(fx.t.store, 'cached@example.com', 'cached-pw', [MESSAGES[0] as string]);
    const box = path.join(fx.t.root, 'example.com', 'cached');
    const outside: [string, string][] = [
      ['new/2000000001.P1Q1.otherhost', OUTSIDE],
      ['new/2000000002.P1Q2.otherhost', 'Subject: CRLF\r\n\r\nbody\r\nlast'],
      ['cur/2000000003.P1Q3.otherhost:2,S', 'Subject: read\n\nbody\n'],
      // Dovecot's LDA names its files with S= and W=, but its W= leaves out the CRLF sent after a last line without one.
      ['new/2000000004.M5P6.otherhost,S=24,W=25', 'Subject: x\n\nno line end'],
    ];
    for (const [file, body] of outside) await writeFile(path.join(box, file), body);
    const first = await sizesAndBodies(fx.srv.port, 'cached@example.com', 'cached-pw');
    assert.deepEqual(first.list, first.retr, 'measured at the first log-in');
    assert.equal(first.list[4], Buffer.byteLength('Subject: x\r\n\r\nno line end\r\n'), 'not the W= of the name');
    const cacheFile = path.join(box, SIZE_CACHE);
    await waitForFile(cacheFile);
    assert.deepEqual(await sizesAndBodies(fx.srv.port, 'cached@example.com', 'cached-pw'), first, 'the next session, from memory');

    // A restart: the sizes come from the file. Proof that they do: a size changed in it (the file still valid) shows in LIST.
    const cache = JSON.parse(await readFile(cacheFile, 'utf8')) as { files: (string | number)[] };
    const at = cache.files.indexOf('new/2000000002.P1Q2.otherhost');
    assert.ok(at >= 0, 'the cache lists the file');
    cache.files[at + 2] = (cache.files[at + 2] as number) + 1000;
    await writeFile(cacheFile, JSON.stringify(cache));
    const store = await fx.t.reopen();
    let srv = await startServer(store);
    try {
      const again = await listSizes(srv.port, 'cached@example.com', 'cached-pw');
      assert.equal(again[2], (first.list[2] as number) + 1000, 'the size came from the cache file');
      // A move to cur/ with flags (another program reading it) keeps its remembered size: the name without the info is the key.
      await mkdir(path.join(box, 'cur'), { recursive: true });
      await rename(path.join(box, 'new/2000000002.P1Q2.otherhost'), path.join(box, 'cur/2000000002.P1Q2.otherhost:2,S'));
      const moved = await listSizes(srv.port, 'cached@example.com', 'cached-pw');
      assert.equal(moved[2], (first.list[2] as number) + 1000, 'the moved file kept its remembered size');
      // A damaged cache is not believed: every size is measured again, exactly.
      await srv.stop();
      await store.close();
      await writeFile(cacheFile, '{"version":1,"files":["new/../../etc/passwd",1,1]}');
      const fresh = await fx.t.reopen();
      srv = await startServer(fresh);
      const measured = await sizesAndBodies(srv.port, 'cached@example.com', 'cached-pw');
      assert.deepEqual(measured.list, measured.retr, 'measured again');
      assert.deepEqual(measured.list, first.list);
      await fresh.close();
    } finally {
      await srv.stop();
      await store.close();
    }
    await rm(cacheFile, { force: true });
  });
});

/** LIST alone (a size changed on purpose would make RETR's check fail). */
async function listSizes(port: number, user: string, password: string): Promise<number[]> {
  const client = await RawClient.login(port, user, password);
  try {
    assert.match(await client.command('LIST'), /^\+OK/);
    const list = (await client.lines()).map((l) => Number(l.split(' ')[1]));
    await client.command('QUIT');
    return list;
  } finally {
    client.destroy();
  }
}

async function waitForFile(file: string): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      await readFile(file);
      return;
    } catch (err) {
      if (Date.now() > until) throw new Error(`${file} was not written: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
