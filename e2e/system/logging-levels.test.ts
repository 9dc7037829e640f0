/**
 * The logging setting, held to what `winpop help set logging` says: pop3svc
 * runs at each level 0–3 while poplib and smtplib sessions produce a
 * delivery, log-ins (accepted, failed, refused because locked) and an
 * unreadable message; every event the help names must be in the log at its
 * level and above and absent below. No level writes the password, the
 * message's body or its subject. Under systemd's journal stream the lines
 * carry their `<N>` priority instead of a time stamp.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFile } from 'node:fs/promises';
import { POP3SVC, startPop3svc, winpop } from '../helpers/processes.js';
import { popFetchAll, python, smtpSend } from '../helpers/python.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const PASSWORD = 'Pw-in-no-log-7Qx';
const WRONG_PASSWORD = 'Wrong-pw-in-no-log-3Zk';
const BODY = 'body-line-in-no-log-9Vm';
const SUBJECT = 'subject-in-no-log-4Tn';

const dirs: TempDir[] = [];
after(async () => {
  for (const dir of dirs) await dir.remove();
});

/** The events each level adds, as the help lists them (quoted), by level. */
async function helpLevels(): Promise<Map<number, string[]>> {
  const help = await winpop(['help', 'set', 'logging']);
  assert.equal(help.code, 0, help.stderr);
  const levels = new Map<number, string[]>();
  let current: number | null = null;
  for (const line of help.stdout.split('\n')) {
    const start = /^ {2}([0-3]) (?:none|minimum|medium|maximum)\b/.exec(line);
    if (start) current = Number(start[1]);
    else if (!/^ {4,}/.test(line)) current = null;
    if (current === null) continue;
    for (const quoted of line.matchAll(/"([^"]+)"/g)) levels.set(current, [...(levels.get(current) ?? []), quoted[1] as string]);
  }
  assert.equal(levels.size, 3, `winpop help set logging does not list the events of levels 1, 2 and 3:\n${help.stdout}`);
  return levels;
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether the log has a line for the event (the message, then its fields or the end of the line). */
function logged(log: string, event: string): boolean {
  return new RegExp(`^\\S+ (?:ERROR|WARN |INFO |DEBUG) ${escape(event)}(?: |$)`, 'm').test(log);
}

/** The events this scenario makes happen. */
const TRIGGERED = [
  'pop3 message unreadable',
  'pop3 login ok',
  'pop3 login failed',
  'pop3 login refused: mailbox locked',
  'pop3 connection opened',
  'pop3 connection closed',
  'mail delivered',
  'pop3 command',
  'pop3 login check started',
  'control client connected',
];

/** Runs the scenario against pop3svc at the given logging level; its whole output. */
async function runAtLevel(level: number): Promise<string> {
  const dir = await tempDir('winpop-logging-');
  dirs.push(dir);
  const mailroot = path.join(dir.path, 'mail');
  const config = path.join(dir.path, 'config.json');
  await writeFile(config, JSON.stringify({ logging: level }));
  const service = await startPop3svc(mailroot, config);
  try {
    const admin = (args: string[], input?: string) => winpop(['--mailroot', mailroot, '--config', config, ...args], input === undefined ? {} : { input });
    for (const [args, input] of [
      [['add', 'example.com']],
      [['add', 'alice@example.com', '/createuser', '-'], `${PASSWORD}\n`],
      [['add', 'bob@example.com', '/createuser', '-'], `${PASSWORD}\n`],
      [['lock', 'bob@example.com']],
    ] as [string[], string?][]) {
      const result = await admin(args, input);
      assert.equal(result.code, 0, `winpop ${args.join(' ')}: ${result.stderr}`);
    }
    await smtpSend(service.smtpPort, 'carol@example.org', ['alice@example.com'], `Subject: ${SUBJECT}\r\n\r\n${BODY}\r\n`);
    const fetched = await popFetchAll(service.pop3Port, 'alice@example.com', PASSWORD);
    assert.ok(!('error' in fetched) && fetched.messages[0]?.includes(BODY), `poplib did not get the message: ${JSON.stringify(fetched)}`);
    const locked = await popFetchAll(service.pop3Port, 'bob@example.com', PASSWORD);
    assert.ok('error' in locked, 'a locked mailbox logged in');
    // The message goes away between the listing and RETR: the service cannot read it (an error).
    const [gone] = await python<{ retr: string }>(
      `
import glob, os, poplib
p = poplib.POP3('127.0.0.1', ARGS['port'], timeout=20)
p.user(ARGS['user']); p.pass_(ARGS['password']); p.stat()
for f in glob.glob(os.path.join(ARGS['box'], 'new', '*')) + glob.glob(os.path.join(ARGS['box'], 'cur', '*')):
    os.remove(f)
try:
    p.retr(1); print(json.dumps({'retr': 'ok'}))
except poplib.error_proto as e:
    print(json.dumps({'retr': e.args[0].decode('latin-1')}))
p.quit()
`,
      { port: service.pop3Port, user: 'alice@example.com', password: PASSWORD, box: path.join(mailroot, 'example.com', 'alice') },
    );
    assert.match(gone?.retr ?? '', /^-ERR/);
    // Last: a failed log-in delays the next answer to this address.
    const failed = await popFetchAll(service.pop3Port, 'alice@example.com', WRONG_PASSWORD);
    assert.ok('error' in failed, 'a wrong password logged in');
    // The failure line is written as the answer goes out; give the pipe a moment to deliver it.
    if (level >= 2) for (let i = 0; i < 200 && !logged(service.output(), 'pop3 login failed'); i++) await sleep(10);
  } finally {
    await service.stop();
  }
  return service.output();
}

test('each logging level writes the events winpop help set logging names for it, and none of a higher level', async () => {
  const levels = await helpLevels();
  const levelOf = new Map<string, number>();
  for (const [level, events] of levels) for (const event of events) levelOf.set(event, level);
  for (const event of TRIGGERED) assert.ok(levelOf.has(event), `winpop help set logging does not say at which level "${event}" is written`);

  for (const level of [0, 1, 2, 3]) {
    const log = await runAtLevel(level);
    for (const event of TRIGGERED) {
      const from = levelOf.get(event) as number;
      assert.equal(logged(log, event), level >= from, `logging ${level}: "${event}" (documented from level ${from}) ${level >= from ? 'is missing' : 'was written'}:\n${log}`);
    }
    for (const secret of [PASSWORD, WRONG_PASSWORD, BODY, SUBJECT]) assert.ok(!log.includes(secret), `logging ${level} wrote "${secret}":\n${log}`);
    if (level === 0) {
      const lines = log.split('\n').filter((line) => /^\S+ (?:ERROR|WARN |INFO |DEBUG) /.test(line) && !/ pop3svc ready | SIGTERM received/.test(line));
      assert.deepEqual(lines, [], 'logging 0 wrote log lines');
    }
    if (level === 1) {
      const notErrors = log.split('\n').filter((line) => /^\S+ (?:WARN |INFO |DEBUG) /.test(line) && !/ pop3svc ready | SIGTERM received/.test(line));
      assert.deepEqual(notErrors, [], 'logging 1 wrote more than errors');
    }
  }
});

/** Starts pop3svc with JOURNAL_STREAM naming its stdout (or `stream`), as systemd does; resolves once ready. */
async function startUnderJournal(mailroot: string, config: string, stream?: string): Promise<{ output: () => string; pop3Port: number; stop: () => Promise<void> }> {
  const journal = stream === undefined ? 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/1)' : `JOURNAL_STREAM=${stream}`;
  const child = spawn(
    'sh',
    ['-c', `${journal} exec "$0" "$@"`, process.execPath, POP3SVC, '--mailroot', mailroot, '--config', config, '--pop3-port', '0', '--smtp-port', '0', '--listen', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const until = Date.now() + 20_000;
  let ready: RegExpExecArray | null = null;
  while (!(ready = /pop3svc ready .*pop3=[^ ]*:(\d+) /.exec(out))) {
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      assert.fail(`pop3svc did not become ready:\n${out}`);
    }
    await sleep(20);
  }
  return {
    output: () => out,
    pop3Port: Number(ready[1]),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

test("on systemd's journal stream each line is `<priority>message`, without a time stamp; elsewhere as before", async () => {
  const dir = await tempDir('winpop-journal-');
  dirs.push(dir);
  const mailroot = path.join(dir.path, 'mail');
  const config = path.join(dir.path, 'config.json');
  await writeFile(config, JSON.stringify({ logging: 3 }));

  const service = await startUnderJournal(mailroot, config);
  try {
    await winpop(['--mailroot', mailroot, '--config', config, 'add', 'example.com']);
    const added = await winpop(['--mailroot', mailroot, '--config', config, 'add', 'alice@example.com', '/createuser', '-'], { input: `${PASSWORD}\n` });
    assert.equal(added.code, 0, added.stderr);
    const failed = await popFetchAll(service.pop3Port, 'alice@example.com', WRONG_PASSWORD);
    assert.ok('error' in failed);
    for (let i = 0; i < 200 && !service.output().includes('pop3 login failed'); i++) await sleep(10);
  } finally {
    await service.stop();
  }
  const lines = service.output().split('\n').filter((line) => line !== '');
  assert.match(service.output(), /^<6>pop3svc ready /m);
  assert.match(service.output(), /^<4>pop3 login failed /m, 'a failed log-in is not a warning in the journal');
  assert.match(service.output(), /^<7>pop3 command /m, 'a command is not a debug line in the journal');
  const unprefixed = lines.filter((line) => !/^<[0-7]>\S/.test(line));
  assert.deepEqual(unprefixed, [], 'lines without a priority went to the journal');

  // JOURNAL_STREAM inherited but stdout elsewhere (redirected to a file or pipe): plain lines.
  const elsewhere = await startUnderJournal(mailroot, config, '1:1');
  await elsewhere.stop();
  assert.match(elsewhere.output(), /^\d{4}-\d\d-\d\dT\S+ INFO  pop3svc ready /m);
  assert.doesNotMatch(elsewhere.output(), /^<\d>/m);
});
