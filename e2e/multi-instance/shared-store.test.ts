/**
 * Two independent pop3svc processes (their own ports, no shared memory)
 * serving one mail store: both on the same folder, and one of them
 * reaching it over a real network file system (sshfs from an sshd of the
 * test's own, on loopback: attribute caching and no change notification,
 * as NFS).
 *
 * - exclusive maildrop: a log-in on one while a session on the other holds
 *   the maildrop gets the "in use" answer, and gets in once that session
 *   QUITs, or at once when its process is killed -9 (same machine: its pid
 *   is gone); a holder on another machine is waited out by its lease, and a
 *   live holder renews its lease;
 * - a lock or a password change made through one service's control channel
 *   (winpop) closes the session on the other: polled, the latency printed;
 *   the old password no longer logs in there;
 * - deliveries through both SMTP listeners at once: every acknowledged
 *   message there exactly once, readable through either;
 * - kill -9 of either during deliveries and sessions on both: nothing
 *   acknowledged is lost, nothing is duplicated, no deletion a client saw
 *   confirmed comes back.
 *
 * SHARED_STORE_SEED replays the random choices (which service is killed,
 * and when).
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { MAILDROP_LOCK } from '../../electron/service/store/layout.js';
import { CLOCK_SKEW_MS, LEASE_MS } from '../../electron/service/store/maildrop-lock.js';
import { watchPopSession } from '../helpers/poplib-watch.js';
import { startPop3svc, winpop, type RunningService } from '../helpers/processes.js';
import { popFetchAll, python, pythonLines, type PythonLines } from '../helpers/python.js';
import { mountSshfs, sshfsUnavailable, type SshfsMount } from '../helpers/sshfs.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { Random, seedFrom } from '../hostile/support.js';

const DOMAIN = 'shared.test';
const IN_USE = '-ERR [IN-USE] The mailbox is already in use by another session; end that session or try again later.';
const LOCKED_SESSION = '-ERR [AUTH] Log-in to this mailbox was disabled by the administrator; session closed, nothing deleted.';
const LOCKED_LOGIN = '-ERR [AUTH] Log-in to this mailbox is disabled by the administrator; its mail is still delivered. Contact your administrator.';
const PASSWORD_CHANGED = '-ERR [AUTH] The password of this mailbox was changed; session closed, nothing deleted. Log in again with the new password.';
const BAD_CREDENTIALS = '-ERR [AUTH] Invalid user name or password.';
const MAILBOXES = ['ex', 'lease', 'lk', 'pw', 'dl', 'k9'];
const pw = (name: string): string => `pw-${name}`;
const at = (name: string): string => `${name}@${DOMAIN}`;

const sshfsMissing = await sshfsUnavailable();

/** Waits until `check` resolves true, polling; fails after `ms` saying `what`. */
async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A log-in attempt through poplib: the server's answer to PASS (and a QUIT right after when it worked). */
async function tryLogin(port: number, address: string, password: string): Promise<string> {
  const [out] = await python<{ answer: string }>(
    `
import poplib
p = poplib.POP3('127.0.0.1', ARGS['port'], timeout=20)
p.user(ARGS['user'])
try:
    answer = p.pass_(ARGS['password']).decode('latin-1')
    p.quit()
except poplib.error_proto as e:
    answer = e.args[0].decode('latin-1')
print(json.dumps({'answer': answer}))
`,
    { port, user: address, password },
  );
  return (out as { answer: string }).answer;
}

interface Pair {
  /** Serves the store's own folder; its control channel is the one winpop reaches. */
  a: RunningService;
  /** Serves the same store through `rootB` (the sshfs mount, or the same folder). */
  b: RunningService;
  readonly rootA: string;
  readonly rootB: string;
  readonly configA: string;
  restart(which: 'a' | 'b'): Promise<void>;
}

