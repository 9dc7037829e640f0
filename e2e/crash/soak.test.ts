/**
 * Kill -9 at random moments of a mixed load, many times over.
 *
 * Each round starts `pop3svc`, runs at once an SMTP sender (some messages to
 * two mailboxes), a POP3 client that retrieves, marks and QUITs, and an
 * administrator running winpop (add, delete, changepwd, lock, unlock), then
 * kills the service with SIGKILL after a random delay. Once the next start's
 * recovery (which runs in the background) is through, the store must be
 * consistent:
 *
 * - every acknowledged message present exactly once, unless a QUIT that was
 *   sent deleted it; none partial (each carries the checksum of its body);
 * - the deletions of a QUIT that got no answer applied all or not at all;
 * - every mailbox folder whole (tmp/, new/, cur/, a valid state file), no
 *   staging folder, temp file, expunge record or tmp/ file left, the trash
 *   empty; each admin change applied or not, never half (the mailbox state
 *   and its password match one of the outcomes the administrator could have
 *   caused);
 * - and the service serves: at the end every mailbox is fetched whole.
 *
 * CI runs 6 rounds; SOAK_ROUNDS=200 (and SOAK_SEED to replay) runs longer.
 */

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openMailStore, verifyPassword } from '../../electron/service/store/index.js';
import { startPop3svc, winpop, type RunningService } from '../helpers/processes.js';
import { pythonLines } from '../helpers/python.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { countFrom, Random, seedFrom } from '../hostile/support.js';

const ROUNDS = countFrom('SOAK_ROUNDS', 6);
const DOMAIN = 'soak.example';
const LOAD = ['l0', 'l1', 'l2'].map((name) => ({ name, address: `${name}@${DOMAIN}`, password: `pw-${name}` }));
const ADMIN = ['a0', 'a1', 'a2', 'a3'];

/** What the store may hold for one mailbox the administrator changes. */
interface AdminState {
  readonly exists: boolean;
  readonly password: string | null;
  readonly locked: boolean;
}
const key = (s: AdminState): string => JSON.stringify([s.exists, s.password, s.locked]);

type AdminOp =
  | { kind: 'add'; password: string }
  | { kind: 'delete' }
  | { kind: 'changepwd'; password: string }
  | { kind: 'lock' }
  | { kind: 'unlock' };

/** The state after `op`, or null when the op fails on `s` (and changes nothing). */
function apply(s: AdminState, op: AdminOp): AdminState | null {
  switch (op.kind) {
    case 'add':
      return s.exists ? null : { exists: true, password: op.password, locked: false };
    case 'delete':
      return s.exists ? { exists: false, password: null, locked: false } : null;
    case 'changepwd':
      return s.exists ? { ...s, password: op.password } : null;
    case 'lock':
      return s.exists ? { ...s, locked: true } : null;
    case 'unlock':
      return s.exists ? { ...s, locked: false } : null;
  }
}

/** The possible states after an op whose outcome is `ok`, `failed`, or `unknown` (the service died under it). */
function afterOp(states: AdminState[], op: AdminOp, outcome: 'ok' | 'failed' | 'unknown'): AdminState[] {
  const out = new Map<string, AdminState>();
  for (const s of states) {
    const next = apply(s, op);
    if (outcome === 'ok' && next) out.set(key(next), next);
    if (outcome === 'failed' && !next) out.set(key(s), s);
    if (outcome === 'unknown') {
      out.set(key(s), s);
      if (next) out.set(key(next), next);
    }
  }
  return [...out.values()];
}

let dir: TempDir;
let mailroot: string;
let config: string;

before(async () => {
  dir = await tempDir('winpop-soak-');
  mailroot = path.join(dir.path, 'mailroot');
  config = path.join(dir.path, 'config.json');
  // Logging 2: the line that says the background recovery is through is info.
  await writeFile(config, JSON.stringify({ logging: 2 }));
  const store = await openMailStore(mailroot, { fsync: false });
  await store.addDomain(DOMAIN);
  for (const m of LOAD) await store.addMailbox(m.address, m.password);
  for (const name of ADMIN.slice(0, 2)) await store.addMailbox(`${name}@${DOMAIN}`, 'pw-initial');
});
after(async () => {
  await dir?.remove();
});

