/**
 * Crashes: pop3svc is killed with SIGKILL in the middle of deliveries and in
 * the middle of a QUIT that applies deletions. Afterwards no acknowledged
 * message is lost, none is duplicated, none is partial, and deletions are
 * applied whole or not at all.
 *
 * The kills are aimed, not hoped for: a delivery round kills the service
 * while a message is being written (a file in the mailbox's tmp/), a QUIT
 * round while its expunge runs (its intent record on disk, some files already
 * unlinked). Where each kill landed is read from the disk after it, printed
 * per round, and the tests fail unless some landed in the middle.
 *
 * KILL9_SEED replays the choices; KILL9_ROUNDS runs more QUIT rounds.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { EXPUNGE_RECORD } from '../../electron/service/store/layout.js';
import { startPop3svc, run, winpop, type RunningService } from '../helpers/processes.js';
import { popFetchAll, pythonLines } from '../helpers/python.js';
import { STORE_CHILD } from '../helpers/store-child.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { countFrom, Random, seedFrom } from '../hostile/support.js';

let dir: TempDir;
let mailroot: string;
let config: string;
let boxDir: string;
const ADDRESS = 'crash@example.com';
const PASSWORD = 'pw-crash';

before(async () => {
  dir = await tempDir();
  mailroot = path.join(dir.path, 'mailroot');
  config = path.join(dir.path, 'config.json');
  boxDir = path.join(mailroot, 'example.com', 'crash');
  assert.equal((await winpop(['--mailroot', mailroot, '--config', config, 'add', 'example.com'])).code, 0);
  assert.equal((await winpop(['--mailroot', mailroot, '--config', config, 'add', ADDRESS, '/createuser', PASSWORD])).code, 0);
});

after(async () => {
  await dir?.remove();
});

/** Entries of a folder of the mailbox, read at once (the watch must not give the service time to move on). */
const entries = (sub: string): string[] => readdirSync(path.join(boxDir, sub));

/** Message files in new/ and cur/, and whether an expunge's intent record is there. */
function diskState(): { record: boolean; messages: number } {
  return { record: entries('').some((n) => EXPUNGE_RECORD.test(n)), messages: entries('new').length + entries('cur').length };
}

