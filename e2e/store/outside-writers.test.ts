/**
 * Mail that other programs write straight into the store is seen by
 * everything that shows it. Real writers deliver into a running pop3svc's
 * mail root: Dovecot's LDA (an MTA's delivery agent, as its own OS user) and
 * a plain Python script that writes the Maildir way (tmp/ then new/, and
 * into cur/ with `:2,S`), with LF and CRLF line ends, with and without a
 * final line end, in names without our `,S=`/`,W=` (or, from the LDA, a W=
 * that leaves out the CRLF POP3 sends after a last line that has none).
 *
 * Then the open view hears of it by itself (the admin API's events over the
 * control channel, after a mailbox table was fetched, as the console does),
 * and `winpop list`, `winpop stat`, the admin API's listing and POP3 through
 * Python's poplib all agree with the disk, read here independently: message
 * counts, bytes on disk, and the octets POP3 announces and sends.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { AdminEvent, MailboxSummary } from '../../shared/contract.js';
import { mailboxTableRows } from '../../shared/mailbox-table.js';
import { connectControl, type ControlClient } from '../../electron/service/admin/control-client.js';
import { startService } from '../../electron/service/host.js';
import { silentLogger } from '../../electron/service/log.js';
import { createOsUser, osUserSkip, userEnv, type OsUser } from '../helpers/os-user.js';
import { run, startPop3svc, winpop, WINPOP, type RunningService } from '../helpers/processes.js';
import { python } from '../helpers/python.js';
import { popWireForm } from '../helpers/pop3-wire.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { underCi } from '../helpers/tools.js';

const DOMAIN = 'example.com';
/** A domain no console shows: nothing follows it, so only the listings' own check can see mail put there. */
const OTHER = 'example.org';
const PASSWORD = 'Outside-pw-1';
const LDA = '/usr/lib/dovecot/dovecot-lda';
/** Generous: a watch reports at once and a poll comes every 2 s; the machine may be busy. */
const NOTICED_MS = 15_000;

/** Why Dovecot's LDA cannot run here, for a skip; false when it can (and under CI=true, where its absence then fails the test). */
function ldaSkip(): string | false {
  const users = osUserSkip();
  if (users) return users;
  if (existsSync(LDA) || underCi()) return false;
  return `${LDA} is not installed (apt-get install dovecot-core)`;
}

/** One mailbox as the disk has it, read here without the store's code. */
interface DiskBox {
  readonly messages: number;
  /** Bytes on disk. */
  readonly bytes: number;
  /** What POP3 must send for each message, in delivery order (by name): CRLF line ends, a CRLF after a last line without one. */
  readonly wire: Buffer[];
}