/**
 * The SMTP load. Any refusal of a load mailbox is printed (REFUSED) and fails
 * the test: mail is delivered to locked mailboxes too. The one 451 that is
 * right is a message also addressed to a mailbox the administrator deleted
 * between RCPT and DATA (all or nothing, README of the store); it is resent,
 * as a mail server would, and the resend must go through.
 */
const SENDER = `
import hashlib, json, random, smtplib, sys
port, first, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
boxes, others = json.loads(sys.argv[4]), json.loads(sys.argv[5])
rnd = random.Random(seed)
def out(*a):
    print(json.dumps(a), flush=True)
def text(m):
    return m.decode('latin-1') if isinstance(m, bytes) else str(m)
try:
    s = smtplib.SMTP('127.0.0.1', port, timeout=10)
except Exception as e:
    out('STOP', type(e).__name__)
    sys.exit(0)
i = first
while True:
    to = rnd.sample(boxes, 2) if rnd.random() < 0.2 else [rnd.choice(boxes)]
    if rnd.random() < 0.1:
        to.append(rnd.choice(others))  # a mailbox the administrator adds and deletes
    body = ''.join('line %d of %d %s\\r\\n' % (n, i, 'x' * rnd.randint(0, 200)) for n in range(rnd.randint(1, 50)))
    digest = hashlib.sha256(body.encode()).hexdigest()
    msg = 'Subject: soak-%d\\r\\nX-Id: %d\\r\\nX-Body-SHA256: %s\\r\\n\\r\\n%s' % (i, i, digest, body)
    resends = 0
    try:
        while True:
            try:
                refused = s.sendmail('load@remote.example', to, msg)
            except smtplib.SMTPRecipientsRefused as e:
                refused = e.recipients
            except smtplib.SMTPResponseException as e:
                if e.smtp_code == 451 and resends < 5 and any(t in others for t in to):
                    resends += 1
                    out('RESEND', i, e.smtp_code, text(e.smtp_error))
                    continue
                refused = {t: (e.smtp_code, e.smtp_error) for t in to}
            break
    except Exception as e:
        out('STOP', type(e).__name__)
        break
    mine = {t: [code, text(m)] for t, (code, m) in refused.items() if t in boxes}
    if mine:
        out('REFUSED', i, mine)
    accepted = [t for t in to if t not in refused]
    if accepted:
        out('ACK', i, accepted)
    i += 1
`;

const POP3_CLIENT = `
import hashlib, json, poplib, random, re, sys
port, seed = int(sys.argv[1]), int(sys.argv[2])
boxes = json.loads(sys.argv[3])
rnd = random.Random(seed)
def out(*a):
    print(json.dumps(a), flush=True)
while True:
    for box, pw in boxes:
        try:
            p = poplib.POP3('127.0.0.1', port, timeout=10)
        except Exception:
            out('DOWN'); sys.exit(0)
        try:
            p.user(box); p.pass_(pw)
        except poplib.error_proto as e:
            text = e.args[0].decode('latin-1') if isinstance(e.args[0], bytes) else str(e.args[0])
            if 'EOF' in text:
                out('DOWN'); sys.exit(0)
            out('REFUSED', box, text)
            continue
        except Exception:
            out('DOWN'); sys.exit(0)
        quitting = False
        try:
            count, _ = p.stat()
            seen, dele = [], []
            for n in range(1, min(count, 10) + 1):
                text = b'\\r\\n'.join(p.retr(n)[1])
                head, _, body = text.partition(b'\\r\\n\\r\\n')
                ident = int(re.search(rb'X-Id: (\\d+)', head).group(1))
                digest = re.search(rb'X-Body-SHA256: ([0-9a-f]{64})', head).group(1).decode()
                if hashlib.sha256(body + b'\\r\\n').hexdigest() != digest:
                    out('PARTIAL', box, ident)
                seen.append(ident)
                if rnd.random() < 0.5:
                    p.dele(n)
                    dele.append(ident)
            out('SEEN', box, seen, count)
            out('QUIT', box, dele)
            quitting = True
            p.quit()
            out('QUITOK', box)
        except Exception as e:
            out('LOST', box, quitting, str(e)[:200])
`;

