/**
 * `winpop sessions` and `winpop kick` against a running pop3svc, with real
 * poplib sessions; their answers where no service runs, and their usage
 * errors.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { SessionInfo } from '../../shared/contract.js';
import type { ControlClient } from '../../electron/service/admin/control-client.js';
import { readAudit } from '../../electron/service/store/audit-log.js';
import { holdPopSession, type HeldPopSession } from '../helpers/poplib-held.js';
import { winpop } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';
import { eventually, startService, type TestService } from '../hostile/support.js';

const ENDED = '-ERR The administrator ended this session; nothing was deleted. Connect again to continue.';
const CAROL = 'carol@kick.test';
const DAVE = 'dave@kick.test';
const ERIN = 'erin@elsewhere.test';

/** A wrong command line: the message with what to type, then the pointer to the help; exit 2. */
function usageError(r: { code: number | null; stderr: string }, what: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^winpop: [^\n]+\nType winpop help for the syntax\.\n$/, r.stderr);
  assert.match(r.stderr, what);
}

describe('winpop sessions and winpop kick against a running pop3svc', () => {
  let service: TestService;
  let control: ControlClient;
  const held: HeldPopSession[] = [];
  const admin = (args: readonly string[]) => winpop(['--mailroot', service.mailroot, '--config', service.config, ...args]);

  const logIn = async (address: string): Promise<{ client: HeldPopSession; client_: string }> => {
    const client = holdPopSession(service.svc.pop3Port, 'plain');
    held.push(client);
    const port = await client.ready;
    assert.match(await client.send(`login ${address} pw`), /^\+OK/, `log-in of ${address}`);
    return { client, client_: `127.0.0.1:${port}` };
  };

  before(async () => {
    service = await startService({
      mailboxes: [CAROL, DAVE, ERIN].map((address) => ({ address, password: 'pw' })),
      messages: () => ['Subject: keep me\n\nbody\n'],
    });
    control = await service.control();
  });
  afterEach(async () => {
    await Promise.all(held.splice(0).map((c) => c.close()));
  });
  after(async () => {
    control?.close();
    await service?.cleanup();
  });

  it('winpop sessions lists every open session, or a domain\'s, as a table and as JSON', async () => {
    const carol = await logIn(CAROL);
    const erin = await logIn(ERIN);
    const waiting = holdPopSession(service.svc.pop3Port, 'plain');
    held.push(waiting);
    const waitingClient = `127.0.0.1:${await waiting.ready}`;
    await eventually(async () => (await control.listSessions({})).length === 3, 'three sessions open');

    const table = await admin(['sessions']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] as string, /^ID\s+MAILBOX\s+CLIENT\s+SINCE\s+ENCRYPTED\s+STATE\s+LISTENER$/);
    const rows = lines.slice(1, -1).map((line) => line.split(/\s{2,}/));
    assert.deepEqual(
      rows.map((r) => [r[1], r[2], r[4], r[5], r[6]]).sort(),
      [
        [CAROL, carol.client_, 'no', 'transaction', 'pop3'],
        [ERIN, erin.client_, 'no', 'transaction', 'pop3'],
        ['(not logged in)', waitingClient, 'no', 'authorization', 'pop3'],
      ].sort(),
    );
    assert.equal(lines.at(-1), '3 POP3 sessions');

    const json = await admin(['sessions', 'KICK.test', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { running: boolean; domain: string; sessions: SessionInfo[] };
    assert.deepEqual([parsed.running, parsed.domain, parsed.sessions.map((s) => [s.address, s.client])], [true, 'kick.test', [[CAROL, carol.client_]]]);
    assert.match(parsed.sessions[0]?.id ?? '', new RegExp(`^${service.pid}-\\d+$`));

    const none = await admin(['sessions', 'nobody.test']);
    assert.deepEqual([none.code, none.stdout], [0, 'No POP3 session is logged in to a mailbox of nobody.test.\n']);
  });

  it('winpop kick ends the mailbox\'s session without deleting, leaves the others, audits it, and says when none is open', async () => {
    const carol = await logIn(CAROL);
    const dave = await logIn(DAVE);
    assert.match(await carol.client.send('dele 1'), /^\+OK/);

    const kicked = await admin(['kick', 'Carol@KICK.test']);
    assert.equal(kicked.code, 0, kicked.stderr);
    assert.equal(
      kicked.stdout,
      `Ended 1 POP3 session of ${CAROL} (from ${carol.client_}); no message marked for deletion was deleted. Its user may log in again; to keep it out: winpop lock ${CAROL}\n`,
    );
    await eventually(() => carol.client.closedAt !== null, 'poplib of carol sees its connection closed');
    assert.equal(carol.client.unasked, `${ENDED}\r\n`);
    assert.equal(await dave.client.send('noop'), '+OK', 'the other mailbox of the domain goes on');
    const mailbox = (await control.listMailboxes({ domain: 'kick.test' })).find((m) => m.address === CAROL);
    assert.equal(mailbox?.messages, 1, 'the DELE was not applied');
    const audit = (await readAudit(service.mailroot)).filter((a) => a.op === 'endSession').at(-1);
    assert.deepEqual([audit?.result, audit?.detail], ['ok', `${CAROL} from ${carol.client_}`]);

    const again = await admin(['kick', CAROL]);
    assert.deepEqual([again.code, again.stdout, again.stderr], [0, `No POP3 session of ${CAROL} is open; nothing to end.\n`, '']);
    const json = await admin(['kick', DAVE, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { address: string; ended: SessionInfo[] };
    assert.deepEqual([parsed.address, parsed.ended.map((s) => s.client)], [DAVE, [dave.client_]]);
    await eventually(() => dave.client.closedAt !== null, 'poplib of dave sees its connection closed');
  });

  it('refuses a wrong command line with what to type', async () => {
    usageError(await admin(['kick']), /Missing argument\. Usage: winpop kick User@Domain/);
    usageError(await admin(['kick', 'kick.test']), /winpop kick takes a mailbox address, not "kick\.test"\. Usage: winpop kick User@Domain .*winpop lock kick\.test/);
    usageError(await admin(['kick', CAROL, DAVE]), /Unexpected argument "dave@kick\.test"\. Usage: winpop kick User@Domain/);
    usageError(await admin(['sessions', CAROL]), /winpop sessions takes a domain, not a mailbox address \("carol@kick\.test"\)\. Usage: winpop sessions \[Domain\], e\.g\. winpop sessions kick\.test/);
    usageError(await admin(['sessions', 'a.test', 'b.test']), /Unexpected argument "b\.test"\. Usage: winpop sessions \[Domain\]/);
    const badName = await admin(['kick', 'car ol@kick.test']);
    assert.equal(badName.code, 1);
    assert.equal(badName.stderr, 'winpop: A mailbox name cannot contain spaces or control characters.\n');
    const help = await winpop(['help', 'kick']);
    assert.match(help.stdout, /winpop kick User@Domain\s+ends the mailbox's POP3 sessions/);
  });
});

describe('winpop sessions and kick where no service runs', () => {
  it('say that no session can be open, and exit 0', async () => {
    const dir = await tempDir();
    try {
      const args = ['--mailroot', path.join(dir.path, 'mailroot'), '--config', path.join(dir.path, 'config.json')];
      assert.equal((await winpop([...args, 'add', 'quiet.test'])).code, 0);
      const list = await winpop([...args, 'sessions']);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^The POP3 service is not running for the mail root .*mailroot, so no POP3 session is open\.\n$/);
      const kick = await winpop([...args, 'kick', 'someone@quiet.test']);
      assert.equal(kick.code, 0, kick.stderr);
      assert.match(kick.stdout, /not running .* Nothing to end\.\n$/);
    } finally {
      await dir.remove();
    }
  });
});