/** The two services on one store; `overSshfs`: B reaches it through the mount. */
function twoServices(overSshfs: boolean): { pair: () => Pair } {
  let dir: TempDir;
  let mount: SshfsMount | null = null;
  let current: Pair | null = null;
  before(async () => {
    dir = await tempDir('winpop-shared-');
    const rootA = path.join(dir.path, 'root');
    await mkdir(rootA);
    const configA = path.join(dir.path, 'a.json');
    const configB = path.join(dir.path, 'b.json');
    const admin = (args: string[]): Promise<unknown> =>
      winpop(['--mailroot', rootA, '--config', configA, ...args]).then((r) => assert.equal(r.code, 0, `winpop ${args.join(' ')}: ${r.stderr}`));
    await admin(['add', DOMAIN]);
    for (const name of MAILBOXES) await admin(['add', at(name), '/createuser', pw(name)]);
    if (overSshfs) mount = await mountSshfs(rootA);
    const rootB = mount?.path ?? rootA;
    // On the same folder the first service's control channel is the store's; over sshfs B's own is on this machine (control-path.ts).
    const bExtra = overSshfs ? [] : ['--no-control'];
    const pair: Pair = {
      a: await startPop3svc(rootA, configA),
      b: await startPop3svc(rootB, configB, bExtra),
      rootA,
      rootB,
      configA,
      async restart(which) {
        if (which === 'a') pair.a = await startPop3svc(rootA, configA);
        else pair.b = await startPop3svc(rootB, configB, bExtra);
      },
    };
    current = pair;
    // The store's control channel is A's, still there after B started (over sshfs B must not take it for a dead one's).
    assert.ok(statSync(path.join(rootA, '.winpop', 'control.sock')).isSocket(), "A's control socket is in the mail root");
  });
  after(async () => {
    await Promise.allSettled([current?.a.stop(), current?.b.stop()]);
    await mount?.close();
    await dir?.remove();
  });
  return { pair: () => current as Pair };
}

