/**
 * Octet counts are exact (RFC 1939): the size LIST and STAT report for a
 * message is the number of octets RETR sends for it, before byte-stuffing
 * and without the terminator — also for a message whose last line has no
 * line end, which the server ends with a CRLF of its own.
 */

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RawClient, seedMailbox, unstuff, useStoreAndServer } from './support.js';

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
});
