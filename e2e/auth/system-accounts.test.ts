/**
 * The System accounts method (auth 1) through real PAM and real OS accounts:
 * users made with useradd and chpasswd, checked by the authority through the
 * winpop-pam helper and the PAM service file the project ships. Right and
 * wrong passwords, unknown users, locked and expired accounts, root and
 * daemon accounts, hostile names, concurrency bounds, a broken or hanging PAM
 * stack, and a service without the privilege to read /etc/shadow.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { uidRangeFromLoginDefs } from '../../electron/service/auth/login-uid-range.js';
import { osUserNameProblem } from '../../electron/service/auth/os-user-name.js';
import { createSystemAccountsAuthority, systemAccountsStartupNotes, type SystemAccountsAuthority } from '../../electron/service/auth/system-accounts.js';
import { createOsUser, userEnv } from '../helpers/os-user.js';
import { REPO_ROOT } from '../helpers/processes.js';
import type { AuthorityVerdict } from '../../electron/service/auth/password-authority.js';
import { Accounts, sh, systemAccountsSkip } from './system-accounts-support.js';

const skip = systemAccountsSkip();
if (skip) console.log(`skipping the System accounts tests: ${skip}`);

const PASSWORD = 'Right-Horse-42';
const accounts = new Accounts();
const authorities: SystemAccountsAuthority[] = [];
let service = '';
let alice = '';

const at = (mailbox: string) => ({ mailbox, domain: 'example.com', address: `${mailbox}@example.com` });

function authority(options: Parameters<typeof createSystemAccountsAuthority>[0] = {}): SystemAccountsAuthority {
  const made = createSystemAccountsAuthority({ service, ...options });
  authorities.push(made);
  return made;
}

/** The verdict and how long it took, in ms. */
async function timed(a: SystemAccountsAuthority, mailbox: string, password: string): Promise<{ v: AuthorityVerdict; ms: number }> {
  const started = performance.now();
  const v = await a.verify(at(mailbox), password);
  return { v, ms: performance.now() - started };
}

/** This process's children running the PAM helper, read from /proc. */
async function helperChildren(): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const match = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
    if (match && match[1] === 'winpop-pam' && Number(match[2]) === process.pid) found.push(Number(entry));
  }
  return found;
}

