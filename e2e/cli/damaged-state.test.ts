/**
 * A state file damaged by hand (not JSON, missing, fields of the wrong type,
 * a domain file that is not JSON): log-in fails closed, and every listing
 * says so instead of showing the mailbox as fine — state "error" in
 * `winpop list`, with the file and the repair under the table, `problem` in
 * `--json`, a `stateProblem` event for the console — until the documented
 * repair, which clears it at once. Real processes on a real store: winpop
 * on its own and through a running pop3svc, poplib, the control channel.
 */

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AdminEvent, DomainSummary, MailboxSummary } from '../../shared/contract.js';
import { connectControl, type ControlClient } from '../../electron/service/admin/control-client.js';
import { SNAPSHOT_MIN_MAILBOXES } from '../../electron/service/store/listing-snapshot.js';
import { boxName, writeDomain } from '../helpers/listing-fixture.js';
import { startPop3svc, winpop, type RunningService } from '../helpers/processes.js';
import { popFetchAll } from '../helpers/python.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const DOMAIN = 'example.com';

/** Each kind of damage, the file content written by hand, and what the listing must say about the file. */
const DAMAGES = [
  { name: 'notjson', content: '{ "version": 1, "password": "$scrypt$', says: 'is damaged \\(not valid JSON\\)' },
  { name: 'missing', content: null, says: 'is missing' },
  { name: 'wrongtypes', content: '{ "version": 1, "password": 42, "lock": null, "created": 7 }', says: 'has no valid password hash' },
  { name: 'badlock', content: 'LOCK', says: 'has a damaged "lock" entry' },
] as const;

let dir: TempDir;
let mailroot: string;
let config: string;

const wp = (args: readonly string[], input?: string) => winpop(['--mailroot', mailroot, '--config', config, ...args], input === undefined ? {} : { input });
const metaFile = (mailbox: string): string => path.join(mailroot, DOMAIN, mailbox, '.winpop-mailbox.json');
const escape = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/** What `problem` must say for a mailbox: the file, what is wrong with it, the repair, the effect. */
function mailboxProblem(mailbox: string, says: string): RegExp {
  const address = `${mailbox}@${DOMAIN}`;
  return new RegExp(
    `^The store file ${escape(metaFile(mailbox))} ${says}\\. Set a new password with \`winpop changepwd ${escape(address)}\` \\(it asks for the password\\) to rewrite it, or restore it from a backup\\. Until then it cannot log in\\.$`,
  );
}

async function damage(mailbox: string, content: string | null): Promise<void> {
  const file = metaFile(mailbox);
  if (content === null) await fsp.rm(file);
  else if (content === 'LOCK') {
    const meta = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
    await fsp.writeFile(file, JSON.stringify({ ...meta, lock: 'yes' }));
  } else await fsp.writeFile(file, content);
}

async function listJson(domain = DOMAIN): Promise<MailboxSummary[]> {
  const r = await wp(['--json', 'list', domain]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { mailboxes: MailboxSummary[] }).mailboxes;
}

async function domainsJson(): Promise<DomainSummary[]> {
  const r = await wp(['--json', 'list']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { domains: DomainSummary[] }).domains;
}

const byName = (rows: readonly MailboxSummary[], name: string): MailboxSummary => {
  const row = rows.find((m) => m.name === name);
  assert.ok(row, `${name} is listed`);
  return row;
};

/** The text table's STATE cell of a mailbox. */
function stateCell(text: string, name: string): string | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line?.split(/\s{2,}/).at(-1);
}

