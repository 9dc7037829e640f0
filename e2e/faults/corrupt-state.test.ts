/**
 * Damaged state files under a running service: a mailbox file (password
 * hash and lock) that is not JSON, one with a broken hash, one with a broken
 * lock entry, and a domain file (the domain lock) that is not JSON. Each
 * problem stays where it is: that mailbox (or domain) cannot log in and says
 * [SYS/PERM], since only the administrator can repair it; the log, winpop
 * and the console name the file and the repair; mail for it is still
 * accepted; every other mailbox logs in, lists and receives; and the
 * documented repair works.
 */

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AdminError } from '../../shared/errors.js';
import { winpop } from '../helpers/processes.js';
import { RawClient } from '../pop3/support.js';
import { startService, type TestService } from '../hostile/support.js';
import { smtpTry } from './support.js';

/** RFC 3206: permanent until someone repairs the file, and the client learns no path. */
const DAMAGED =
  "-ERR [SYS/PERM] The server's record of this mailbox is damaged; log-in is impossible until the administrator repairs it. Contact your administrator.";

describe('damaged lock and password files', () => {
  let service: TestService;
  const wp = (args: string[], input?: string) =>
    winpop(['--mailroot', service.mailroot, '--config', service.config, ...args], input === undefined ? {} : { input });
  const metaOf = (mailbox: string, domain = 'damaged.example'): string => path.join(service.mailroot, domain, mailbox, '.winpop-mailbox.json');

  before(async () => {
    service = await startService({
      mailboxes: [
        { address: 'alice@damaged.example', password: 'pw-alice' },
        { address: 'bob@damaged.example', password: 'pw-bob' },
        { address: 'dave@damaged.example', password: 'pw-dave' },
        { address: 'erin@damaged.example', password: 'pw-erin' },
        { address: 'carol@other.example', password: 'pw-carol' },
      ],
      messages: () => ['Subject: kept\n\nbody\n'],
    });
  });
  after(async () => {
    await service?.cleanup();
  });

  /** The answer to a log-in with the right password. */
  async function logIn(address: string, password: string): Promise<string> {
    const c = await RawClient.open(service.svc.pop3Port);
    await c.command(`USER ${address}`);
    const answer = await c.command(`PASS ${password}`);
    await c.command('QUIT');
    return answer;
  }

  /** The rest of the store keeps working: log-in, LIST, and delivery. */
  async function othersWork(): Promise<void> {
    const c = await RawClient.login(service.svc.pop3Port, 'carol@other.example', 'pw-carol');
    assert.match(await c.command('LIST'), /^\+OK \d+ messages/);
    await c.lines();
    assert.equal(await c.command('QUIT'), '+OK Bye.');
    assert.equal((await smtpTry(service.svc.smtpPort, 'carol@other.example', 'Subject: still flowing\r\n\r\nbody\r\n')).code, 250);
  }

  const damages: [string, string, string, RegExp][] = [
    ['bob', 'pw-bob', '{ "version": 1, "password": "$scrypt$', /is damaged \(not valid JSON\)/],
    ['dave', 'pw-dave', '{ "version": 1, "password": "plain-text-password", "lock": null }', /has no valid password hash/],
    ['erin', 'pw-erin', '', /has a damaged "lock" entry/],
  ];

  for (const [mailbox, password, content, problem] of damages) {
    const address = `${mailbox}@damaged.example`;
    it(`${address}: ${problem.source.replace(/\\/g, '')}; a clear error everywhere, the rest works, changepwd repairs it`, async () => {
      const file = metaOf(mailbox);
      if (content === '') {
        // A valid file whose lock entry is not a lock: the lock state cannot be known.
        const meta = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
        await writeFile(file, JSON.stringify({ ...meta, lock: 'yes' }));
      } else {
        await writeFile(file, content);
      }
      const fix = new RegExp(`The store file \\S*${mailbox}/\\.winpop-mailbox\\.json ${problem.source}\\. Set a new password with \`winpop changepwd ${address}\``);

      const refused = await logIn(address, password);
      assert.equal(refused, DAMAGED, 'fails closed (the lock state cannot be known) until the administrator repairs it');
      assert.ok(!refused.includes(service.mailroot) && !refused.includes('.winpop'), 'the client is not told where the store is');
      // The log writes a value with quotes as a JSON string: " becomes \".
      assert.match(service.svc.output(), new RegExp(`pop3 login check failed .*${fix.source.replace(/"/g, '\\\\?"')}`));

      const lock = await wp(['lock', address]);
      assert.equal(lock.code, 1, lock.stderr);
      assert.match(lock.stderr, fix);
      const console = await service.control();
      try {
        await assert.rejects(console.lock({ target: address }), (err: AdminError) => {
          assert.equal(err.code, 'STORE_ERROR');
          assert.match(err.message, fix);
          return true;
        });
        const listed = (await console.listMailboxes({ domain: 'damaged.example' })).find((m) => m.name === mailbox);
        assert.equal(listed?.messages, 1, 'the mailbox is still listed with its mail');
      } finally {
        console.close();
      }
      assert.equal((await smtpTry(service.svc.smtpPort, address, 'Subject: still delivered\r\n\r\nbody\r\n')).code, 250, 'mail for it is still accepted');
      assert.match(await logIn('alice@damaged.example', 'pw-alice'), /^\+OK Logged in/);
      await othersWork();

      const repair = await wp(['changepwd', address, '-'], 'pw-repaired\n');
      assert.equal(repair.code, 0, repair.stderr);
      assert.match(await logIn(address, 'pw-repaired'), /^\+OK Logged in; 2 messages/);
    });
  }

  it('a damaged domain file: its mailboxes fail closed with [SYS/PERM], other domains work, lock then unlock repairs it', async () => {
    const file = path.join(service.mailroot, 'damaged.example', '.winpop-domain.json');
    await writeFile(file, '{ "version": 1, "lock": ');
    const fix = /The store file \S*damaged\.example\/\.winpop-domain\.json is damaged \(not valid JSON\)\. Lock the domain and unlock it again \(`winpop lock damaged\.example`, then `winpop unlock damaged\.example`\)/;

    assert.equal(await logIn('alice@damaged.example', 'pw-alice'), DAMAGED, 'the domain lock cannot be known: no log-in');
    assert.match(service.svc.output(), new RegExp(`pop3 login check failed .*${fix.source}`));
    await othersWork();
    assert.equal((await smtpTry(service.svc.smtpPort, 'alice@damaged.example', 'Subject: domain damaged\r\n\r\nbody\r\n')).code, 250);
    const list = await wp(['list', 'damaged.example']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /alice/);
    assert.match(service.svc.output(), new RegExp(`WARN .*${fix.source}`), 'listing it logs the problem');

    assert.equal((await wp(['lock', 'damaged.example'])).code, 0);
    assert.match(await logIn('alice@damaged.example', 'pw-alice'), /^-ERR \[AUTH\] Log-in to this mailbox is disabled by the administrator/);
    assert.equal((await wp(['unlock', 'damaged.example'])).code, 0);
    assert.match(await logIn('alice@damaged.example', 'pw-alice'), /^\+OK Logged in/);
  });
});