async function diskBox(mailroot: string, mailbox: string): Promise<DiskBox> {
  const files: { name: string; body: Buffer }[] = [];
  for (const sub of ['new', 'cur']) {
    for (const name of await fsp.readdir(path.join(mailroot, DOMAIN, mailbox, sub))) {
      const file = path.join(mailroot, DOMAIN, mailbox, sub, name);
      if (!name.startsWith('.') && (await fsp.lstat(file)).isFile()) files.push({ name, body: await fsp.readFile(file) });
    }
  }
  // Delivery order as both our store and Dovecot name files: leading seconds, then the name.
  const seconds = (n: string): number => Number(/^(\d+)/.exec(n)?.[1] ?? 0);
  files.sort((a, b) => seconds(a.name) - seconds(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { messages: files.length, bytes: files.reduce((n, f) => n + f.body.length, 0), wire: files.map((f) => popWireForm(f.body)) };
}

interface PopView {
  readonly stat: [number, number];
  readonly list: number[];
  readonly uidl: string[];
  /** Each message as received, with CRLF line ends, after dot-unstuffing. */
  readonly retr: Buffer[];
  /** The octets poplib counted for each RETR. */
  readonly retrOctets: number[];
}

/** A whole POP3 look at a mailbox through Python's poplib. */
async function popView(port: number, address: string): Promise<PopView> {
  const [view] = await python<Omit<PopView, 'retr'> & { retr: string[] }>(
    `
import poplib
p = poplib.POP3('127.0.0.1', ARGS['port'], timeout=30)
p.user(ARGS['user']); p.pass_(ARGS['password'])
stat = list(p.stat())
lst = [int(l.split()[1]) for l in p.list()[1]]
uidl = [l.split()[1].decode() for l in p.uidl()[1]]
retr, octets = [], []
for n in range(1, stat[0] + 1):
    resp, lines, o = p.retr(n)
    retr.append(b''.join(l + b'\\r\\n' for l in lines).decode('latin-1'))
    octets.append(o)
p.quit()
print(json.dumps({'stat': stat, 'list': lst, 'uidl': uidl, 'retr': retr, 'retrOctets': octets}))
`,
    { port, user: address, password: PASSWORD },
  );
  assert.ok(view, 'poplib printed its view');
  return { ...view, retr: view.retr.map((r) => Buffer.from(r, 'latin1')) };
}

describe('mail other programs write into the store', { skip: ldaSkip() }, () => {
  let dir: TempDir;
  let mailroot: string;
  let config: string;
  let svc: RunningService;
  let admin: ControlClient;
  let ldaUser: OsUser;
  const events: AdminEvent[] = [];
  const wp = (...args: string[]) => winpop(['--mailroot', mailroot, '--config', config, ...args]);

  before(async () => {
    dir = await tempDir('winpop-outside-');
    mailroot = path.join(dir.path, 'mail');
    config = path.join(dir.path, 'config.json');
    assert.equal((await wp('add', DOMAIN)).code, 0);
    assert.equal((await wp('add', OTHER)).code, 0);
    const dave = await run(process.execPath, [WINPOP, '--mailroot', mailroot, '--config', config, 'add', `dave@${OTHER}`, '/createuser', '-'], { input: `${PASSWORD}\n` });
    assert.equal(dave.code, 0, dave.stderr);
    for (const name of ['alice', 'bob', 'carol']) {
      const added = await run(process.execPath, [WINPOP, '--mailroot', mailroot, '--config', config, 'add', `${name}@${DOMAIN}`, '/createuser', '-'], { input: `${PASSWORD}\n` });
      assert.equal(added.code, 0, added.stderr);
    }
    // The LDA runs as the user an MTA delivers as; alice's Maildir is that user's, as with an MTA's virtual mailboxes.
    ldaUser = await createOsUser('Dovecot LDA delivering into the store');
    for (const d of [dir.path, mailroot, path.join(mailroot, DOMAIN)]) await fsp.chmod(d, 0o711);
    execFileSync('chown', ['-R', `${ldaUser.uid}:${ldaUser.gid}`, path.join(mailroot, DOMAIN, 'alice')]);
    await fsp.writeFile(path.join(dir.path, 'dovecot-lda.conf'), `base_dir = ${path.join(dir.path, 'dovecot-run')}\nmail_location = maildir:${mailroot}/%d/%n\n`, { mode: 0o644 });

    svc = await startPop3svc(mailroot, config);
    const client = await connectControl(mailroot, 'tester');
    assert.ok(client, 'the control channel answers');
    admin = client;
    admin.onEvent((e) => events.push(e));
    // As the console does when it shows a domain: the service follows it from now on.
    await admin.listMailboxTable({ domain: DOMAIN });
  });

  after(async () => {
    admin?.close();
    await svc?.stop();
    await ldaUser?.remove();
    await dir?.remove();
  });

  /** Waits for the service to announce the mailbox's new count by itself: nothing here lists or logs in meanwhile. */
  async function announced(address: string, messages: number): Promise<void> {
    const end = Date.now() + NOTICED_MS;
    const seen = (): boolean => events.some((e) => (e.type === 'mailArrived' || e.type === 'mailboxChanged') && e.address === address && e.messages === messages);
    while (!seen()) {
      if (Date.now() > end) assert.fail(`no event said ${address} has ${messages} messages within ${NOTICED_MS} ms; events: ${JSON.stringify(events)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** winpop list, winpop stat, the admin API's table and POP3 all say what the disk says about `mailbox`. */
  async function allAgree(mailbox: string): Promise<void> {
    const address = `${mailbox}@${DOMAIN}`;
    const disk = await diskBox(mailroot, mailbox);
    const pick = (rows: readonly Pick<MailboxSummary, 'name' | 'messages' | 'bytes'>[], from: string) => {
      const row = rows.find((r) => r.name === mailbox);
      assert.ok(row, `${from} lists ${address}`);
      return { messages: row.messages, bytes: row.bytes };
    };
    const want = { messages: disk.messages, bytes: disk.bytes };

    const listed = await wp('list', DOMAIN, '--json');
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(pick((JSON.parse(listed.stdout) as { mailboxes: MailboxSummary[] }).mailboxes, 'winpop list'), want, 'winpop list');
    const stat = await wp('stat', DOMAIN, '--json');
    assert.equal(stat.code, 0, stat.stderr);
    const totals = (JSON.parse(stat.stdout) as { totals: { messages: number; bytes: number } }).totals;
    const all = await Promise.all(['alice', 'bob', 'carol'].map((m) => diskBox(mailroot, m)));
    assert.deepEqual({ messages: totals.messages, bytes: totals.bytes }, { messages: all.reduce((n, b) => n + b.messages, 0), bytes: all.reduce((n, b) => n + b.bytes, 0) }, 'winpop stat');
    assert.deepEqual(pick(mailboxTableRows(await admin.listMailboxTable({ domain: DOMAIN })), 'the admin API (the console\'s table)'), want, 'the admin API');

    const pop = await popView(svc.pop3Port, address);
    const octets = disk.wire.map((w) => w.length);
    assert.deepEqual(pop.stat, [disk.messages, octets.reduce((a, b) => a + b, 0)], 'POP3 STAT');
    assert.deepEqual(pop.list, octets, 'POP3 LIST: each size as the octets the message has on the wire');
    assert.deepEqual(pop.retrOctets, octets, 'RETR sends as many octets as LIST says');
    assert.deepEqual(pop.retr, disk.wire, 'RETR sends each message as stored, in CRLF form');
    assert.equal(new Set(pop.uidl).size, pop.uidl.length, 'UIDLs are distinct');
    assert.deepEqual((await popView(svc.pop3Port, address)).uidl, pop.uidl, 'UIDLs are the same in the next session');
  }

  it("Dovecot's LDA delivers: the open view hears of it by itself, and winpop, the admin API and POP3 agree with the disk", async () => {
    const messages = [
      'From: a@example.net\nSubject: LF line ends\n\nHello from the LDA.\n',
      'From: a@example.net\r\nSubject: CRLF line ends\r\n\r\nThe LDA stores LF.\r\n.a line with a dot\r\n',
      'From: a@example.net\nSubject: no final line end\n\nlast line without one',
    ];
    const env = userEnv({ HOME: path.join(mailroot, DOMAIN, 'alice'), USER: `alice@${DOMAIN}` });
    for (const message of messages) {
      const r = await run(LDA, ['-c', path.join(dir.path, 'dovecot-lda.conf'), '-f', 'a@example.net'], { input: message, env, as: { uid: ldaUser.uid, gid: ldaUser.gid, cwd: '/' } });
      assert.equal(r.code, 0, `dovecot-lda: ${r.stderr}`);
    }
    const names = await fsp.readdir(path.join(mailroot, DOMAIN, 'alice', 'new'));
    assert.equal(names.length, 3, 'the LDA wrote three files');
    assert.ok(names.every((n) => /,S=\d+,W=\d+$/.test(n)), `the LDA names its files with S= and W=: ${names.join(' ')}`);
    await announced(`alice@${DOMAIN}`, 3);
    await allAgree('alice');
  });

  it('a script writing the Maildir way (tmp/ then new/, and cur/ with :2,S): the same agreement', async () => {
    const box = path.join(mailroot, DOMAIN, 'bob');
    await python(
      `
import os, time
for i, m in enumerate(ARGS['messages']):
    unique = '%d.P%dQ%d.otherhost' % (int(time.time()), os.getpid(), i)
    tmp = os.path.join(ARGS['box'], 'tmp', unique)
    with open(tmp, 'wb') as f:
        f.write(m['body'].encode('latin-1'))
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, os.path.join(ARGS['box'], 'cur', unique + ':2,S') if m['seen'] else os.path.join(ARGS['box'], 'new', unique))
print('{}')
`,
      {
        box,
        messages: [
          { body: 'Subject: plain LF\n\nbody\n', seen: false },
          { body: 'Subject: CRLF, kept as written\r\n\r\nbody\r\n', seen: false },
          { body: 'Subject: read already, flags in its name\n\n..two dots\nno final line end', seen: true },
          { body: 'Subject: mixed\r\n\nbare LF after CRLF\r\nlast\r', seen: true },
        ],
      },
    );
    await announced(`bob@${DOMAIN}`, 4);
    await allAgree('bob');
    // Other programs' files are left as they were: nothing renamed, nothing added to their names.
    assert.equal((await fsp.readdir(path.join(box, 'new'))).filter((n) => n.includes(',S=')).length, 0);
    assert.equal((await fsp.readdir(path.join(box, 'cur'))).filter((n) => n.endsWith(':2,S')).length, 2);
  });

  it('a message another program takes away is announced and listed as gone', async () => {
    const cur = path.join(mailroot, DOMAIN, 'bob', 'cur');
    const [first] = (await fsp.readdir(cur)).sort();
    assert.ok(first);
    await fsp.rm(path.join(cur, first));
    await announced(`bob@${DOMAIN}`, 3);
    assert.ok(events.some((e) => e.type === 'mailboxChanged' && e.address === `bob@${DOMAIN}` && e.messages === 3), 'told as mailboxChanged');
    await allAgree('bob');
  });

  it('mail put into a domain nobody follows is in the very next listing: winpop list and stat, and the console\'s F5', async () => {
    const body = 'Subject: into a domain no console shows\n\nbody\n';
    await fsp.writeFile(path.join(mailroot, OTHER, 'dave', 'new', `${Math.floor(Date.now() / 1000)}.P1Q1.otherhost`), body);
    const want = { messages: 1, bytes: Buffer.byteLength(body) };
    const listed = await wp('list', OTHER, '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const row = (JSON.parse(listed.stdout) as { mailboxes: MailboxSummary[] }).mailboxes.find((m) => m.name === 'dave');
    assert.deepEqual({ messages: row?.messages, bytes: row?.bytes }, want, 'winpop list');
    const stat = await wp('stat', '--json');
    assert.equal(stat.code, 0, stat.stderr);
    const domain = (JSON.parse(stat.stdout) as { domains: { name: string; messages: number; bytes: number }[] }).domains.find((d) => d.name === OTHER);
    assert.deepEqual({ messages: domain?.messages, bytes: domain?.bytes }, want, 'winpop stat');
    // What F5 fetches: the domain list, and the open domain's table.
    const domains = await admin.listDomains({});
    assert.deepEqual({ messages: domains.find((d) => d.name === OTHER)?.messages }, { messages: 1 }, 'the console\'s domain list');
    const table = mailboxTableRows(await admin.listMailboxTable({ domain: OTHER }));
    assert.deepEqual({ messages: table[0]?.messages, bytes: table[0]?.bytes }, want, 'the console\'s mailbox table');
  });

  it('a named pipe where a message should be is skipped: log-in and listings go on', async (t: TestContext) => {
    if (process.platform === 'win32') return t.skip('needs mkfifo');
    execFileSync('mkfifo', [path.join(mailroot, DOMAIN, 'carol', 'new', '1700000000.P1Q1.pipe')]);
    const pop = await popView(svc.pop3Port, `carol@${DOMAIN}`);
    assert.deepEqual(pop.stat, [0, 0]);
    const listed = await wp('list', DOMAIN, '--json');
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal((JSON.parse(listed.stdout) as { mailboxes: MailboxSummary[] }).mailboxes.find((m) => m.name === 'carol')?.messages, 0);
  });
});

describe('where mailbox folders cannot be watched', () => {
  it('polling the folder stamps finds mail another program delivered, and the open view hears of it', async () => {
    const t = await tempDir('winpop-outside-poll-');
    const host = await startService({
      mailroot: path.join(t.path, 'mail'),
      configPath: path.join(t.path, 'config.json'),
      pop3Port: 0,
      smtpPort: 0,
      pop3sPort: 0,
      listen: '127.0.0.1',
      control: false,
      fsync: false,
      log: silentLogger,
      watchFolders: false,
    });
    const events: AdminEvent[] = [];
    const unsubscribe = host.admin.onEvent((e) => events.push(e));
    try {
      await host.admin.addDomain({ domain: DOMAIN });
      await host.admin.addMailbox({ address: `erin@${DOMAIN}`, password: PASSWORD });
      await host.admin.listMailboxTable({ domain: DOMAIN });
      const body = 'Subject: polled\n\nbody\n';
      await python(
        `
import os
tmp = os.path.join(ARGS['box'], 'tmp', ARGS['name'])
with open(tmp, 'w') as f:
    f.write(ARGS['body'])
os.rename(tmp, os.path.join(ARGS['box'], 'new', ARGS['name']))
print('{}')
`,
        { box: path.join(t.path, 'mail', DOMAIN, 'erin'), name: `${Math.floor(Date.now() / 1000)}.P2Q1.otherhost`, body },
      );
      const end = Date.now() + NOTICED_MS;
      while (!events.some((e) => e.type === 'mailArrived' && e.address === `erin@${DOMAIN}` && e.messages === 1 && e.bytes === body.length)) {
        if (Date.now() > end) assert.fail(`no mailArrived for erin@${DOMAIN} within ${NOTICED_MS} ms; events: ${JSON.stringify(events)}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } finally {
      unsubscribe();
      await host.stop();
      await t.remove();
    }
  });
});
