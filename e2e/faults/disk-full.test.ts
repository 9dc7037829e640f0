/**
 * A disk that fills up, for real: the mail root is a 2 MB tmpfs, filled to
 * the last byte. Delivery gets a temporary SMTP error and leaves nothing
 * behind; a QUIT applies its deletions whole or not at all and says so;
 * admin changes fail with a STORE_ERROR that names the file and the fix;
 * reading keeps working; once space is freed, everything works again.
 */

import assert from 'node:assert/strict';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminError } from '../../shared/errors.js';
import { winpop } from '../helpers/processes.js';
import { RawClient } from '../pop3/support.js';
import { startService, type TestService } from '../hostile/support.js';
import { leftovers, mountTmpfs, smtpTry, subjectsIn, type Tmpfs } from './support.js';

const tmpfs = await mountTmpfs('2m');
const skip = 'skip' in tmpfs ? tmpfs.skip : false;
const message = (subject: string, size: number): string => `Subject: ${subject}\r\n\r\n${'x'.repeat(76)}\r\n`.repeat(Math.ceil(size / 80));

/** Writes a file until the disk is full; returns its path. */
async function fill(dir: string): Promise<string> {
  const file = path.join(dir, 'filler');
  const handle = await open(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x2e);
  try {
    for (;;) await handle.write(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await handle.close();
  }
  // The last partial chunk may have left a page or two: fill those with small writes.
  const tail = await open(file, 'a');
  try {
    for (;;) await tail.write(Buffer.alloc(512, 0x2e));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await tail.close();
  }
  return file;
}

describe('disk full', { skip }, () => {
  const fs = tmpfs as Tmpfs;
  let service: TestService;
  let filler: string;
  const wp = (...args: string[]) => winpop(['--mailroot', service.mailroot, '--config', service.config, ...args]);

  before(async () => {
    service = await startService({
      mailroot: path.join(fs.dir, 'mailroot'),
      mailboxes: [
        { address: 'alice@full.example', password: 'pw-alice' },
        { address: 'bob@full.example', password: 'pw-bob' },
      ],
      messages: (address) => (address.startsWith('bob') ? ['one', 'two', 'three'].map((s) => message(s, 1000)) : []),
    });
    filler = await fill(fs.dir);
  });
  after(async () => {
    await service?.cleanup();
    await fs.cleanup?.();
  });

  it('delivery gets a temporary SMTP error, and nothing of the message is left', async () => {
    for (const size of [20_000, 100]) {
      const out = await smtpTry(service.svc.smtpPort, 'alice@full.example', message(`too much ${size}`, size));
      // A full disk is temporary: 451, and the client is told nothing was kept (no half copy to duplicate on retry).
      assert.equal(out.code, 451, `${out.code} ${out.text}`);
      assert.match(out.text, /^4\.3\.0 The message could not be stored; nothing was kept, please try again later/);
      assert.equal(out.stage, 'data');
    }
    assert.deepEqual(await subjectsIn(service.mailroot, 'alice@full.example'), []);
    assert.deepEqual(await leftovers(service.mailroot), [], 'no temp file, nothing in tmp/');
    assert.match(service.svc.output(), /The disk that holds the mail store is full: cannot write \S*alice/);
  });

  it('reading still works, and a QUIT whose deletions cannot be written deletes nothing and answers [SYS/TEMP]', async () => {
    const c = await RawClient.login(service.svc.pop3Port, 'bob@full.example', 'pw-bob');
    assert.match(await c.command('STAT'), /^\+OK 3 /);
    assert.match(await c.command('RETR 1'), /^\+OK/);
    await c.multiline();
    assert.match(await c.command('DELE 1'), /^\+OK/);
    assert.match(await c.command('DELE 3'), /^\+OK/);
    assert.match(await c.command('QUIT'), /^-ERR \[SYS\/TEMP\] The messages marked for deletion could not be deleted; all of them are still in the mailbox/);
    await c.waitClosed();
    assert.deepEqual(await subjectsIn(service.mailroot, 'bob@full.example'), ['one', 'three', 'two']);
    assert.deepEqual(await leftovers(service.mailroot), []);
    assert.match(service.svc.output(), /pop3 expunge failed .*The disk that holds the mail store is full/);
  });

  it('an admin change fails with a STORE_ERROR naming the file and the fix, in winpop and in the console, and changes nothing', async () => {
    const lock = await wp('lock', 'bob@full.example');
    assert.equal(lock.code, 1, lock.stderr);
    assert.match(lock.stderr, /The disk that holds the mail store is full: cannot write \S*bob\/\.winpop-mailbox\.json\. Free space on the disk of /);

    const console = await service.control();
    try {
      await assert.rejects(console.lock({ target: 'bob@full.example' }), (err: AdminError) => {
        assert.equal(err.code, 'STORE_ERROR');
        assert.match(err.message, /full: cannot write \S*bob\/\.winpop-mailbox\.json\. Free space/);
        return true;
      });
      await assert.rejects(console.addMailbox({ address: 'carol@full.example', password: 'pw-carol' }), { code: 'STORE_ERROR', message: /full/ });
      const mailboxes = await console.listMailboxes({ domain: 'full.example' });
      assert.deepEqual(
        mailboxes.map((m) => [m.name, m.locked, m.messages]),
        [
          ['alice', false, 0],
          ['bob', false, 3],
        ],
      );
    } finally {
      console.close();
    }
    assert.deepEqual(await leftovers(service.mailroot), [], 'no staging folder or temp file is left');
    const c = await RawClient.login(service.svc.pop3Port, 'bob@full.example', 'pw-bob');
    assert.equal(await c.command('QUIT'), '+OK Bye.');
  });

  it('once space is freed, delivery, deletion and admin changes work again', async () => {
    await rm(filler);
    const out = await smtpTry(service.svc.smtpPort, 'alice@full.example', message('after', 20_000));
    assert.equal(out.code, 250, out.text);
    assert.deepEqual(await subjectsIn(service.mailroot, 'alice@full.example'), ['after']);
    const c = await RawClient.login(service.svc.pop3Port, 'bob@full.example', 'pw-bob');
    assert.match(await c.command('DELE 1'), /^\+OK/);
    assert.match(await c.command('QUIT'), /^\+OK Bye; 1 message deleted/);
    assert.deepEqual(await subjectsIn(service.mailroot, 'bob@full.example'), ['three', 'two']);
    assert.equal((await wp('lock', 'bob@full.example')).code, 0);
    assert.equal((await wp('unlock', 'bob@full.example')).code, 0);
  });
});