/** Polls `check` at every turn of the event loop (so child output is still read); throws `what` after `ms`. */
async function spin(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Each test message names itself and carries the checksum of its body, so a partial one is caught. */
const SENDER = `
import hashlib, json, random, smtplib, sys
port, first, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
s = smtplib.SMTP('127.0.0.1', port, timeout=10)
i = first
while True:
    body = ''.join('line %d of message %d %s\\r\\n' % (n, i, 'x' * rnd.randint(0, 900)) for n in range(rnd.randint(1, 200)))
    digest = hashlib.sha256(body.encode()).hexdigest()
    msg = 'Subject: crash-%d\\r\\nX-Body-SHA256: %s\\r\\n\\r\\n%s' % (i, digest, body)
    try:
        s.sendmail('load@example.org', ['${ADDRESS}'], msg)
    except Exception as e:
        print(json.dumps(['STOP', type(e).__name__]), flush=True)
        break
    print(json.dumps(['ACK', i]), flush=True)
    i += 1
`;

function bodyOk(message: string): { id: number; ok: boolean } {
  const id = Number(/Subject: crash-(\d+)/.exec(message)?.[1]);
  const digest = /X-Body-SHA256: ([0-9a-f]{64})/.exec(message)?.[1];
  // poplib hands back the lines without the final line end.
  const body = `${message.slice(message.indexOf('\r\n\r\n') + 4)}\r\n`;
  return { id, ok: digest !== undefined && digest === sha256(body) };
}

function sha256(text: string): string {
  return createHash('sha256').update(Buffer.from(text, 'latin1')).digest('hex');
}

/** The items in a seeded random order (Fisher-Yates). */
function shuffle<T>(random: Random, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Runs `fn` with the service, and makes sure the service is gone afterwards, whatever happened. */
async function withService<T>(fn: (service: RunningService) => Promise<T>): Promise<T> {
  const service = await startPop3svc(mailroot, config);
  try {
    return await fn(service);
  } finally {
    if (service.process.exitCode === null && service.process.signalCode === null) await service.kill();
  }
}

test('SIGKILL during a stream of deliveries loses, duplicates and truncates nothing', async (t: TestContext) => {
  const random = new Random(seedFrom('KILL9_SEED', 'kill -9 during deliveries'));
  // Half the rounds kill while a message is being written; the others at a random moment.
  const aims = shuffle(random, ['writing', 'writing', 'moment', 'moment'] as const);
  const acked = new Set<number>();
  /** The message each round's sender had on the wire at the kill: stored or not, both are right. */
  const inFlight = new Set<number>();
  let cutWrites = 0;
  let next = 1;
  for (const [round, aim] of aims.entries()) {
    const wait = random.int(0, 700);
    const { lines, landed } = await withService(async (service) => {
      // Recovery runs in the background after the start; the mailbox is recovered before its first delivery either way.
      await service.recovered();
      assert.deepEqual(entries('tmp'), [], `round ${round}: recovery cleared tmp/`);
      const sender = pythonLines(SENDER, [String(service.smtpPort), String(next), String(random.int(0, 1e9))]);
      try {
        // Once deliveries are under way (a busy machine takes a while to start the sender).
        await spin(() => sender.lines.some((l) => l[0] === 'ACK') || sender.child.exitCode !== null, 'the first acknowledged delivery');
        assert.ok(sender.lines.some((l) => l[0] === 'ACK'), `round ${round}: the sender stopped before any delivery: ${JSON.stringify(sender.lines)} ${sender.stderr()}`);
        await new Promise((r) => setTimeout(r, wait));
        if (aim === 'writing') await spin(() => entries('tmp').length > 0, 'a delivery being written to tmp/');
        await service.kill();
        // The service is dead: what tmp/ holds now is what the kill cut short.
        const landed = entries('tmp').length;
        await sender.exited;
        return { lines: sender.lines, landed };
      } finally {
        sender.child.kill('SIGKILL');
      }
    });
    const ids = lines.filter((l) => l[0] === 'ACK').map((l) => l[1] as number);
    for (const id of ids) acked.add(id);
    inFlight.add(Math.max(...ids) + 1);
    if (landed > 0) cutWrites++;
    t.diagnostic(
      `round ${round}: aimed at ${aim === 'writing' ? 'a write in progress' : `${wait} ms after the first ACK`}; ${ids.length} acknowledged; ` +
        `${landed > 0 ? `killed in the middle of a write (${landed} file in tmp/)` : 'killed between writes (tmp/ empty)'}; sender ${JSON.stringify(lines.at(-1))}`,
    );
    assert.ok(lines.at(-1)?.[0] === 'STOP', `round ${round}: the sender's connection ended with the kill`);
    next = Math.max(next, ...ids) + 1000;
  }
  t.diagnostic(`kill -9 during deliveries: ${aims.length} rounds, ${cutWrites} killed in the middle of a write, ${acked.size} messages acknowledged`);
  assert.ok(cutWrites > 0, 'some kills landed in the middle of writing a message');

  await withService(async (service) => {
    const box = await popFetchAll(service.pop3Port, ADDRESS, PASSWORD, { delete: true });
    assert.ok(!('error' in box), JSON.stringify(box));
    const seen = box.messages.map(bodyOk);
    const partial = seen.filter((m) => !m.ok);
    assert.deepEqual(partial, [], 'no message is partial');
    const ids = seen.map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, 'no message is duplicated');
    const missing = [...acked].filter((id) => !ids.includes(id));
    assert.deepEqual(missing, [], 'every acknowledged message is there');
    const unexplained = ids.filter((id) => !acked.has(id) && !inFlight.has(id));
    assert.deepEqual(unexplained, [], 'nothing is there but the acknowledged messages and those on the wire at the kills');
    t.diagnostic(`${ids.length} messages after the restart: ${acked.size} acknowledged, ${ids.length - acked.size} on the wire at a kill but stored`);
    assert.equal(entries('tmp').length, 0, 'recovery removed what the killed writes left in tmp/');
    await service.stop();
  });
});

/**
 * The client: logs in, marks every message, says READY, and sends QUIT when
 * told to on stdin (so the test watches the disk before QUIT can run). It
 * says SENT once QUIT is on the wire, then the answer, or CUT.
 * (poplib's _putcmd/_getresp: quit() would hide whether QUIT was sent.)
 */
const QUITTER = `
import json, poplib, sys
def out(*a):
    print(json.dumps(a), flush=True)
p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=30)
p.user(sys.argv[2]); p.pass_(sys.argv[3])
count, _ = p.stat()
for i in range(count):
    p.dele(i + 1)
out('READY', count)
sys.stdin.readline()
p._putcmd('QUIT')
out('SENT')
try:
    out('ANSWER', p._getresp().decode('latin-1'))
except Exception as e:
    out('CUT', type(e).__name__)
`;

/** When a QUIT round kills the service: when QUIT is sent, when its intent record appears, after `k` unlinks, or after the answer. */
type Aim = { kind: 'sent' } | { kind: 'record' } | { kind: 'unlinked'; k: number } | { kind: 'answered' };
/** Where the kill landed, read from the disk once the service is dead. */
type Landing = 'before' | 'middle' | 'after';

const describeAim = (aim: Aim): string =>
  aim.kind === 'unlinked' ? `after ${aim.k} unlinks` : aim.kind === 'record' ? 'when the intent record appears' : aim.kind === 'sent' ? 'when QUIT is sent' : 'once QUIT is answered';

test('SIGKILL during a QUIT that applies deletions: all deleted or none', async (t: TestContext) => {
  const N = 300;
  const random = new Random(seedFrom('KILL9_SEED', 'kill -9 during QUIT'));
  // Each aim once in the first four rounds, in a seeded order; random ones after that.
  const kinds = shuffle(random, ['sent', 'record', 'unlinked', 'answered'] as const);
  const aimAt = (kind: Aim['kind']): Aim => (kind === 'unlinked' ? { kind, k: random.int(1, N - 1) } : { kind });
  const plan = Array.from({ length: countFrom('KILL9_ROUNDS', 4) }, (_, i) => aimAt(kinds[i] ?? random.pick(kinds)));
  const atMiddle = (aim: Aim): boolean => aim.kind === 'record' || aim.kind === 'unlinked';
  const aimedAtMiddle = plan.filter(atMiddle).length;
  // A kill aimed at the middle that a busy machine delays past the end is aimed again, a few times at most.
  let retries = 3;
  let hits = 0;
  const landings: Record<Landing, number> = { before: 0, middle: 0, after: 0 };
  for (let round = 0; round < plan.length; round++) {
    const aim = plan[round] as Aim;
    assert.deepEqual(diskState(), { record: false, messages: 0 }, `round ${round} starts with an empty mailbox`);
    const delivered = await run(process.execPath, [STORE_CHILD, 'deliver', mailroot, ADDRESS, String(N)], { timeoutMs: 120_000 });
    assert.equal(delivered.code, 0, delivered.stderr);

    const { landing, left, quitter } = await withService(async (service) => {
      const q = pythonLines(QUITTER, [String(service.pop3Port), ADDRESS, PASSWORD]);
      try {
        await spin(() => q.lines.length > 0 || q.child.exitCode !== null, 'the QUIT client to mark the messages', 60_000);
        assert.deepEqual(q.lines[0], ['READY', N], `round ${round}: the QUIT client marked every message: ${q.stderr()}`);
        q.child.stdin.end('go\n');
        const said = (kind: string): boolean => q.lines.some((l) => l[0] === kind);
        await spin(() => {
          if (q.child.exitCode !== null && !said('SENT')) return true;
          switch (aim.kind) {
            case 'sent':
              return said('SENT');
            case 'record':
              return diskState().record || said('ANSWER');
            case 'unlinked': {
              const disk = diskState();
              return (disk.record && disk.messages <= N - aim.k) || said('ANSWER');
            }
            case 'answered':
              return said('ANSWER');
          }
        }, `round ${round}: the QUIT to reach the kill's aim (${describeAim(aim)})`);
        assert.ok(said('SENT'), `round ${round}: the QUIT client exited before it sent QUIT: ${JSON.stringify(q.lines)} ${q.stderr()}`);
        await service.kill();
        // The service is dead: the disk shows how far the QUIT got.
        const disk = diskState();
        const landing: Landing = disk.record ? 'middle' : disk.messages === N ? 'before' : 'after';
        assert.ok(disk.record || disk.messages === N || disk.messages === 0, `round ${round}: ${disk.messages} of ${N} messages left with no intent record: a deletion half applied and not recorded`);
        await q.exited;
        return { landing, left: disk.messages, quitter: q.lines };
      } finally {
        q.child.kill('SIGKILL');
      }
    });
    landings[landing]++;
    const answer = quitter.find((l) => l[0] === 'ANSWER');
    if (answer) assert.equal(landing, 'after', `round ${round}: QUIT was answered ${JSON.stringify(answer[1])}, so its deletions were done before the kill`);

    const remaining = await withService(async (again) => {
      const box = await popFetchAll(again.pop3Port, ADDRESS, PASSWORD, { delete: true });
      assert.ok(!('error' in box), JSON.stringify(box));
      await again.stop();
      return box.messages.map((m) => Number(/^Subject: child \d+ (\d+)/m.exec(m)?.[1]));
    });
    t.diagnostic(
      `round ${round}: aimed ${describeAim(aim)}; landed ${landing === 'middle' ? 'in the middle of' : landing} the expunge ` +
        `(${left} of ${N} files on disk${landing === 'middle' ? ', intent record present' : ''}); client ${JSON.stringify(quitter.at(-1))}; ${remaining.length} of ${N} left after the restart`,
    );
    // Once the intent record is on disk the deletion is decided, and the restart finishes it.
    const expected = landing === 'before' ? Array.from({ length: N }, (_, i) => i) : [];
    assert.deepEqual(remaining.sort((a, b) => a - b), expected, `round ${round}: deletions all or nothing (the kill landed ${landing === 'middle' ? 'in the middle of' : landing} the expunge)`);
    if (atMiddle(aim) && landing === 'middle') hits++;
    if (atMiddle(aim) && landing !== 'middle' && retries > 0) {
      retries--;
      plan.push(aimAt(aim.kind));
      t.diagnostic(`round ${round} missed the middle; aiming again`);
    }
  }
  t.diagnostic(`kill -9 during QUIT: ${plan.length} rounds landed ${landings.before} before, ${landings.middle} in the middle of, ${landings.after} after the expunge`);
  assert.ok(landings.middle > 0, 'some kills landed in the middle of the expunge');
  assert.equal(hits, aimedAtMiddle, `each kill aimed at the middle of the expunge landed there (${hits} of ${aimedAtMiddle})`);
});