/** The processes running exactly this command line. */
async function processesRunning(argv: readonly string[]): Promise<number[]> {
  const wanted = `${argv.join('\0')}\0`;
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if ((await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')) === wanted) found.push(Number(entry));
  }
  return found;
}

describe('which accounts may log in', () => {
  it('takes the log-in range from login.defs, ignoring comments, and never lets uid 0 in', () => {
    assert.deepEqual(uidRangeFromLoginDefs('# UID_MIN 5\nUID_MIN\t\t 2000\nUID_MAX 3000 # people\n'), { min: 2000, max: 3000 });
    assert.deepEqual(uidRangeFromLoginDefs('MAIL_DIR /var/mail\n'), { min: 1000, max: 60000 });
    assert.deepEqual(uidRangeFromLoginDefs('UID_MIN 0\n'), { min: 1000, max: 60000 });
    assert.deepEqual(uidRangeFromLoginDefs('UID_MIN 5000\nUID_MAX 4000\n'), { min: 1000, max: 60000 });
  });

  it('maps only plain lower-case OS user names', () => {
    for (const name of ['alice', 'a', '_svc', 'j.doe', 'user-1', 'x'.repeat(32)]) assert.equal(osUserNameProblem(name), null, name);
    for (const name of ['', 'Alice', '-rf', '.hidden', '1abc', 'a..b', 'a b', 'a/b', 'a*', 'a\0', 'a$', 'ü', 'x'.repeat(33)]) {
      assert.notEqual(osUserNameProblem(name), null, JSON.stringify(name));
    }
  });
});

describe('System accounts through real PAM', { skip: skip || false }, () => {
  before(async () => {
    service = await accounts.shippedPamService();
    alice = await accounts.add('right and wrong passwords', PASSWORD);
  });

  after(async () => {
    for (const a of authorities) await a.close();
    await accounts.cleanUp();
  });

  it('takes the right password of a person\'s account, with the shipped PAM service file', async () => {
    const { v } = await timed(authority(), alice, PASSWORD);
    assert.deepEqual(v, { verdict: 'ok' });
  });

  it('without a file in /etc/pam.d for its service, is answered by PAM\'s "other" service (Debian\'s: the common stacks)', async (t) => {
    const other = await readFile('/etc/pam.d/other', 'utf8').catch(() => '');
    if (!/^@include common-auth/m.test(other)) {
      t.skip('this system\'s /etc/pam.d/other is not Debian\'s (it may deny every log-in, as Fedora\'s does)');
      return;
    }
    const missing = `winpop-test-none-${process.pid}`;
    assert.ok(systemAccountsStartupNotes({ service: missing }).some((note) => note.includes(`There is no /etc/pam.d/${missing}`)));
    const a = authority({ service: missing });
    assert.deepEqual(await a.verify(at(alice), PASSWORD), { verdict: 'ok' });
    assert.equal((await a.verify(at(alice), 'Wrong-Horse-42')).verdict, 'bad');
  });

  it('refuses a wrong password and an unknown user alike: same verdict, same order of magnitude of time', async () => {
    const a = authority();
    const wrong = await timed(a, alice, 'Wrong-Horse-42');
    const unknown = await timed(a, 'wpsanosuchuser', 'Wrong-Horse-42');
    console.log(`wrong password: ${wrong.ms.toFixed(0)} ms (${wrong.v.verdict}); unknown user: ${unknown.ms.toFixed(0)} ms (${unknown.v.verdict})`);
    assert.equal(wrong.v.verdict, 'bad');
    assert.equal(unknown.v.verdict, 'bad');
    assert.ok(unknown.ms * 10 > wrong.ms && wrong.ms * 10 > unknown.ms, `not the same order of magnitude: wrong ${wrong.ms} ms, unknown ${unknown.ms} ms`);
  });

  it('refuses a locked account with its right password, and takes it again once unlocked', async () => {
    const name = await accounts.add('a locked account', PASSWORD);
    const a = authority();
    assert.equal((await a.verify(at(name), PASSWORD)).verdict, 'ok');
    assert.equal((await sh('usermod', ['-L', name])).code, 0);
    assert.equal((await a.verify(at(name), PASSWORD)).verdict, 'bad');
    assert.equal((await sh('usermod', ['-U', name])).code, 0);
    assert.equal((await a.verify(at(name), PASSWORD)).verdict, 'ok');
  });

  it('refuses an expired account with its right password (PAM\'s account check)', async () => {
    const name = await accounts.add('an expired account', PASSWORD);
    const a = authority();
    assert.equal((await a.verify(at(name), PASSWORD)).verdict, 'ok');
    assert.equal((await sh('usermod', ['-e', '1', name])).code, 0);
    const v = await a.verify(at(name), PASSWORD);
    assert.equal(v.verdict, 'bad');
    assert.match(v.verdict === 'bad' ? (v.detail ?? '') : '', /pam_acct_mgmt/);
  });

  it('refuses root and a daemon account before PAM sees their password, answering as slowly as a wrong password', async () => {
    const daemon = await accounts.add('a system (daemon) account', PASSWORD, true);
    const a = authority();
    const root = await timed(a, 'root', 'anything');
    assert.equal(root.v.verdict, 'bad');
    assert.match(root.v.verdict === 'bad' ? (root.v.detail ?? '') : '', /uid 0 is outside the log-in range/);
    const system = await timed(a, daemon, PASSWORD);
    assert.equal(system.v.verdict, 'bad', 'a daemon account logged in with its right password');
    assert.match(system.v.verdict === 'bad' ? (system.v.detail ?? '') : '', /outside the log-in range/);
    const wrong = await timed(a, alice, 'Wrong-Horse-42');
    console.log(`root: ${root.ms.toFixed(0)} ms, daemon with right password: ${system.ms.toFixed(0)} ms, wrong password: ${wrong.ms.toFixed(0)} ms`);
    assert.ok(system.ms * 10 > wrong.ms && wrong.ms * 10 > system.ms, `a refused account answers in ${system.ms} ms, a wrong password in ${wrong.ms} ms`);
  });

  it('refuses names that are not OS user names without running PAM', async () => {
    const a = authority();
    for (const name of ['*', 'a*', 'a/b', '..', '../etc', 'a..b', 'a\0b', `${alice}\0`, 'a b', ' ', '-rf', 'Alice', 'a$', 'a:b', 'é', 'x'.repeat(33), '']) {
      const v = await a.verify(at(name), PASSWORD);
      assert.equal(v.verdict, 'bad', `${JSON.stringify(name)} got ${v.verdict}`);
      assert.match(v.verdict === 'bad' ? (v.detail ?? '') : '', /OS user name/, JSON.stringify(name));
    }
    // A NUL in the password would cut it short in PAM: refused, not truncated.
    assert.equal((await a.verify(at(alice), `${PASSWORD}\0tail`)).verdict, 'bad');
    assert.equal((await a.verify(at(alice), '')).verdict, 'bad');
  });

  it('runs at most maxConcurrent helpers, however many checks come at once, and answers each right', async () => {
    const a = authority({ maxConcurrent: 3, timeoutMs: 60_000 });
    let most = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        most = Math.max(most, (await helperChildren()).length);
        await sleep(5);
      }
    })();
    const checks = Array.from({ length: 18 }, (_, i) => a.verify(at(alice), i % 2 === 0 ? PASSWORD : `wrong-${i}`));
    const verdicts = await Promise.all(checks);
    watching = false;
    await watcher;
    console.log(`18 checks at once: at most ${most} helpers seen running (bound 3)`);
    assert.deepEqual(verdicts.map((v) => v.verdict), Array.from({ length: 18 }, (_, i) => (i % 2 === 0 ? 'ok' : 'bad')));
    assert.ok(most <= 3, `${most} helpers ran at once`);
    assert.ok(most >= 2, 'the checks never ran side by side');
    assert.equal(a.running(), 0);
  });

  it('answers unavailable at once when the queue is full, and the queued ones in turn', async () => {
    const a = authority({ maxConcurrent: 1, maxWaiting: 2, timeoutMs: 60_000 });
    const verdicts = await Promise.all(Array.from({ length: 6 }, () => a.verify(at(alice), 'Wrong-Horse-42')));
    assert.deepEqual(verdicts.map((v) => v.verdict), ['bad', 'bad', 'bad', 'unavailable', 'unavailable', 'unavailable']);
    assert.match(verdicts[5]?.verdict === 'unavailable' ? verdicts[5].detail : '', /waiting/);
  });

  it('answers unavailable, not bad, when the PAM stack is broken', async () => {
    const broken = await accounts.pamService('auth required pam_winpop_no_such_module.so\naccount required pam_permit.so\n');
    const v = await authority({ service: broken }).verify(at(alice), PASSWORD);
    assert.equal(v.verdict, 'unavailable', JSON.stringify(v));
  });

  it('answers unavailable within its timeout when PAM hangs, and leaves no helper behind', async (t) => {
    // A duration of its own, to find this sleep among the machine's processes.
    const sleeper = ['/bin/sleep', `300.${process.pid}`];
    // pam_exec starts the sleep in a session of its own, out of the helper's reach: the test ends it, whatever happens.
    t.after(async () => {
      for (const pid of await processesRunning(sleeper)) process.kill(pid, 'SIGKILL');
    });
    const hanging = await accounts.pamService(`auth required pam_exec.so ${sleeper.join(' ')}\naccount required pam_permit.so\n`);
    const a = authority({ service: hanging, timeoutMs: 1500 });
    const pending = a.verify(at(alice), PASSWORD);
    while ((await processesRunning(sleeper)).length === 0) await sleep(10);
    const v = await pending;
    assert.equal(v.verdict, 'unavailable');
    assert.match(v.verdict === 'unavailable' ? v.detail : '', /did not answer within \d+ ms/);
    assert.equal(a.running(), 0);
    const since = performance.now();
    while ((await helperChildren()).length > 0) {
      assert.ok(performance.now() - since < 30_000, 'the hanging helper still runs 30 s after the timeout');
      await sleep(20);
    }

  });

  it('closing ends a hanging check and every queued one at once, as unavailable, and refuses new ones', async (t) => {
    const sleeper = ['/bin/sleep', `301.${process.pid}`];
    t.after(async () => {
      for (const pid of await processesRunning(sleeper)) process.kill(pid, 'SIGKILL');
    });
    const hanging = await accounts.pamService(`auth required pam_exec.so ${sleeper.join(' ')}\naccount required pam_permit.so\n`);
    const a = authority({ service: hanging, timeoutMs: 30_000, maxConcurrent: 1 });
    const pending = [a.verify(at(alice), PASSWORD), a.verify(at(alice), PASSWORD)];
    while ((await processesRunning(sleeper)).length === 0) await sleep(10);
    await a.close();
    const verdicts = await Promise.all(pending);
    assert.deepEqual(verdicts.map((v) => v.verdict), ['unavailable', 'unavailable']);
    for (const v of verdicts) assert.match(v.verdict === 'unavailable' ? v.detail : '', /closed/, JSON.stringify(v));
    assert.equal((await a.verify(at(alice), PASSWORD)).verdict, 'unavailable');
    while ((await helperChildren()).length > 0) await sleep(20);
  });

  it('answers unavailable, saying what to build, when the helper is missing', async () => {
    const v = await authority({ helperPath: path.join(REPO_ROOT, 'dist', 'no-such-winpop-pam') }).verify(at(alice), PASSWORD);
    assert.equal(v.verdict, 'unavailable');
    assert.match(v.verdict === 'unavailable' ? v.detail : '', /npm run build:pam/);
  });

  it('run as an unprivileged user, refuses every other account and says why; in the shadow group, takes them', async () => {
    const runner = await createOsUser('a service without access to /etc/shadow');
    try {
      const module = pathToFileURL(path.join(REPO_ROOT, 'dist', 'electron', 'service', 'auth', 'system-accounts.js')).href;
      const script = `import(${JSON.stringify(module)}).then(async (m) => {
        const a = m.createSystemAccountsAuthority({ service: ${JSON.stringify(service)} });
        const v = await a.verify({ mailbox: ${JSON.stringify(alice)}, domain: 'example.com', address: 'x' }, ${JSON.stringify(PASSWORD)});
        console.log(JSON.stringify({ ...v, notes: m.systemAccountsStartupNotes({ service: ${JSON.stringify(service)} }) }));
        await a.close();
      })`;
      const asUser = async (gid: number): Promise<AuthorityVerdict & { notes: string[] }> => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { uid: runner.uid, gid, cwd: '/', env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
        const code = await new Promise((resolve) => child.on('close', resolve));
        assert.equal(code, 0, err);
        return JSON.parse(out) as AuthorityVerdict & { notes: string[] };
      };
      const plain = await asUser(runner.gid);
      assert.equal(plain.verdict, 'bad');
      assert.match(plain.verdict === 'bad' ? (plain.detail ?? '') : '', /cannot read \/etc\/shadow.*"shadow" group/);
      assert.ok(plain.notes.some((note) => /cannot read \/etc\/shadow/.test(note)), JSON.stringify(plain.notes));
      const shadowGid = Number((await sh('getent', ['group', 'shadow'])).stdout.split(':')[2]);
      assert.ok(shadowGid > 0, 'no shadow group here');
      const inShadow = await asUser(shadowGid);
      assert.equal(inShadow.verdict, 'ok', JSON.stringify(inShadow));
      assert.ok(!inShadow.notes.some((note) => /shadow/.test(note)), JSON.stringify(inShadow.notes));
    } finally {
      await runner.remove();
    }
  });
});