async function logIn(port: number, address: string, password: string): Promise<string> {
  const r = await popFetchAll(port, address, password);
  return 'error' in r ? r.error : 'ok';
}

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`gave up waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('damaged state files are listed as errors', () => {
  let service: RunningService | undefined;
  let control: ControlClient | undefined;
  const events: AdminEvent[] = [];

  before(async () => {
    dir = await tempDir();
    mailroot = path.join(dir.path, 'mailroot');
    config = path.join(dir.path, 'config.json');
    assert.equal((await wp(['add', DOMAIN])).code, 0);
    for (const name of ['good', ...DAMAGES.map((d) => d.name)]) {
      const r = await wp(['add', `${name}@${DOMAIN}`, '/createuser', '-'], `pw-${name}\n`);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  after(async () => {
    control?.close();
    await service?.stop();
    await dir?.remove();
  });

  test('winpop list on its own: state error, with the file and the repair; --json carries problem', async () => {
    for (const d of DAMAGES) await damage(d.name, d.content);
    const text = await wp(['list', DOMAIN]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(stateCell(text.stdout, 'good'), 'unlocked');
    for (const d of DAMAGES) {
      assert.equal(stateCell(text.stdout, d.name), 'error', `${d.name}:\n${text.stdout}`);
      const line = text.stdout.split('\n').find((l) => l.startsWith(`${d.name}@${DOMAIN}: `));
      assert.match(line?.slice(`${d.name}@${DOMAIN}: `.length) ?? '(no line)', mailboxProblem(d.name, d.says));
    }

    const rows = await listJson();
    assert.equal('problem' in byName(rows, 'good'), false, 'a whole mailbox has no problem field');
    for (const d of DAMAGES) assert.match(byName(rows, d.name).problem ?? '(none)', mailboxProblem(d.name, d.says), d.name);
  });

  test('under pop3svc: log-in fails closed, the listing says why, and changepwd clears it at once', async () => {
    service = await startPop3svc(mailroot, config);
    const connected = await connectControl(mailroot, 'damage-test');
    assert.ok(connected, 'the control channel answers');
    control = connected;
    control.onEvent((e) => events.push(e));

    assert.equal(await logIn(service.pop3Port, `good@${DOMAIN}`, 'pw-good'), 'ok');
    for (const d of DAMAGES) assert.match(await logIn(service.pop3Port, `${d.name}@${DOMAIN}`, `pw-${d.name}`), /^-ERR \[SYS\/PERM\]/, d.name);
    for (const d of DAMAGES) assert.match(byName(await listJson(), d.name).problem ?? '(none)', mailboxProblem(d.name, d.says), `${d.name} through the service`);

    for (const d of DAMAGES) {
      const repair = await wp(['changepwd', `${d.name}@${DOMAIN}`, '-'], `new-${d.name}\n`);
      assert.equal(repair.code, 0, repair.stderr);
      const row = byName(await listJson(), d.name);
      assert.equal(row.problem, undefined, `${d.name} is whole again`);
      assert.equal(await logIn(service.pop3Port, `${d.name}@${DOMAIN}`, `new-${d.name}`), 'ok');
      await until(`the repair of ${d.name} is announced`, () =>
        events.find((e) => e.type === 'stateProblem' && e.target === `${d.name}@${DOMAIN}` && e.problem === null),
      );
    }
    const text = await wp(['list', DOMAIN]);
    assert.doesNotMatch(text.stdout, /error/);
  });

  test('damaged while the service runs: the log-in that finds it shows it everywhere, and announces it', async () => {
    assert.ok(service);
    await damage('good', '[]');
    assert.match(await logIn(service.pop3Port, `good@${DOMAIN}`, 'pw-good'), /^-ERR \[SYS\/PERM\]/);
    const says = 'is damaged \\(not a JSON object\\)';
    const event = await until('the damage is announced', () => events.find((e) => e.type === 'stateProblem' && e.target === `good@${DOMAIN}` && e.problem !== null));
    assert.match(event.type === 'stateProblem' ? (event.problem ?? '') : '', mailboxProblem('good', says));
    assert.match(byName(await listJson(), 'good').problem ?? '(none)', mailboxProblem('good', says));
    assert.equal(stateCell((await wp(['list', DOMAIN])).stdout, 'good'), 'error');

    assert.equal((await wp(['changepwd', `good@${DOMAIN}`, '-'], 'pw-good\n')).code, 0);
    assert.equal(byName(await listJson(), 'good').problem, undefined);
  });

  test('a damaged domain file: the domain and every mailbox in it show error until lock and unlock rewrite it', async () => {
    assert.ok(service);
    const file = path.join(mailroot, DOMAIN, '.winpop-domain.json');
    await fsp.writeFile(file, '{ "version": 1, "lock": ');
    const problem = new RegExp(
      `^The store file ${escape(file)} is damaged \\(not valid JSON\\)\\. Lock the domain and unlock it again \\(\`winpop lock ${escape(DOMAIN)}\`, then \`winpop unlock ${escape(DOMAIN)}\`\\) to rewrite it, or restore it from a backup\\. Until then no mailbox of the domain can log in\\.$`,
    );
    assert.match(await logIn(service.pop3Port, `good@${DOMAIN}`, 'pw-good'), /^-ERR \[SYS\/PERM\]/);

    const domain = (await domainsJson()).find((d) => d.name === DOMAIN);
    assert.match(domain?.problem ?? '(none)', problem);
    const domains = await wp(['list']);
    assert.match(domains.stdout, /^example\.com\s+\d+\s+\d+\s+.*\berror$/m);
    assert.match(domains.stdout.split('\n').find((l) => l.startsWith(`${DOMAIN}: `))?.slice(DOMAIN.length + 2) ?? '(no line)', problem);
    const rows = await listJson();
    for (const row of rows) assert.match(row.domainProblem ?? '(none)', problem, row.name);
    const text = await wp(['list', DOMAIN]);
    assert.equal(stateCell(text.stdout, 'good'), 'error (domain)');
    await until('the domain damage is announced', () => events.find((e) => e.type === 'stateProblem' && e.kind === 'domain' && e.target === DOMAIN && e.problem !== null));

    assert.equal((await wp(['lock', DOMAIN])).code, 0);
    assert.equal((await wp(['unlock', DOMAIN])).code, 0);
    assert.equal((await domainsJson()).find((d) => d.name === DOMAIN)?.problem, undefined);
    assert.ok((await listJson()).every((m) => m.domainProblem === undefined && m.problem === undefined));
    assert.equal(await logIn(service.pop3Port, `good@${DOMAIN}`, 'pw-good'), 'ok');
  });
});