function sharedStoreSuite(overSshfs: boolean): void {
  const { pair } = twoServices(overSshfs);
  const where = overSshfs ? 'B over sshfs' : 'both on the folder';

  it('keeps the maildrop exclusive across the two: in use while held, free after QUIT, free at once after kill -9 of the holder', async () => {
    const p = pair();
    const holder = watchPopSession(p.a.pop3Port, at('ex'), pw('ex'));
    try {
      assert.match(await holder.loggedIn, /^\+OK/);
      assert.equal(await tryLogin(p.b.pop3Port, at('ex'), pw('ex')), IN_USE);
      assert.match(await holder.send('quit'), /^\+OK/);
    } finally {
      await holder.close();
    }
    assert.match(await tryLogin(p.b.pop3Port, at('ex'), pw('ex')), /^\+OK/);

    // Now B holds it, and dies without a word.
    const onB = watchPopSession(p.b.pop3Port, at('ex'), pw('ex'));
    try {
      assert.match(await onB.loggedIn, /^\+OK/);
      assert.equal(await tryLogin(p.a.pop3Port, at('ex'), pw('ex')), IN_USE);
      await p.b.kill();
      // Same machine: the holder's pid is gone, so the very next log-in gets in.
      assert.match(await tryLogin(p.a.pop3Port, at('ex'), pw('ex')), /^\+OK/);
    } finally {
      await onB.close();
      await p.restart('b');
    }
  });

  it('waits out a holder on another machine by its lease, and a live holder renews its lease', async () => {
    const p = pair();
    const lockFile = path.join(p.rootA, DOMAIN, 'lease', MAILDROP_LOCK);
    // A holder on another machine: nothing here can ask whether it lives, only its lease tells.
    writeFileSync(lockFile, `4242 linux:another-boot other-host.example 0123456789abcdef ${LEASE_MS}\n`, { flag: 'wx' });
    assert.equal(await tryLogin(p.a.pop3Port, at('lease'), pw('lease')), IN_USE);
    assert.equal(await tryLogin(p.b.pop3Port, at('lease'), pw('lease')), IN_USE);
    // Its last renewal a lease and the clock margin ago (and a second more): that holder is taken for dead.
    const lapsed = new Date(Date.now() - LEASE_MS - CLOCK_SKEW_MS - 1000);
    utimesSync(lockFile, lapsed, lapsed);
    assert.match(await tryLogin(p.b.pop3Port, at('lease'), pw('lease')), /^\+OK/);
    assert.throws(() => statSync(lockFile), /ENOENT/, 'the QUIT let go of the lock file');

    const session = watchPopSession(p.b.pop3Port, at('lease'), pw('lease'));
    try {
      assert.match(await session.loggedIn, /^\+OK/);
      const first = readFileSync(lockFile, 'utf8');
      const startedMs = statSync(lockFile).mtimeMs;
      assert.match(first, new RegExp(`^\\d+ \\S+ \\S+ [0-9a-f]+ ${LEASE_MS}\\n$`));
      // A link to B's holder file where the file system makes hard links (sshfs: OpenSSH's hardlink@openssh.com), else a file of its own.
      const names = statSync(lockFile).nlink;
      console.log(`# ${where}: the lock file has ${names} name(s) (2: a link to its process's holder file; 1: a file of its own)`);
      assert.ok(names === 1 || names === 2, `a lock file has one or two names, not ${names}`);
      const renewed = performance.now();
      await until(() => statSync(lockFile).mtimeMs > startedMs, 'the holder to renew its lease', LEASE_MS);
      console.log(`# ${where}: lease renewed after ${Math.round(performance.now() - renewed)} ms (lease ${LEASE_MS} ms, renewed every third of it)`);
      assert.equal(readFileSync(lockFile, 'utf8'), first, 'renewal keeps the holder line');
      assert.match(await session.send('noop'), /^\+OK/);
    } finally {
      await session.close();
    }
  });

  it('closes the session on the other service when a lock is made through one (winpop on its control channel)', async () => {
    const p = pair();
    const session = watchPopSession(p.b.pop3Port, at('lk'), pw('lk'));
    try {
      assert.match(await session.loggedIn, /^\+OK/);
      const started = performance.now();
      const locked = await winpop(['--mailroot', p.rootA, '--config', p.configA, 'lock', at('lk')]);
      const returned = performance.now();
      assert.equal(locked.code, 0, locked.stderr);
      await until(() => session.closedAt !== null, 'the session on the other service to be closed by the lock', 10_000);
      console.log(
        `# ${where}: session on the other service closed ${Math.round((session.closedAt as number) - returned)} ms after winpop lock returned (${Math.round((session.closedAt as number) - started)} ms after it started)`,
      );
      assert.equal(session.unasked, `${LOCKED_SESSION}\r\n`);
      assert.equal(await tryLogin(p.b.pop3Port, at('lk'), pw('lk')), LOCKED_LOGIN);
    } finally {
      await session.close();
      await winpop(['--mailroot', p.rootA, '--config', p.configA, 'unlock', at('lk')]);
    }
    assert.match(await tryLogin(p.b.pop3Port, at('lk'), pw('lk')), /^\+OK/);
  });

  it('closes the session on the other service when the password is changed through one, and the old password no longer logs in there', async () => {
    const p = pair();
    // The other service has verified (and remembers) the old password.
    assert.match(await tryLogin(p.b.pop3Port, at('pw'), pw('pw')), /^\+OK/);
    const session = watchPopSession(p.b.pop3Port, at('pw'), pw('pw'));
    try {
      assert.match(await session.loggedIn, /^\+OK/);
      const changed = await winpop(['--mailroot', p.rootA, '--config', p.configA, 'changepwd', at('pw'), 'pw-new']);
      const returned = performance.now();
      assert.equal(changed.code, 0, changed.stderr);
      await until(() => session.closedAt !== null, 'the session on the other service to be closed by the password change', 10_000);
      console.log(`# ${where}: session closed ${Math.round((session.closedAt as number) - returned)} ms after winpop changepwd returned`);
      assert.equal(session.unasked, `${PASSWORD_CHANGED}\r\n`);
    } finally {
      await session.close();
    }
    assert.equal(await tryLogin(p.b.pop3Port, at('pw'), pw('pw')), BAD_CREDENTIALS);
    assert.match(await tryLogin(p.b.pop3Port, at('pw'), 'pw-new'), /^\+OK/);
  });

  it('stores every message delivered through both SMTP listeners at once exactly once, readable through either', async () => {
    const p = pair();
    const seed = seedFrom('SHARED_STORE_SEED', `${where}: deliveries`);
    // Each service has read the mailbox first: what it remembers (and what the mount caches) must not hide the new mail.
    const first = await Promise.all([sendBatch(p.a.smtpPort, 'a', 10, seed), sendBatch(p.b.smtpPort, 'b', 10, seed + 1)]);
    for (const port of [p.a.pop3Port, p.b.pop3Port]) assert.deepEqual((await fetchIds(port, at('dl'))).ids.sort(), first.flat().sort());
    const [fromA, fromB] = await Promise.all([sendBatch(p.a.smtpPort, 'a2', 30, seed + 2), sendBatch(p.b.smtpPort, 'b2', 30, seed + 3)]);
    const acked = [...first.flat(), ...fromA, ...fromB];
    assert.equal(acked.length, 80);
    for (const port of [p.a.pop3Port, p.b.pop3Port]) {
      const got = await fetchIds(port, at('dl'));
      assert.deepEqual([...got.ids].sort(), [...acked].sort(), `every acknowledged message exactly once through port ${port}`);
      assert.deepEqual(got.bad, [], 'no message damaged');
    }
  });

  it('loses and duplicates nothing when either service is killed -9 during deliveries and sessions on both', async () => {
    const p = pair();
    const seed = seedFrom('SHARED_STORE_SEED', `${where}: kill -9`);
    const random = new Random(seed);
    const victim = random.int(0, 1) === 0 ? 'a' : 'b';
    const killAfter = random.int(10, 30);
    console.log(`# ${where}: kill -9 of ${victim} after ${killAfter} acknowledged deliveries`);
    const senders = [pythonLines(SENDER, [String(p.a.smtpPort), 'a', String(seed)]), pythonLines(SENDER, [String(p.b.smtpPort), 'b', String(seed + 1)])];
    const readers = [pythonLines(READER, [String(p.a.pop3Port), at('k9'), pw('k9'), String(seed + 2)]), pythonLines(READER, [String(p.b.pop3Port), at('k9'), pw('k9'), String(seed + 3)])];
    const ackedNow = (): number => senders.reduce((n, s) => n + s.lines.filter((l) => l[0] === 'ACK').length, 0);
    const inUseNow = (): number => readers.reduce((n, r) => n + r.lines.filter((l) => l[0] === 'IN_USE').length, 0);
    let killed = false;
    try {
      // The two readers have met on the maildrop (one was told it is in use) before the kill.
      await until(() => ackedNow() >= killAfter && inUseNow() > 0, `${killAfter} acknowledged deliveries, and the readers on both services meeting on the maildrop`);
      await (victim === 'a' ? p.a : p.b).kill();
      killed = true;
      const survivor = victim === 'a' ? 'b' : 'a';
      const before = ackedNow();
      // The survivor goes on serving: deliveries and sessions through it keep succeeding.
      await until(() => ackedNow() >= before + 10, `deliveries through ${survivor} after the kill`);
      const readerOfSurvivor = readers[survivor === 'a' ? 0 : 1] as PythonLines<unknown[]>;
      const quitsBefore = readerOfSurvivor.lines.filter((l) => l[0] === 'QUIT_OK').length;
      await until(() => readerOfSurvivor.lines.filter((l) => l[0] === 'QUIT_OK').length >= quitsBefore + 2, `sessions through ${survivor} after the kill`);
    } finally {
      for (const c of [...senders, ...readers]) c.child.kill('SIGTERM');
      await Promise.all([...senders, ...readers].map((c) => c.exited));
      if (killed) await p.restart(victim);
    }
    const acked = new Set(senders.flatMap((s) => s.lines.filter((l) => l[0] === 'ACK').map((l) => l[1] as string)));
    const confirmed = readers.flatMap((r) => r.lines.filter((l) => l[0] === 'QUIT_OK').flatMap((l) => l[1] as string[]));
    const deleted = new Set(confirmed);
    // Two sessions that both deleted one message held the maildrop at the same time.
    assert.equal(confirmed.length, deleted.size, `a message was deleted by two sessions: ${confirmed.filter((id, i) => confirmed.indexOf(id) !== i).join(', ')}`);
    for (const r of readers) assert.deepEqual(r.lines.filter((l) => l[0] === 'SERVER_ERR'), [], 'a session was refused a command (a message it listed vanished under it?)');
    const maybeDeleted = new Set(readers.flatMap((r) => r.lines.filter((l) => l[0] === 'QUITTING').flatMap((l) => l[1] as string[])));
    console.log(`# ${where}: ${acked.size} acknowledged, ${deleted.size} deletions confirmed, ${inUseNow()} log-ins refused as in use`);
    for (const port of [p.a.pop3Port, p.b.pop3Port]) {
      const got = await fetchIds(port, at('k9'));
      assert.deepEqual(got.bad, [], 'no message damaged');
      const seen = new Set<string>();
      for (const id of got.ids) {
        assert.ok(!seen.has(id), `message ${id} is there twice (port ${port})`);
        seen.add(id);
        assert.ok(!deleted.has(id), `message ${id} came back after its deletion was confirmed (port ${port})`);
      }
      for (const id of acked) assert.ok(seen.has(id) || maybeDeleted.has(id), `acknowledged message ${id} is lost (port ${port})`);
    }
  });
}

