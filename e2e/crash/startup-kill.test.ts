/**
 * Kill -9 while pop3svc starts, and while its recovery runs in the
 * background after the start.
 *
 * The store (2,000 mailboxes written straight on disk) is given, before each
 * round, what crashes leave behind: interrupted expunges (an intent record
 * naming messages, some of them already unlinked), tmp/ files and
 * state-file temp files of dead writers, staging folders of a dead process
 * in the domain folder and in the mail root, deleted folders in the trash,
 * an old SMTP spool file. Each round starts pop3svc and kills it with
 * SIGKILL, aimed either at its start-up (a random moment before its ready
 * line) or at the middle of its background recovery (once a chosen
 * leftover is gone, the ones after it not yet); in some of the latter,
 * POP3 sessions, a listing and SMTP deliveries run meanwhile. Then:
 *
 * - at every kill nothing is half done: an intent record is gone only once
 *   every message it names is gone;
 * - no POP3 session and no listing ever shows a message that an
 *   interrupted expunge deleted, and their counts are exact: a mailbox is
 *   recovered before it is first served, background or not;
 * - once a start's recovery is through, every leftover is gone, every
 *   message that was not deleted is there once and whole, every
 *   acknowledged delivery is there, and the listing and POP3 agree with the
 *   disk.
 *
 * The tests fail unless some kills landed before the ready line and some in
 * the middle of the recovery (read from the disk once the service is dead).
 * STARTUP_KILL_SEED replays the choices; STARTUP_KILL_ROUNDS runs more rounds.
 */

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { connectControl } from '../../electron/service/admin/control-client.js';
import { ownHostTag } from '../../electron/service/store/message-names.js';
import { MAILBOX_META, SIZE_CACHE } from '../../electron/service/store/layout.js';
import { asTruth, boxName, diskTruth, writeDomain } from '../helpers/listing-fixture.js';
import { POP3SVC, RECOVERY_FINISHED, startPop3svc } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { countFrom, Random, seedFrom } from '../hostile/support.js';
import { RawClient } from '../pop3/support.js';

const DOMAIN = 'start.example';
const MAILBOXES = 2000;
const PASSWORD = 'pw';
const ROUNDS = countFrom('STARTUP_KILL_ROUNDS', 8);
/** Files in the deleted mailbox each round puts in the trash: enough that removing them takes a moment. */
const TRASHED_FILES = 2000;

let dir: TempDir;
let mailroot: string;
let config: string;
/** Message files each mailbox had when the fixture was written (none of them is ever deleted here). */
const fixture = new Map<string, Set<string>>();

const boxDir = (box: string): string => path.join(mailroot, DOMAIN, box);
const address = (box: string): string => `${box}@${DOMAIN}`;
/** Every seventh fixture mailbox is locked: no log-in there. */
const unlocked = (i: number): boolean => i % 7 !== 0;

before(async () => {
  dir = await tempDir('winpop-startup-kill-');
  mailroot = path.join(dir.path, 'mailroot');
  config = path.join(dir.path, 'config.json');
  // Logging 2: the lines that say the service is ready and that its recovery is through are info.
  await fsp.writeFile(config, JSON.stringify({ logging: 2 }));
  await writeDomain(mailroot, DOMAIN, MAILBOXES);
  for (let i = 0; i < MAILBOXES; i++) {
    const box = boxName(i);
    fixture.set(box, new Set([...readdirSync(path.join(boxDir(box), 'new')).map((n) => `new/${n}`), ...readdirSync(path.join(boxDir(box), 'cur')).map((n) => `cur/${n}`)]));
  }
});

after(async () => {
  await dir?.remove();
});

/** A process id that no process has now (a child that has ended). */
function deadPid(): number {
  const ended = spawnSync(process.execPath, ['-e', '']);
  return ended.pid as number;
}

const hex = (random: Random, n: number): string => random.bytes(n).toString('hex');