/** A load client whose JSON output lines are collected; `done` rejects if it fails, and it is killed after 30 s. */
function runJsonLines([script, ...args]: [string, ...string[]]): { child: ChildProcess; lines: unknown[][]; done: Promise<void> } {
  const load = pythonLines(script, args);
  const timer = setTimeout(() => load.child.kill('SIGKILL'), 30_000);
  const done = load.exited.then((code) => {
    clearTimeout(timer);
    if (code !== 0 && code !== null) throw new Error(`load client exited with ${code}: ${load.stderr()}`);
  });
  return { child: load.child, lines: load.lines, done };
}

/** One message file on disk: its id, and whether its body matches its checksum. */
async function readMessage(file: string): Promise<{ id: number; whole: boolean }> {
  // Stored in CRLF wire form (LF before issue 13): read with LF line ends; the sender hashed CRLF ones.
  const text = (await readFile(file, 'latin1')).replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const head = text.slice(0, split);
  const id = Number(/^X-Id: (\d+)$/m.exec(head)?.[1]);
  const digest = /^X-Body-SHA256: ([0-9a-f]{64})$/m.exec(head)?.[1];
  const body = text.slice(split + 2).replace(/\n/g, '\r\n');
  return { id, whole: digest !== undefined && createHash('sha256').update(Buffer.from(body, 'latin1')).digest('hex') === digest };
}

/** Everything a verification looks at, read from disk while the service is idle. */
async function inspectStore(): Promise<{ problems: string[]; messages: Map<string, number[]>; mailboxes: Map<string, { password: string; locked: boolean } | 'broken'> }> {
  const problems: string[] = [];
  const messages = new Map<string, number[]>();
  const mailboxes = new Map<string, { password: string; locked: boolean } | 'broken'>();
  const trash = await readdir(path.join(mailroot, '.winpop', 'trash')).catch(() => []);
  if (trash.length > 0) problems.push(`trash not empty: ${trash.join(', ')}`);
  const domainDir = path.join(mailroot, DOMAIN);
  try {
    JSON.parse(await readFile(path.join(domainDir, '.winpop-domain.json'), 'utf8'));
  } catch (err) {
    problems.push(`domain file: ${(err as Error).message}`);
  }
  for (const entry of await readdir(domainDir, { withFileTypes: true })) {
    if (entry.name === '.winpop-domain.json') continue;
    if (entry.name.startsWith('.')) {
      problems.push(`left in the domain folder: ${entry.name}`);
      continue;
    }
    const box = path.join(domainDir, entry.name);
    const inside = await readdir(box);
    for (const name of inside) {
      if (!['tmp', 'new', 'cur', '.winpop-mailbox.json'].includes(name)) problems.push(`left in ${entry.name}: ${name}`);
    }
    for (const sub of ['tmp', 'new', 'cur']) if (!inside.includes(sub)) problems.push(`${entry.name} has no ${sub}/`);
    const tmp = await readdir(path.join(box, 'tmp')).catch(() => []);
    if (tmp.length > 0) problems.push(`${entry.name}/tmp not empty after recovery: ${tmp.length} files`);
    try {
      const meta = JSON.parse(await readFile(path.join(box, '.winpop-mailbox.json'), 'utf8')) as { password?: unknown; lock?: unknown };
      const lockOk = meta.lock === null || (typeof meta.lock === 'object' && typeof (meta.lock as { by?: unknown }).by === 'string');
      if (typeof meta.password !== 'string' || !lockOk) throw new Error(`bad fields ${JSON.stringify(meta).slice(0, 200)}`);
      mailboxes.set(entry.name, { password: meta.password, locked: meta.lock !== null });
    } catch (err) {
      mailboxes.set(entry.name, 'broken');
      problems.push(`${entry.name}: state file ${(err as Error).message}`);
    }
    const ids: number[] = [];
    for (const sub of ['new', 'cur']) {
      for (const name of await readdir(path.join(box, sub)).catch(() => [])) {
        const m = await readMessage(path.join(box, sub, name));
        if (!m.whole) problems.push(`${entry.name}: message ${m.id} is partial (${sub}/${name})`);
        ids.push(m.id);
      }
    }
    messages.set(entry.name, ids);
  }
  return { problems, messages, mailboxes };
}

