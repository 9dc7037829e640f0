/**
 * QUIT when a file cannot be removed after the expunge's intent record is
 * written: the client is told the deletion is recorded and will complete,
 * and the next session of this very process never sees those messages.
 *
 * The failing unlink is real, and one root cannot bypass: a folder named as
 * a message stands in new/ (unlink of a folder is EISDIR). Replacing it with
 * a file afterwards plays the disk that works again.
 */

import assert from 'node:assert/strict';
import { mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPLY } from '../../electron/service/pop3/responses.js';
import { RawClient, seedMailbox, useStoreAndServer } from './support.js';

const ADDRESS = 'stuck@example.com';
const PASSWORD = 'pw-stuck';
/** Older than anything delivered now, so it is message 1; named as this store names its mail, so its sizes are taken from the name. */
const STUCK = '1700000000.M1P1Q1R5c0c.host.test,S=5,W=6';

describe('POP3 QUIT with a deletion that cannot finish at once', () => {
  const fx = useStoreAndServer();
  const mailbox = (): string => path.join(fx.t.root, 'example.com', 'stuck');
  const records = async (): Promise<string[]> => (await readdir(mailbox())).filter((n) => n.startsWith('.winpop-expunge.'));

  it('answers -ERR saying the deletion is recorded; the next session sees the deletion complete', async () => {
    await seedMailbox(fx.t.store, ADDRESS, PASSWORD, ['Subject: two\r\n\r\nb\r\n', 'Subject: three\r\n\r\nc\r\n']);
    await mkdir(path.join(mailbox(), 'new', STUCK));

    const first = await RawClient.login(fx.srv.port, ADDRESS, PASSWORD);
    assert.match(await first.command('STAT'), /^\+OK 3 /);
    assert.match(await first.command('DELE 1'), /^\+OK/);
    assert.match(await first.command('DELE 2'), /^\+OK/);
    assert.equal(await first.command('QUIT'), REPLY.expungePending);
    await first.waitClosed();
    assert.equal((await records()).length, 1, 'the intent record stays for the next open');

    // While the file still cannot be removed, nobody is shown the half-done state.
    const meanwhile = await RawClient.open(fx.srv.port);
    assert.match(await meanwhile.command(`USER ${ADDRESS}`), /^\+OK/);
    assert.match(await meanwhile.command(`PASS ${PASSWORD}`), /^-ERR \[SYS\/TEMP\]/);
    meanwhile.destroy();

    // The disk works again: the "message" is now an ordinary file that unlink can remove.
    await rmdir(path.join(mailbox(), 'new', STUCK));
    await writeFile(path.join(mailbox(), 'new', STUCK), 'stuck');

    const next = await RawClient.login(fx.srv.port, ADDRESS, PASSWORD);
    assert.match(await next.command('STAT'), /^\+OK 1 /, 'both deleted messages are gone');
    const top = await next.command('TOP 1 0');
    assert.match(top, /^\+OK/);
    assert.match((await next.multiline()).toString('latin1'), /Subject: three/);
    assert.match(await next.command('QUIT'), /^\+OK/);
    assert.deepEqual(await records(), [], 'the record was finished and removed');
    assert.deepEqual(await readdir(path.join(mailbox(), 'new')).then((n) => n.includes(STUCK)), false);
    assert.equal((await fx.t.store.getMailbox(ADDRESS)).messages, 1);
  });
});