/** An interrupted expunge: its record, and the messages it names (some already unlinked when the crash came). */
interface ExpungeRecord {
  readonly box: string;
  readonly file: string;
  readonly messages: readonly string[];
}

/** What a round planted, cumulated over the rounds: all of it must be gone in the end. */
const planted = {
  records: [] as ExpungeRecord[],
  /** Paths recovery must remove (files and folders), by mailbox where they are in one. */
  leftovers: [] as { path: string; box: string | null }[],
};
/** Mailboxes SMTP delivered to: their counts are no longer the fixture's, so the session and listing checks leave them out. */
const deliveredBoxes = new Set<string>();
/** Mailboxes with an interrupted expunge whose messages left are exactly the fixture's. */
const checkable = (): ExpungeRecord[] => planted.records.filter((r) => !deliveredBoxes.has(r.box));

/**
 * Plants what crashes leave behind, in mailboxes picked from `random`.
 * Messages an interrupted expunge deleted are named `…doomed…`: no one
 * may ever be shown them.
 */
async function plantCrashLeftovers(random: Random, round: number): Promise<void> {
  const pid = deadPid();
  const now = Math.floor(Date.now() / 1000);
  const pick = (n: number): string[] => {
    const chosen = new Set<number>();
    while (chosen.size < n) chosen.add(random.int(0, MAILBOXES - 1));
    return [...chosen].map(boxName);
  };
  for (const box of pick(30)) {
    const messages: string[] = [];
    const count = random.int(2, 4);
    for (let m = 0; m < count; m++) {
      const body = `Subject: doomed ${round}.${m}\n\nDeleted by a QUIT that a crash cut short.\n`;
      const name = `${now}.Mdoomed${round}x${m}P1Q1R${hex(random, 4)}.fixture,S=${body.length},W=${body.length + body.split('\n').length - 1}`;
      const file = random.chance(0.3) ? `cur/${name}:2,S` : `new/${name}`;
      // Some were unlinked before the crash: named in the record, gone from the disk.
      if (m === 0 || random.chance(0.7)) await fsp.writeFile(path.join(boxDir(box), file), body);
      messages.push(file);
    }
    const file = path.join(boxDir(box), `.winpop-expunge.${hex(random, 6)}.json`);
    await fsp.writeFile(file, JSON.stringify({ version: 1, files: messages }));
    planted.records.push({ box, file, messages });
    planted.leftovers.push({ path: file, box });
  }
  for (const box of pick(30)) {
    const file = path.join(boxDir(box), 'tmp', `${now}.M${random.int(0, 999_999)}P${pid}Q1R${hex(random, 8)}.${ownHostTag()}`);
    await fsp.writeFile(file, 'Subject: cut short\n\nhalf a mess');
    planted.leftovers.push({ path: file, box });
  }
  for (const box of pick(10)) {
    const file = path.join(boxDir(box), `.tmp-${pid}-${hex(random, 6)}-.winpop-mailbox.json`);
    await fsp.writeFile(file, '{"version":1,"passw');
    planted.leftovers.push({ path: file, box });
  }
  const stagingBox = path.join(mailroot, DOMAIN, `.staging-${pid}-${hex(random, 6)}`);
  for (const sub of ['tmp', 'new', 'cur']) await fsp.mkdir(path.join(stagingBox, sub), { recursive: true });
  await fsp.writeFile(path.join(stagingBox, '.winpop-mailbox.json'), '{"version":1');
  const stagingDomain = path.join(mailroot, `.staging-${pid}-${hex(random, 6)}`);
  await fsp.mkdir(stagingDomain);
  await fsp.writeFile(path.join(stagingDomain, '.winpop-domain.json'), '{"vers');
  // A deleted mailbox with many files on its way out: removing it takes a while at the start.
  const trashed = path.join(mailroot, '.winpop', 'trash', hex(random, 8));
  await fsp.mkdir(path.join(trashed, 'new'), { recursive: true });
  for (let at = 0; at < TRASHED_FILES; at += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, i) => fsp.writeFile(path.join(trashed, 'new', `${now}.M${at + i}P1Q1R0.trash,S=5,W=5`), 'gone\n')));
  }
  const spool = path.join(mailroot, '.winpop', 'spool');
  await fsp.mkdir(spool, { recursive: true });
  const spooled = path.join(spool, hex(random, 8));
  await fsp.writeFile(spooled, 'Subject: spooled before a crash\n\n');
  const hoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
  await fsp.utimes(spooled, hoursAgo, hoursAgo);
  planted.leftovers.push({ path: stagingBox, box: null }, { path: stagingDomain, box: null }, { path: trashed, box: null }, { path: spooled, box: null });
  lastTrashed = trashed;
}