test(`kill -9 at random moments of a mixed load, ${ROUNDS} rounds: the store stays consistent`, { timeout: 60_000 + ROUNDS * 30_000 }, async () => {
  const random = new Random(seedFrom('SOAK_SEED', 'kill -9 soak'));
  /** Acknowledged deliveries per load mailbox: id → copies acknowledged (always 1). */
  const acked = new Map<string, Set<number>>(LOAD.map((m) => [m.name, new Set()]));
  /** Ids a QUIT was sent for, per mailbox: gone or not, both are right. */
  const mayBeGone = new Map<string, Set<number>>(LOAD.map((m) => [m.name, new Set()]));
  /** Ids an acknowledged QUIT deleted. */
  const gone = new Map<string, Set<number>>(LOAD.map((m) => [m.name, new Set()]));
  const adminStates = new Map<string, AdminState[]>(ADMIN.map((name, i) => [name, [{ exists: i < 2, password: i < 2 ? 'pw-initial' : null, locked: false }]]));
  const loadLocked = new Map<string, boolean[]>(LOAD.map((m) => [m.name, [false]]));
  let nextId = 1;
  let passwordCounter = 0;
  const stats = { acked: 0, quits: 0, adminOps: 0, unknownAdmin: 0, resent: 0 };
  /** Per mailbox, the deletions of a QUIT that the kill cut short: after the restart, all applied or none. */
  const cutShort = new Map<string, number[]>();

  const verify = async (round: number): Promise<void> => {
    const { problems, messages, mailboxes } = await inspectStore();
    assert.deepEqual(problems, [], `after round ${round}`);
    for (const m of LOAD) {
      const ids = messages.get(m.name) ?? [];
      const counts = new Map<number, number>();
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
      const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
      assert.deepEqual(duplicated, [], `round ${round}: ${m.name} has duplicated messages`);
      const missing = [...(acked.get(m.name) ?? [])].filter((id) => !counts.has(id) && !mayBeGone.get(m.name)?.has(id) && !gone.get(m.name)?.has(id));
      assert.deepEqual(missing, [], `round ${round}: ${m.name} lost acknowledged messages`);
      const cut = cutShort.get(m.name) ?? [];
      const left = cut.filter((id) => counts.has(id)).length;
      assert.ok(left === 0 || left === cut.length, `round ${round}: ${m.name} kept ${left} of the ${cut.length} messages of a QUIT cut short by the kill`);
      cutShort.delete(m.name);
      const resurrected = [...(gone.get(m.name) ?? [])].filter((id) => counts.has(id));
      assert.deepEqual(resurrected, [], `round ${round}: ${m.name} still has messages an acknowledged QUIT deleted`);
      // From here on, what the disk holds is the truth.
      for (const id of mayBeGone.get(m.name) ?? []) if (!counts.has(id)) gone.get(m.name)?.add(id);
      mayBeGone.set(m.name, new Set());
      const state = mailboxes.get(m.name);
      assert.ok(state && state !== 'broken', `${m.name} is whole`);
      assert.ok(loadLocked.get(m.name)?.includes(state.locked), `round ${round}: ${m.name} lock is ${state.locked}, expected one of ${loadLocked.get(m.name)}`);
      loadLocked.set(m.name, [state.locked]);
    }
    for (const name of ADMIN) {
      const possible = adminStates.get(name) ?? [];
      const disk = mailboxes.get(name);
      assert.notEqual(disk, 'broken');
      let actual: AdminState = { exists: false, password: null, locked: false };
      if (disk && disk !== 'broken') {
        const candidates = [...new Set(possible.filter((s) => s.exists).map((s) => s.password as string))];
        let password: string | null = null;
        for (const c of candidates) if (await verifyPassword(c, disk.password)) password = c;
        assert.ok(password !== null, `round ${round}: ${name}'s password is none of ${candidates.join(', ')}`);
        actual = { exists: true, password, locked: disk.locked };
      }
      assert.ok(
        possible.some((s) => key(s) === key(actual)),
        `round ${round}: ${name} is ${key(actual)}, which no outcome of the admin changes explains (${possible.map(key).join(' | ')})`,
      );
      adminStates.set(name, [actual]);
    }
  };

  for (let round = 1; round <= ROUNDS; round++) {
    const service: RunningService = await startPop3svc(mailroot, config);
    try {
      // The service serves before its recovery is through; the disk is checked once it is.
      await service.recovered();
      await verify(round - 1);
    } catch (err) {
      await service.stop();
      throw err;
    }
    const first = nextId;
    nextId += 1_000_000;
    const sender = runJsonLines([SENDER, String(service.smtpPort), String(first), String(random.int(0, 1e9)), JSON.stringify(LOAD.map((m) => m.address)), JSON.stringify(ADMIN.map((name) => `${name}@${DOMAIN}`))]);
    // Two POP3 clients, each with its own mailboxes (a maildrop takes one session at a time).
    const readers = [LOAD.slice(0, 2), LOAD.slice(2)].map((boxes) =>
      runJsonLines([POP3_CLIENT, String(service.pop3Port), String(random.int(0, 1e9)), JSON.stringify(boxes.map((m) => [m.address, m.password]))]),
    );

    let stopAdmin = false;
    const admin = (async () => {
      while (!stopAdmin) {
        const useLoad = random.chance(0.2);
        const name = useLoad ? random.pick(LOAD).name : random.pick(ADMIN);
        const address = `${name}@${DOMAIN}`;
        const password = `pw-${round}-${++passwordCounter}`;
        const op: AdminOp = useLoad
          ? { kind: random.pick(['lock', 'unlock'] as const) }
          : random.pick<AdminOp>([{ kind: 'add', password }, { kind: 'delete' }, { kind: 'changepwd', password }, { kind: 'lock' }, { kind: 'unlock' }]);
        const args =
          op.kind === 'add' ? ['add', address, '/createuser', '-'] : op.kind === 'changepwd' ? ['changepwd', address, '-'] : [op.kind, address];
        const result = await winpop(['--json', '--mailroot', mailroot, '--config', config, ...args], 'password' in op ? { input: `${op.password}\n` } : {});
        let outcome: 'ok' | 'failed' | 'unknown' = 'ok';
        if (result.code !== 0) {
          const code = /"code": "([A-Z_]+)"/.exec(result.stdout)?.[1];
          outcome = code === 'NOT_FOUND' || code === 'ALREADY_EXISTS' ? 'failed' : 'unknown';
          if (outcome === 'unknown') stats.unknownAdmin++;
        }
        stats.adminOps++;
        if (useLoad) {
          const locked = op.kind === 'lock';
          const before = loadLocked.get(name) ?? [];
          loadLocked.set(name, outcome === 'ok' ? [locked] : outcome === 'unknown' ? [...new Set([...before, locked])] : before);
        } else {
          const next = afterOp(adminStates.get(name) ?? [], op, outcome);
          assert.ok(next.length > 0, `winpop ${args.join(' ')} answered ${outcome}, which no state of ${name} allows: ${result.stdout}${result.stderr}`);
          adminStates.set(name, next);
        }
      }
    })();

    // Once the load is under way (a slow machine takes a while to start it), kill at a random moment.
    const started = Date.now();
    const underWay = (): boolean =>
      sender.lines.some((l) => l[0] === 'ACK') && readers.some((r) => r.lines.some((l) => l[0] === 'SEEN' || l[0] === 'REFUSED'));
    while (!underWay() && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, random.int(0, 2000)));
    stopAdmin = true;
    await service.kill();
    // Every part must have finished before the next start (a winpop cut short may still be at work).
    for (const r of await Promise.allSettled([sender.done, ...readers.map((r) => r.done), admin])) if (r.status === 'rejected') throw r.reason;

    const refusals = sender.lines.filter((l) => l[0] === 'REFUSED');
    assert.deepEqual(refusals, [], `round ${round}: SMTP refused mail for a load mailbox (mail is delivered to locked mailboxes too)`);
    stats.resent += sender.lines.filter((l) => l[0] === 'RESEND').length;
    for (const line of sender.lines) {
      if (line[0] !== 'ACK') continue;
      stats.acked++;
      for (const to of line[2] as string[]) acked.get(to.slice(0, to.indexOf('@')))?.add(line[1] as number);
    }
    /** Per mailbox, the ids of the last QUIT that got no answer, to check all-or-nothing against the next listing. */
    const pending = new Map<string, number[]>();
    for (const line of readers.flatMap((r) => r.lines)) {
      const [kind, box] = line as [string, string];
      const name = box?.slice(0, box.indexOf('@'));
      if (kind === 'PARTIAL') assert.fail(`round ${round}: the POP3 client got a partial message ${line[2]} from ${box}`);
      if (kind === 'SEEN') {
        const seen = new Set(line[2] as number[]);
        const count = line[3] as number;
        const last = pending.get(name);
        // The listing after a QUIT that got no answer shows its deletions all applied, or none.
        if (last && count <= 10) {
          const present = last.filter((id) => seen.has(id)).length;
          assert.ok(present === 0 || present === last.length, `round ${round}: ${box} shows ${present} of the ${last.length} messages an unanswered QUIT deleted`);
        }
        pending.delete(name);
      }
      if (kind === 'QUIT') {
        stats.quits++;
        pending.set(name, line[2] as number[]);
        for (const id of line[2] as number[]) mayBeGone.get(name)?.add(id);
      }
      if (kind === 'QUITOK') {
        for (const id of pending.get(name) ?? []) gone.get(name)?.add(id);
        pending.delete(name);
      }
    }
    // The QUIT the kill cut short: checked against the disk after the restart.
    for (const [name, ids] of pending) cutShort.set(name, ids);
  }

  // The last restart: consistent, and serving every mailbox in full.
  const service = await startPop3svc(mailroot, config);
  try {
    await service.recovered();
    await verify(ROUNDS);
    for (const m of LOAD) assert.equal((await winpop(['--mailroot', mailroot, '--config', config, 'unlock', m.address])).code, 0);
    const fetched = runJsonLines([
      `
import hashlib, json, poplib, re, sys
for box, pw in json.loads(sys.argv[2]):
    p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=30)
    p.user(box); p.pass_(pw)
    count, _ = p.stat()
    ids = []
    for n in range(1, count + 1):
        text = b'\\r\\n'.join(p.retr(n)[1])
        head, _, body = text.partition(b'\\r\\n\\r\\n')
        digest = re.search(rb'X-Body-SHA256: ([0-9a-f]{64})', head).group(1).decode()
        ids.append([int(re.search(rb'X-Id: (\\d+)', head).group(1)), hashlib.sha256(body + b'\\r\\n').hexdigest() == digest])
    p.quit()
    print(json.dumps([box, ids]), flush=True)
`,
      String(service.pop3Port),
      JSON.stringify(LOAD.map((m) => [m.address, m.password])),
    ]);
    await fetched.done;
    const { messages } = await inspectStore();
    for (const [box, ids] of fetched.lines as [string, [number, boolean][]][]) {
      const name = box.slice(0, box.indexOf('@'));
      assert.deepEqual(ids.filter(([, whole]) => !whole), [], `${box}: every message served whole`);
      assert.deepEqual(ids.map(([id]) => id).sort(), [...(messages.get(name) ?? [])].sort(), `${box}: POP3 serves exactly what is on disk`);
    }
    assert.equal(fetched.lines.length, LOAD.length);
  } finally {
    await service.stop();
  }
  console.log(`kill -9 soak: ${ROUNDS} rounds, ${stats.acked} messages acknowledged (${stats.resent} resent after a 451), ${stats.quits} QUITs, ${stats.adminOps} admin changes (${stats.unknownAdmin} cut by the kill)`);
  assert.ok(stats.acked > 0 && stats.quits > 0 && stats.adminOps > 0, 'the load did run');
});