describe('a domain big enough for a listing snapshot', () => {
  const BIG = 'big.example';
  let bigDir: TempDir;
  let root: string;
  let cfg: string;
  const big = (args: readonly string[], input?: string) => winpop(['--mailroot', root, '--config', cfg, ...args], input === undefined ? {} : { input });

  before(async () => {
    bigDir = await tempDir('winpop-damaged-big-');
    root = path.join(bigDir.path, 'mailroot');
    cfg = path.join(bigDir.path, 'config.json');
    await writeDomain(root, BIG, SNAPSHOT_MIN_MAILBOXES + 5);
  });
  after(async () => {
    await bigDir?.remove();
  });

  test('keeps the problem in the snapshot, and the repair clears it', async () => {
    const damaged = boxName(3);
    const file = path.join(root, BIG, damaged, '.winpop-mailbox.json');
    await fsp.writeFile(file, 'not json');
    const snapshot = path.join(root, '.winpop', 'index', BIG, 'listing.json');
    const listed = async (): Promise<MailboxSummary | undefined> => {
      const r = await big(['--json', 'list', BIG]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { mailboxes: MailboxSummary[] }).mailboxes.find((m) => m.name === damaged);
    };
    const says = new RegExp(`^The store file ${escape(file)} is damaged \\(not valid JSON\\)\\. .*winpop changepwd ${escape(`${damaged}@${BIG}`)}`);

    assert.match((await listed())?.problem ?? '(none)', says, 'the scan');
    const written = await fsp.stat(snapshot);
    assert.match(await fsp.readFile(snapshot, 'utf8'), /is damaged \(not valid JSON\)/, 'the snapshot holds the problem');
    assert.match((await listed())?.problem ?? '(none)', says, 'from the snapshot');
    assert.equal((await fsp.stat(snapshot)).mtimeMs, written.mtimeMs, 'the second listing read the snapshot, it did not scan');

    assert.equal((await big(['changepwd', `${damaged}@${BIG}`, '-'], 'pw\n')).code, 0);
    assert.equal((await listed())?.problem, undefined);
  });
});

describe('a damaged mailbox or domain can still be deleted', () => {
  let own: TempDir;
  let root: string;
  let cfg: string;
  const w = (args: readonly string[], input?: string) => winpop(['--mailroot', root, '--config', cfg, ...args], input === undefined ? {} : { input });

  before(async () => {
    own = await tempDir('winpop-damaged-delete-');
    root = path.join(own.path, 'mailroot');
    cfg = path.join(own.path, 'config.json');
    for (const d of ['one.example', 'two.example']) assert.equal((await w(['add', d])).code, 0);
    for (const a of ['broken@one.example', 'whole@one.example', 'x@two.example']) assert.equal((await w(['add', a, '/createuser', '-'], 'pw\n')).code, 0);
  });
  after(async () => {
    await own?.remove();
  });

  test('deleting is the other repair: the folder goes whatever its state file says, and the rest stays', async () => {
    await fsp.writeFile(path.join(root, 'one.example', 'broken', '.winpop-mailbox.json'), '{ not json');
    await fsp.writeFile(path.join(root, 'two.example', '.winpop-domain.json'), 'garbage');
    const mailbox = await w(['delete', 'broken@one.example']);
    assert.equal(mailbox.code, 0, mailbox.stderr);
    const domain = await w(['delete', 'two.example']);
    assert.equal(domain.code, 0, domain.stderr);
    await assert.rejects(fsp.stat(path.join(root, 'one.example', 'broken')), { code: 'ENOENT' });
    await assert.rejects(fsp.stat(path.join(root, 'two.example')), { code: 'ENOENT' });
    const left = await w(['--json', 'list', 'one.example']);
    assert.deepEqual((JSON.parse(left.stdout) as { mailboxes: MailboxSummary[] }).mailboxes.map((m) => m.name), ['whole']);
    assert.equal((await w(['delete', 'broken@one.example'])).code, 1, 'deleting it again is NOT_FOUND');
  });
});