/** The folder this round put in the trash, to tell whether a kill cut its removal short. */
let lastTrashed = '';
/** Files still in the planted trash folder; 0 once the recovery has removed it (which it may do between a look and a read). */
function trashFilesLeft(): number {
  try {
    return readdirSync(path.join(lastTrashed, 'new')).length;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/** Nothing half done: an intent record is gone only when every message it names is gone. */
function halfDoneExpunges(): string[] {
  return planted.records
    .filter((r) => !existsSync(r.file))
    .flatMap((r) => r.messages.filter((m) => existsSync(path.join(boxDir(r.box), m))).map((m) => `${r.box}/${m} is still there, its expunge record is gone`));
}

/** pop3svc as started by a service manager, with its output kept; killed, never stopped. */
interface Service {
  readonly child: ChildProcessWithoutNullStreams;
  output(): string;
  readonly ready: () => boolean;
  /** Milliseconds from the spawn to the ready line; null before it. */
  readonly readyAfter: () => number | null;
  readonly exited: Promise<void>;
  kill(): Promise<void>;
}

function spawnService(): Service {
  const child = spawn(process.execPath, [POP3SVC, '--mailroot', mailroot, '--config', config, '--pop3-port', '0', '--smtp-port', '0', '--listen', '127.0.0.1']);
  let out = '';
  const spawned = Date.now();
  let readyAfter: number | null = null;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (readyAfter === null && /pop3svc ready /.test(out)) readyAfter = Date.now() - spawned;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => out,
    ready: () => /pop3svc ready /.test(out),
    readyAfter: () => readyAfter,
    exited,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

const portOf = (out: string, protocol: string): number => Number(new RegExp(` ${protocol}=[^ ]*:(\\d+)`).exec(/pop3svc ready .*/.exec(out)?.[0] ?? '')?.[1]);

/** Polls `check` at every turn of the event loop; throws `what` after `ms`. */
async function spin(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Each delivered message names itself and carries the checksum of its body, so a partial one is caught. */
const SENDER = `
import hashlib, json, smtplib, sys
port, first, boxes = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
s = smtplib.SMTP('127.0.0.1', port, timeout=10)
i = first
while True:
    body = ''.join('line %d of message %d\\r\\n' % (n, i) for n in range(1 + i % 50))
    digest = hashlib.sha256(body.encode()).hexdigest()
    msg = 'Subject: delivered-%d\\r\\nX-Body-SHA256: %s\\r\\n\\r\\n%s' % (i, digest, body)
    try:
        s.sendmail('load@example.org', [boxes[i % len(boxes)]], msg)
    except Exception as e:
        print(json.dumps(['STOP', type(e).__name__]), flush=True)
        break
    print(json.dumps(['ACK', i]), flush=True)
    i += 1
`;

/** The Python sender: its acknowledged ids, collected as it prints them. */
function startSender(port: number, first: number, boxes: readonly string[]): { acked: number[]; last: () => number; done: Promise<void>; child: ChildProcessWithoutNullStreams } {
  const child = spawn('python3', ['-u', '-c', SENDER, String(port), String(first), JSON.stringify(boxes.map(address))]);
  const acked: number[] = [];
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, nl)) as [string, number];
      buffer = buffer.slice(nl + 1);
      if (line[0] === 'ACK') acked.push(line[1]);
    }
  });
  child.stderr.resume();
  const done = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return { acked, last: () => (acked.length > 0 ? Math.max(...acked) : first - 1), done, child };
}