describe('two pop3svc on one mail folder', () => sharedStoreSuite(false));
describe('two pop3svc, one of them over sshfs', { skip: sshfsMissing ?? false }, () => sharedStoreSuite(true));

// --- mail and clients -------------------------------------------------------

/** Each message names itself and carries its body's checksum, so a damaged one is caught. */
const MESSAGE = `
def message(tag, i, rnd):
    body = ''.join('line %d of %s-%d %s\\r\\n' % (n, tag, i, 'x' * rnd.randint(0, 300)) for n in range(rnd.randint(1, 60)))
    digest = hashlib.sha256(body.encode()).hexdigest()
    return 'Subject: id-%s-%d\\r\\nX-Body-SHA256: %s\\r\\n\\r\\n%s' % (tag, i, digest, body)
`;

const SENDER = `
import hashlib, json, random, smtplib, sys
${MESSAGE}
port, tag, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rnd = random.Random(seed)
i = 0
while True:
    try:
        s = smtplib.SMTP('127.0.0.1', port, timeout=10)
        while True:
            s.sendmail('load@example.org', ['k9@${DOMAIN}'], message(tag, i, rnd))
            print(json.dumps(['ACK', '%s-%d' % (tag, i)]), flush=True)
            i += 1
    except Exception as e:
        print(json.dumps(['STOP', type(e).__name__]), flush=True)
        break
`;

