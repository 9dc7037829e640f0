/**
 * The mail store's disk turns read-only under a running service (what a
 * kernel does after disk errors): `mount -o remount,ro` on a tmpfs mail root.
 * Reading keeps working (log-in, LIST, RETR, winpop list); every write fails
 * with a clear error in the log, in winpop and in the console, and changes
 * nothing; SMTP asks senders to try later. Remounted read-write, all works.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AdminError } from '../../shared/errors.js';
import { winpop } from '../helpers/processes.js';
import { RawClient } from '../pop3/support.js';
import { startService, type TestService } from '../hostile/support.js';
import { leftovers, mountTmpfs, smtpTry, subjectsIn, type Tmpfs } from './support.js';

const tmpfs = await mountTmpfs('8m');
const skip = 'skip' in tmpfs ? tmpfs.skip : false;
const READ_ONLY = /The mail store is on a read-only file system: cannot write \S+\. Remount the disk of \S+ read-write/;

describe('read-only file system', { skip }, () => {
  const fs = tmpfs as Tmpfs;
  let service: TestService;
  const wp = (...args: string[]) => winpop(['--mailroot', service.mailroot, '--config', service.config, ...args]);

  before(async () => {
    service = await startService({
      mailroot: path.join(fs.dir, 'mailroot'),
      mailboxes: [
        { address: 'alice@ro.example', password: 'pw-alice' },
        { address: 'bob@ro.example', password: 'pw-bob' },
      ],
      messages: (address) => (address.startsWith('alice') ? ['Subject: first\n\none\n', 'Subject: second\n\ntwo\n'] : []),
    });
    await fs.remountReadOnly();
  });
  after(async () => {
    await service?.cleanup();
    await fs.cleanup?.();
  });

  it('log-in, LIST and RETR keep working; a QUIT with deletions deletes nothing and answers [SYS/TEMP]', async () => {
    const c = await RawClient.login(service.svc.pop3Port, 'alice@ro.example', 'pw-alice');
    assert.match(await c.command('LIST'), /^\+OK 2 messages/);
    await c.lines();
    assert.match(await c.command('RETR 2'), /^\+OK/);
    assert.match((await c.multiline()).toString('latin1'), /Subject: second/);
    assert.match(await c.command('DELE 1'), /^\+OK/);
    assert.match(await c.command('QUIT'), /^-ERR \[SYS\/TEMP\] The messages marked for deletion could not be deleted; all of them are still in the mailbox/);
    await c.waitClosed();
    assert.deepEqual(await subjectsIn(service.mailroot, 'alice@ro.example'), ['first', 'second']);
    assert.match(service.svc.output(), new RegExp(`pop3 expunge failed .*${READ_ONLY.source}`));
  });

  it('delivery gets a temporary SMTP error, and the log says the file system is read-only', async () => {
    const out = await smtpTry(service.svc.smtpPort, 'bob@ro.example', 'Subject: while read-only\r\n\r\nbody\r\n');
    assert.equal(out.code, 451, `${out.code} ${out.text}`);
    assert.match(out.text, /^4\.3\.0 The message could not be stored; nothing was kept, please try again later/);
    assert.deepEqual(await subjectsIn(service.mailroot, 'bob@ro.example'), []);
    assert.match(service.svc.output(), new RegExp(`mail not stored .*${READ_ONLY.source}`));
  });

  it('winpop and the console read the store, and get a STORE_ERROR naming the file and the fix for every change', async () => {
    const list = await wp('list', 'ro.example');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /alice/);

    const lock = await wp('lock', 'bob@ro.example');
    assert.equal(lock.code, 1, lock.stderr);
    assert.match(lock.stderr, /read-only file system: cannot write \S*bob\/\.winpop-mailbox\.json\. Remount/);

    const console = await service.control();
    try {
      for (const call of [
        () => console.lock({ target: 'ro.example' }),
        () => console.changePassword({ address: 'bob@ro.example', password: 'pw-new' }),
        () => console.addDomain({ domain: 'new.example' }),
        () => console.deleteMailbox({ address: 'bob@ro.example' }),
      ]) {
        await assert.rejects(call(), (err: AdminError) => {
          assert.equal(err.code, 'STORE_ERROR');
          assert.match(err.message, READ_ONLY);
          return true;
        });
      }
      const mailboxes = await console.listMailboxes({ domain: 'ro.example' });
      assert.deepEqual(
        mailboxes.map((m) => [m.name, m.locked, m.messages]),
        [
          ['alice', false, 2],
          ['bob', false, 0],
        ],
      );
    } finally {
      console.close();
    }
    const bob = await RawClient.login(service.svc.pop3Port, 'bob@ro.example', 'pw-bob');
    assert.equal(await bob.command('QUIT'), '+OK Bye.', 'the old password still works: nothing was half-changed');
  });

  it('remounted read-write, delivery, deletion and admin changes work again', async () => {
    await fs.remountWritable();
    assert.equal((await smtpTry(service.svc.smtpPort, 'bob@ro.example', 'Subject: after\r\n\r\nbody\r\n')).code, 250);
    const c = await RawClient.login(service.svc.pop3Port, 'alice@ro.example', 'pw-alice');
    assert.match(await c.command('DELE 1'), /^\+OK/);
    assert.match(await c.command('QUIT'), /^\+OK Bye; 1 message deleted/);
    assert.deepEqual(await subjectsIn(service.mailroot, 'alice@ro.example'), ['second']);
    assert.equal((await wp('lock', 'bob@ro.example')).code, 0);
    assert.deepEqual(await leftovers(service.mailroot), []);
  });
});