/**
 * Log-ins to mailboxes with an interrupted expunge, over and over until
 * `stop()`: every session must show exactly the messages that were not
 * deleted. Connection errors (the kill) end the loop; what was seen stays.
 */
function checkSessions(port: number, boxes: readonly string[], problems: string[]): { stop: () => void; count: () => number; done: Promise<number> } {
  let stopped = false;
  let sessions = 0;
  const done = (async () => {
    // With no mailbox to check, the loop below would spin without ever yielding to the event loop.
    if (boxes.length === 0) return 0;
    while (!stopped) {
      for (const box of boxes) {
        let client: RawClient | undefined;
        try {
          client = await RawClient.login(port, address(box), PASSWORD);
          const uidls = await (async () => {
            const reply = await client.command('UIDL');
            if (!reply.startsWith('+OK')) throw new Error(reply);
            return client.lines();
          })();
          const stat = /^\+OK (\d+) /.exec(await client.command('STAT'))?.[1];
          const shown = uidls.filter((l) => l.includes('doomed'));
          if (shown.length > 0) problems.push(`POP3 showed ${box} with messages an interrupted expunge deleted: ${shown.join(', ')}`);
          const expected = fixture.get(box)?.size ?? -1;
          if (Number(stat) !== expected) problems.push(`POP3 showed ${box} with ${stat} messages; ${expected} are left after its interrupted expunge`);
          sessions++;
          await client.command('QUIT');
        } catch {
          return sessions; // the kill
        } finally {
          client?.destroy();
        }
      }
    }
    return sessions;
  })();
  return {
    stop: () => {
      stopped = true;
    },
    count: () => sessions,
    done,
  };
}

/** One listing of the domain through the running service; mailboxes with an interrupted expunge must list the messages left. */
async function checkListing(problems: string[]): Promise<boolean> {
  const client = await connectControl(mailroot, 'startup-kill-test').catch(() => null);
  if (!client) return false;
  try {
    const rows = await client.listMailboxes({ domain: DOMAIN });
    for (const r of checkable()) {
      const row = rows.find((m) => m.name === r.box);
      const expected = fixture.get(r.box)?.size ?? -1;
      if (row?.messages !== expected) problems.push(`the listing showed ${r.box} with ${row?.messages} messages; ${expected} are left after its interrupted expunge`);
    }
    return true;
  } catch {
    return false; // the kill
  } finally {
    client.close();
  }
}

type Aim = 'start-up' | 'the trash' | 'recovery' | 'recovery with clients';
/** What a kill was found to have cut short, read from the disk and the output once the service is dead. */
type Landing = 'before ready' | 'in the middle of emptying the trash' | 'in the middle of recovering the mailboxes' | 'after the mailboxes were recovered';