/**
 * Logs in again and again, reads everything, deletes a few, QUITs; says
 * which deletions the server confirmed, and any command the server refused
 * in a session it had let in. Ends when its service no longer answers.
 */
const READER = `
import json, poplib, random, re, sys, time
port, user, password, seed = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
rnd = random.Random(seed)
while True:
    try:
        p = poplib.POP3('127.0.0.1', port, timeout=10)
    except Exception as e:
        print(json.dumps(['DOWN', type(e).__name__]), flush=True)
        break
    try:
        p.user(user)
        try:
            p.pass_(password)
        except poplib.error_proto as e:
            print(json.dumps(['IN_USE' if b'IN-USE' in e.args[0] else 'REFUSED', e.args[0].decode('latin-1')]), flush=True)
            p.close()
            time.sleep(0.01)
            continue
        count, _ = p.stat()
        # Held a little while, so that the two readers' sessions meet.
        time.sleep(rnd.uniform(0.02, 0.15))
        doomed = []
        for n in range(1, count + 1):
            lines = p.retr(n)[1]
            m = re.search(rb'Subject: id-(\\S+)', b'\\n'.join(lines))
            if m and rnd.random() < 0.3:
                p.dele(n)
                doomed.append(m.group(1).decode())
        print(json.dumps(['QUITTING', doomed]), flush=True)
        p.quit()
        print(json.dumps(['QUIT_OK', doomed]), flush=True)
    except poplib.error_proto as e:
        if e.args[0].startswith(b'-ERR EOF'):
            continue  # its service was killed: the next connect tells
        # The server refused a command of a session it had let in (a message gone under it).
        print(json.dumps(['SERVER_ERR', e.args[0].decode('latin-1')]), flush=True)
    except OSError:
        continue
`;


/** Sends `count` messages to dl@ through one SMTP listener; resolves to the acknowledged ids. */
async function sendBatch(port: number, tag: string, count: number, seed: number): Promise<string[]> {
  const out = await python<{ ack: string }>(
    `
import hashlib, random, smtplib
${MESSAGE}
rnd = random.Random(ARGS['seed'])
s = smtplib.SMTP('127.0.0.1', ARGS['port'], timeout=20)
for i in range(ARGS['count']):
    s.sendmail('load@example.org', ['dl@${DOMAIN}'], message(ARGS['tag'], i, rnd))
    print(json.dumps({'ack': '%s-%d' % (ARGS['tag'], i)}), flush=True)
s.quit()
`,
    { port, tag, count, seed },
    60_000,
  );
  return out.map((o) => o.ack);
}

/** Every message of a mailbox through one service, by id; `bad` lists those whose body does not match its checksum. */
async function fetchIds(port: number, address: string): Promise<{ ids: string[]; bad: string[] }> {
  const box = await popFetchAll(port, address, pw(address.slice(0, address.indexOf('@'))));
  if ('error' in box) throw new Error(`log-in through port ${port} failed: ${box.error}`);
  const ids: string[] = [];
  const bad: string[] = [];
  for (const message of box.messages) {
    const id = /Subject: id-(\S+)/.exec(message)?.[1] ?? '?';
    ids.push(id);
    const digest = /X-Body-SHA256: ([0-9a-f]{64})/.exec(message)?.[1];
    const body = `${message.slice(message.indexOf('\r\n\r\n') + 4)}\r\n`;
    if (digest !== createHash('sha256').update(Buffer.from(body, 'latin1')).digest('hex')) bad.push(id);
  }
  return { ids, bad };
}
