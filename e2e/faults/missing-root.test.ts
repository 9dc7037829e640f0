/**
 * A mail root that is not there: one that cannot be made (a file in the way,
 * a read-only disk), and one removed while the service runs (a disk that was
 * unmounted). Nothing pretends the store is empty: SMTP asks senders to try
 * later instead of bouncing their mail, log-ins get [SYS/TEMP], the log,
 * winpop and the console say what is missing and what to do, and nothing
 * makes an empty mail root in its place behind the administrator's back.
 */

import assert from 'node:assert/strict';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AdminError } from '../../shared/errors.js';
import { controlSocketPath } from '../../electron/service/admin/control-path.js';
import { startPop3svc, winpop } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { RawClient } from '../pop3/support.js';
import { startService, type TestService } from '../hostile/support.js';
import { mountTmpfs, smtpTry } from './support.js';

describe('a mail root that cannot be made', () => {
  let dir: TempDir;

  before(async () => {
    dir = await tempDir('winpop-noroot-');
    await writeFile(path.join(dir.path, 'a-file'), 'in the way\n');
  });
  after(async () => {
    await dir?.remove();
  });

  it('pop3svc stops with a one-line error naming the folder and the fix; winpop fails with one line naming the folder', async () => {
    const mailroot = path.join(dir.path, 'a-file', 'mailroot');
    const config = path.join(dir.path, 'config.json');
    await assert.rejects(startPop3svc(mailroot, config), /exited with 1 before it was ready:[\s\S]*Cannot open the mail root \S*a-file\/mailroot: a file is in the way\. Choose another folder with --mailroot/);
    const list = await winpop(['--mailroot', mailroot, '--config', config, 'list']);
    assert.equal(list.code, 1, list.stderr);
    assert.match(list.stderr, /^winpop: .*a-file\/mailroot/);
    assert.equal(list.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  });

  it('on a read-only disk, the error says so', async (t) => {
    const ro = await mountTmpfs('1m');
    if ('skip' in ro) return t.skip(ro.skip);
    try {
      await ro.remountReadOnly();
      // `add` is a command that may create the store, so it meets the read-only disk.
      const result = await winpop(['--mailroot', path.join(ro.dir, 'mailroot'), '--config', path.join(dir.path, 'config.json'), 'add', 'example.com']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /^winpop: Cannot open the mail root \S+\. The mail store is on a read-only file system: cannot write \S+\. Remount the disk of \S+ read-write/);
      assert.equal(result.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
    } finally {
      await ro.cleanup();
    }
  });
});

describe('a mail root removed while the service runs', () => {
  let service: TestService;
  let mailroot: string;
  const wp = (...args: string[]) => winpop(['--mailroot', mailroot, '--config', service.config, ...args]);

  before(async () => {
    const dir = await tempDir('winpop-gone-');
    // A path too long for a socket address puts the control channel outside the mail root,
    // so winpop still reaches the service after the root is gone.
    mailroot = path.join(dir.path, 'a-mail-root-with-a-long-name-'.repeat(3), 'mailroot');
    await rm(dir.path, { recursive: true });
    service = await startService({
      mailroot,
      mailboxes: [{ address: 'alice@gone.example', password: 'pw-alice' }],
      messages: () => ['Subject: before\n\nbody\n'],
    });
    assert.ok(!controlSocketPath(mailroot).startsWith(mailroot), 'the control socket lives outside the mail root');
    await rm(mailroot, { recursive: true });
  });
  after(async () => {
    await service?.cleanup();
    await rm(path.dirname(path.dirname(mailroot)), { recursive: true, force: true });
  });

  const MISSING = /The mail root \S+ is missing: it was removed, or the disk that holds it is not mounted\. Restore it or mount its disk, then restart the service/;

  it('SMTP answers 451 (try later), not 550 (no such mailbox), and logs why', async () => {
    const out = await smtpTry(service.svc.smtpPort, 'alice@gone.example', 'Subject: while gone\r\n\r\nbody\r\n');
    assert.equal(out.stage, 'rcpt');
    assert.equal(out.code, 451, out.text);
    assert.match(service.svc.output(), new RegExp(`smtp: cannot check a recipient .*${MISSING.source}`));
  });

  it('log-in answers [SYS/TEMP], not "invalid user name or password"', async () => {
    const c = await RawClient.open(service.svc.pop3Port);
    await c.command('USER alice@gone.example');
    assert.match(await c.command('PASS pw-alice'), /^-ERR \[SYS\/TEMP\]/);
    assert.equal(await c.command('QUIT'), '+OK Bye.');
    assert.match(service.svc.output(), new RegExp(`pop3 login check failed .*${MISSING.source}`));
  });

  it('winpop and the console say the mail root is missing, for reading and for changes; nothing makes it again', async () => {
    for (const args of [['list'], ['list', 'gone.example'], ['lock', 'alice@gone.example'], ['add', 'new.example']]) {
      const result = await wp(...args);
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, MISSING, args.join(' '));
    }
    const console = await service.control();
    try {
      for (const call of [() => console.listDomains({}), () => console.stat({}), () => console.unlock({ target: 'gone.example' })]) {
        await assert.rejects(call(), (err: AdminError) => {
          assert.equal(err.code, 'STORE_ERROR');
          assert.match(err.message, MISSING);
          return true;
        });
      }
    } finally {
      console.close();
    }
    await assert.rejects(stat(mailroot), { code: 'ENOENT' }, 'no empty mail root was made in place of the missing one');
  });

  it('an empty folder made in its place is not taken for the store: the service asks for a restart', async () => {
    await mkdir(mailroot);
    const out = await smtpTry(service.svc.smtpPort, 'alice@gone.example', 'Subject: into the new folder\r\n\r\nbody\r\n');
    assert.equal(out.code, 451, out.text);
    const console = await service.control();
    try {
      await assert.rejects(console.listDomains({}), { code: 'STORE_ERROR', message: /was replaced by another folder while the service was running .* Restart the service/ });
    } finally {
      console.close();
    }
  });
});