test('SIGKILL during the start and during the background recovery: nothing lost, nothing half done, nothing deleted shown', { timeout: 300_000 }, async (t: TestContext) => {
  const random = new Random(seedFrom('STARTUP_KILL_SEED', 'kill -9 during start-up and recovery'));
  // The time to the ready line on this machine, for aiming the start-up kills: the second start's (the first one makes the TLS certificate).
  let readyMs = Number.POSITIVE_INFINITY;
  for (let start = 0; start < 2; start++) {
    const calibration = spawnService();
    await spin(() => RECOVERY_FINISHED.test(calibration.output()) || calibration.child.exitCode !== null, 'a start to finish its recovery');
    await calibration.kill();
    assert.ok(RECOVERY_FINISHED.test(calibration.output()), `pop3svc ended before its recovery finished:\n${calibration.output()}`);
    readyMs = calibration.readyAfter() ?? readyMs;
  }
  t.diagnostic(`pop3svc was ready ${readyMs} ms after its spawn on ${MAILBOXES} mailboxes`);

  const order: Aim[] = ['start-up', 'recovery', 'recovery with clients', 'the trash'];
  const plan: Aim[] = Array.from({ length: ROUNDS }, (_, i) => order[i % order.length] as Aim);
  for (let i = plan.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [plan[i], plan[j]] = [plan[j] as Aim, plan[i] as Aim];
  }
  const landings: Record<Landing, number> = {
    'before ready': 0,
    'in the middle of emptying the trash': 0,
    'in the middle of recovering the mailboxes': 0,
    'after the mailboxes were recovered': 0,
  };
  let retries = 4;
  const acked = new Map<number, string>();
  const inFlight = new Set<number>();
  const problems: string[] = [];
  let nextId = 1;

  for (let round = 0; round < plan.length; round++) {
    const aim = plan[round] as Aim;
    await plantCrashLeftovers(random, round);
    // Aimed at the middle: killed once the k-th mailbox leftover (in the sweep's order, by name) is gone.
    const inBoxes = planted.leftovers.filter((l) => l.box !== null && existsSync(l.path)).sort((a, b) => ((a.box as string) < (b.box as string) ? -1 : 1));
    const sentinel = inBoxes[random.int(2, Math.floor(inBoxes.length / 2))] as { path: string; box: string };
    // Start-up kills: in the later two thirds of the way to the ready line, where the store is opened and its recovery begins.
    const delay = random.int(Math.floor(readyMs / 3), readyMs);
    const service = spawnService();
    let sessions = 0;
    let listed = false;
    let sender: ReturnType<typeof startSender> | undefined;
    try {
      if (aim === 'start-up') {
        await new Promise((r) => setTimeout(r, delay));
      } else if (aim === 'the trash') {
        // The store-wide part of the recovery, which begins as the store is opened.
        await spin(() => trashFilesLeft() < TRASHED_FILES || service.child.exitCode !== null, `round ${round}: the trash to be emptied`);
      } else {
        await spin(() => service.ready() || service.child.exitCode !== null, `round ${round}: the service to be ready`);
        assert.ok(service.ready(), `round ${round}: pop3svc ended before it was ready:\n${service.output()}`);
        if (aim === 'recovery with clients') {
          const out = service.output();
          // Mailboxes with an interrupted expunge that the sweep reaches late: POP3 logs in there first.
          const late = [...new Set(checkable().filter((r) => existsSync(r.file) && unlocked(Number(r.box.slice(3))) && r.box > sentinel.box).map((r) => r.box))].slice(-3);
          // Mailboxes with a dead writer's tmp/ file, also reached late: SMTP delivers there first.
          const targets = [...new Set(planted.leftovers.filter((l) => l.box !== null && l.box > sentinel.box && !planted.records.some((r) => r.box === l.box)).map((l) => l.box as string))].slice(0, 4);
          if (targets.length === 0) targets.push(boxName(1));
          for (const box of targets) deliveredBoxes.add(box);
          const smtp = startSender(portOf(out, 'smtp'), nextId, targets);
          sender = smtp;
          nextId += 100_000;
          const sessionsCheck = checkSessions(portOf(out, 'pop3'), late, problems);
          await spin(() => sessionsCheck.count() >= late.length || service.child.exitCode !== null, `round ${round}: a session in each of ${late.join(', ')}`);
          listed = await checkListing(problems);
          await spin(() => smtp.acked.length > 0 || smtp.child.exitCode !== null, `round ${round}: the first delivery`);
          await spin(() => !existsSync(sentinel.path) || RECOVERY_FINISHED.test(service.output()), `round ${round}: the recovery to reach ${sentinel.box}`);
          sessionsCheck.stop();
          await service.kill();
          sessions = await sessionsCheck.done;
        } else {
          await spin(() => !existsSync(sentinel.path) || RECOVERY_FINISHED.test(service.output()), `round ${round}: the recovery to reach ${sentinel.box}`);
        }
      }
      await service.kill();
    } finally {
      service.child.kill('SIGKILL');
      sender?.child.kill('SIGKILL');
    }
    // The service is dead: the disk shows how far it got.
    const out = service.output();
    readyMs = Math.min(readyMs, service.readyAfter() ?? readyMs);
    const left = planted.leftovers.filter((l) => existsSync(l.path)).length;
    const leftInBoxes = planted.leftovers.filter((l) => l.box !== null && existsSync(l.path)).length;
    const trashLeft = trashFilesLeft();
    const landed: Landing[] = [];
    if (!/pop3svc ready /.test(out)) landed.push('before ready');
    if (trashLeft > 0 && trashLeft < TRASHED_FILES) landed.push('in the middle of emptying the trash');
    if (leftInBoxes > 0 && leftInBoxes < inBoxes.length) landed.push('in the middle of recovering the mailboxes');
    if (leftInBoxes === 0) landed.push('after the mailboxes were recovered');
    for (const l of landed) landings[l]++;
    assert.deepEqual(halfDoneExpunges(), [], `round ${round}: an interrupted expunge half applied after the kill`);
    if (sender) {
      await sender.done;
      for (const id of sender.acked) acked.set(id, `round ${round}`);
      inFlight.add(sender.last() + 1);
    }
    const aimedAt =
      aim === 'start-up' ? `the start-up, ${delay} ms after the spawn` : aim === 'the trash' ? 'the trash being emptied' : `the ${aim} once ${path.basename(sentinel.path)} in ${sentinel.box} was gone`;
    t.diagnostic(
      `round ${round}: aimed at ${aimedAt}; landed ${landed.join(', ') || 'after ready, before the recovery reached a mailbox'}; ` +
        `${left} of ${planted.leftovers.length} leftovers on disk (${leftInBoxes} in mailboxes; of the ${TRASHED_FILES} files put in the trash ${trashLeft} left)` +
        (aim === 'recovery with clients' ? `; ${sessions} POP3 sessions checked, listing ${listed ? 'checked' : 'cut by the kill'}, ${sender?.acked.length ?? 0} deliveries acknowledged` : ''),
    );
    const wanted: Landing | null = aim === 'start-up' ? 'before ready' : aim === 'the trash' ? 'in the middle of emptying the trash' : aim === 'recovery' ? 'in the middle of recovering the mailboxes' : null;
    if (wanted !== null && !landed.includes(wanted) && retries > 0) {
      retries--;
      plan.push(aim);
      t.diagnostic(`round ${round} missed; aiming again`);
    }
  }
  t.diagnostic(`landings: ${JSON.stringify(landings)}`);
  assert.deepEqual(problems, [], 'no session or listing showed a mailbox half recovered');
  assert.ok(landings['before ready'] > 0, 'some kills landed in the start-up, before the ready line');
  assert.ok(landings['in the middle of emptying the trash'] > 0, 'some kills landed in the middle of the store-wide recovery (the trash)');
  assert.ok(landings['in the middle of recovering the mailboxes'] > 0, 'some kills landed in the middle of the background recovery of the mailboxes');

  // One more start, left to finish its recovery: then everything is as it must be.
  const service = await startPop3svc(mailroot, config);
  try {
    await service.recovered();
    assert.deepEqual(
      planted.leftovers.filter((l) => existsSync(l.path)).map((l) => path.relative(mailroot, l.path)),
      [],
      'every leftover of a crash is gone',
    );
    assert.deepEqual(halfDoneExpunges(), []);
    assert.deepEqual(await fsp.readdir(path.join(mailroot, '.winpop', 'trash')), [], 'the trash is empty');
    const delivered = new Map<number, number>();
    const wrong: string[] = [];
    for (let i = 0; i < MAILBOXES; i++) {
      const box = boxName(i);
      const inside = readdirSync(boxDir(box));
      for (const name of inside) if (!['tmp', 'new', 'cur', MAILBOX_META, SIZE_CACHE].includes(name)) wrong.push(`left in ${box}: ${name}`);
      if (readdirSync(path.join(boxDir(box), 'tmp')).length > 0) wrong.push(`${box}/tmp is not empty`);
      const files = [...readdirSync(path.join(boxDir(box), 'new')).map((n) => `new/${n}`), ...readdirSync(path.join(boxDir(box), 'cur')).map((n) => `cur/${n}`)];
      for (const f of fixture.get(box) ?? []) if (!files.includes(f)) wrong.push(`${box}: ${f} was lost`);
      for (const f of files) {
        if (f.includes('doomed')) wrong.push(`${box}: ${f} was deleted by an interrupted expunge but is still there`);
        if ((fixture.get(box) ?? new Set()).has(f) || f.includes('doomed')) continue;
        // Stored in CRLF wire form (LF in the store's files before issue 13): compared with LF line ends.
        const text = (await fsp.readFile(path.join(boxDir(box), f), 'latin1')).replace(/\r\n/g, '\n');
        const id = Number(/^Subject: delivered-(\d+)$/m.exec(text)?.[1]);
        const digest = /^X-Body-SHA256: ([0-9a-f]{64})$/m.exec(text)?.[1];
        const body = text.slice(text.indexOf('\n\n') + 2).replace(/\n/g, '\r\n');
        if (digest !== createHash('sha256').update(Buffer.from(body, 'latin1')).digest('hex')) wrong.push(`${box}: ${f} is partial`);
        delivered.set(id, (delivered.get(id) ?? 0) + 1);
      }
    }
    for (const name of readdirSync(path.join(mailroot, DOMAIN))) if (name.startsWith('.') && name !== '.winpop-domain.json') wrong.push(`left in the domain folder: ${name}`);
    for (const name of readdirSync(mailroot)) if (name.startsWith('.staging-')) wrong.push(`left in the mail root: ${name}`);
    assert.deepEqual(wrong, [], 'every mailbox whole, nothing lost, nothing deleted back');
    assert.deepEqual([...delivered].filter(([, n]) => n > 1), [], 'no delivery is stored twice');
    assert.deepEqual([...acked.keys()].filter((id) => !delivered.has(id)), [], 'every acknowledged delivery is there');
    assert.deepEqual([...delivered.keys()].filter((id) => !acked.has(id) && !inFlight.has(id)), [], 'nothing is there but the acknowledged deliveries and those on the wire at a kill');
    t.diagnostic(`${acked.size} deliveries acknowledged across the rounds, ${delivered.size} stored`);

    const client = await connectControl(mailroot, 'startup-kill-test');
    assert.ok(client, 'the control channel answers');
    try {
      assert.deepEqual(asTruth(await client.listMailboxes({ domain: DOMAIN })), await diskTruth(mailroot, DOMAIN), 'the listing is the truth of the disk');
    } finally {
      client.close();
    }
    for (const r of checkable().filter((r) => unlocked(Number(r.box.slice(3)))).slice(0, 5)) {
      const pop = await RawClient.login(service.pop3Port, address(r.box), PASSWORD);
      try {
        assert.equal(/^\+OK (\d+) /.exec(await pop.command('STAT'))?.[1], String(fixture.get(r.box)?.size), `POP3 shows ${r.box} as on disk`);
        await pop.command('QUIT');
      } finally {
        pop.destroy();
      }
    }
  } finally {
    await service.stop();
  }
});
