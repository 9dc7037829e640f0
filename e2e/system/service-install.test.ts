/**
 * `pop3svc install`, `status` and `uninstall` on Linux, as root, against a
 * unit folder and a store in a temp folder: the user it creates, the unit
 * (checked by systemd-analyze verify), and the unit's own ExecStart run as
 * that user with setpriv, serving POP3 and SMTP on high ports while root's
 * and the user's winpop reach it through the control channel. PID 1 here
 * need not be systemd, so systemctl is never what is tested; the unit's
 * sandbox itself is not run (systemd would apply it).
 *
 * A checkout in a home folder (CI may clone into /root) is out of that
 * user's reach, as it would be out of the service's: then pop3svc, its built
 * files and its production packages are copied into the test's temp folder
 * and installed from there, as from the deb or a global npm install.
 */

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../helpers/free-port.js';
import { osUserSkip } from '../helpers/os-user.js';
import { POP3SVC, REPO_ROOT, run, winpop, WINPOP } from '../helpers/processes.js';
import { popFetchAll, smtpSend } from '../helpers/python.js';
import { copyServiceFiles, homeFolderOf } from '../helpers/service-copy.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { which } from '../helpers/tools.js';

/** Node in a home folder is out of the service's reach (ProtectHome=yes, and /root is private): install refuses it, and it cannot be copied out as the checkout can. */
function nodeUnreachable(): string | false {
  for (const p of new Set([process.execPath, realpathSync(process.execPath)])) {
    const home = homeFolderOf(p);
    if (home) return `node (${p}) is under ${home}, which a system service cannot see and its user cannot read; run these tests with a node installed outside home folders (/usr/bin/node, /usr/local/bin/node, …)`;
  }
  return false;
}

/** The home folder the checkout or its node_modules (followed through links) is in, or null when the service's user can reach them in place. */
function checkoutInHome(): string | null {
  const modules = path.join(REPO_ROOT, 'node_modules');
  for (const p of [REPO_ROOT, realpathSync(REPO_ROOT), ...(existsSync(modules) ? [realpathSync(modules)] : [])]) {
    const home = homeFolderOf(p);
    if (home) return `${p} is under ${home}`;
  }
  return null;
}

const skip = osUserSkip() || (process.platform === 'linux' ? false : 'systemd units are Linux only') || nodeUnreachable();

let dir: TempDir;
let unitDir: string;
let config: string;
let mailroot: string;
let user: string;
let pop3Port: number;
let smtpPort: number;
let service: ChildProcess | undefined;
let serviceOut = '';
/** pop3svc and winpop as installed: the checkout's, or their copy outside home folders. */
let pop3svcProgram = POP3SVC;
let winpopProgram = WINPOP;

const unitFile = (): string => path.join(unitDir, 'winpop.service');
const pop3svc = (args: readonly string[], as?: { uid: number; gid: number }) =>
  run(process.execPath, [pop3svcProgram, ...args], { timeoutMs: 120_000, ...(as ? { as: { ...as, cwd: '/' }, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/' } } : {}) });
const installArgs = (): string[] => ['--user', user, '--config', config, '--unit-dir', unitDir];

async function idOf(name: string): Promise<{ uid: number; gid: number } | null> {
  const uid = await run('id', ['-u', name]);
  if (uid.code !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number((await run('id', ['-g', name])).stdout.trim()) };
}

/** The words of an Exec line, as systemd.syntax(7) splits them (double quotes, backslash escapes). */
function execWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    let word = '';
    if (line[i] === '"') {
      for (i++; i < line.length && line[i] !== '"'; i++) word += line[i] === '\\' ? line[++i] : line[i];
      i++;
    } else {
      for (; i < line.length && line[i] !== ' '; i++) word += line[i];
    }
    words.push(word.replace(/\$\$/g, '$').replace(/%%/g, '%'));
  }
  return words;
}

function setting(unit: string, key: string): string {
  const found = new RegExp(`^${key}=(.*)$`, 'm').exec(unit);
  assert.ok(found, `the unit has no ${key}=:\n${unit}`);
  return found[1] as string;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`${what} did not happen within ${ms / 1000} s; the service printed:\n${serviceOut}`);
    await sleep(50);
  }
}

before(async () => {
  if (skip) return;
  dir = await tempDir('winpop-install-');
  // The service's user must be able to reach its mail root and config through this folder.
  await fs.chmod(dir.path, 0o755);
  unitDir = path.join(dir.path, 'units');
  config = path.join(dir.path, 'etc', 'config.json');
  mailroot = path.join(dir.path, 'mail');
  // Random only so that parallel runs never collide; printed, and nothing depends on it.
  user = `winpop-t${randomBytes(4).toString('hex')}`;
  console.log(`service user for this run: ${user}`);
  pop3Port = await freePort();
  smtpPort = await freePort();
  const pop3sPort = await freePort();
  await fs.mkdir(path.dirname(config), { recursive: true });
  await fs.writeFile(config, JSON.stringify({ mailroot, port: pop3Port, smtpPort, pop3sPort, listen: ['127.0.0.1'], logging: 2 }));
  const inHome = checkoutInHome();
  if (inHome) {
    const app = path.join(realpathSync(dir.path), 'app');
    const packages = await copyServiceFiles(REPO_ROOT, app);
    pop3svcProgram = path.join(app, 'bin', 'pop3svc.js');
    winpopProgram = path.join(app, 'bin', 'winpop.js');
    console.log(`the checkout (${inHome}) is out of the service user's reach: installing from a copy in ${app} (bin, dist, package.json and ${packages.length} production packages: ${packages.join(', ')})`);
  }
});

after(async () => {
  if (service && service.exitCode === null && service.signalCode === null) {
    const exited = new Promise((resolve) => service?.once('exit', resolve));
    service.kill('SIGTERM');
    await exited;
  }
  // userdel refuses while another test's useradd holds /etc/passwd's lock: tried again for a while.
  for (let attempt = 0; user && attempt < 20 && (await idOf(user)); attempt++) {
    const removed = await run('userdel', [user]);
    if (removed.code !== 0) await sleep(100 * (attempt + 1));
  }
  await dir?.remove();
});

test('install refuses, saying so, when not run as root, and changes nothing', { skip }, async () => {
  const nobody = await idOf('nobody');
  assert.ok(nobody, 'the system has no user nobody to try as');
  const refused = await pop3svc(['install', ...installArgs()], nobody);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /must run as root.*sudo pop3svc install/s);
  assert.equal(existsSync(unitDir), false, 'a refused install wrote the unit folder');
  assert.equal(await idOf(user), null, 'a refused install made the user');
});

test("install refuses a mail root the service or root's winpop could not reach: its socket path too long, or in a home folder", { skip }, async () => {
  const deep = path.join(dir.path, 'a-mail-root-with-a-long-path'.repeat(4));
  const refused = await pop3svc(['install', ...installArgs(), '--mailroot', deep]);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /too long for its control socket.*--mailroot/s);
  assert.equal(existsSync(unitDir), false, 'a refused install wrote the unit');
  assert.equal(existsSync(deep), false, 'a refused install made the mail root');
  assert.equal(await idOf(user), null, 'a refused install made the user');

  // ProtectHome=yes would hide a mail root in a home folder from the service.
  const hidden = await pop3svc(['install', ...installArgs(), '--mailroot', `/home/${user}/mail`]);
  assert.equal(hidden.code, 1, hidden.stdout + hidden.stderr);
  assert.match(hidden.stderr, /under \/home, which the service cannot see/);
  assert.equal(existsSync(unitDir), false, 'a refused install wrote the unit');
});

test('status before install: exit 4, not installed', { skip }, async () => {
  const status = await pop3svc(['status', ...installArgs()]);
  assert.equal(status.code, 4, status.stdout + status.stderr);
  assert.match(status.stdout, /unit: not installed/);
});

test('install makes the user, gives it the store and the config, and writes a unit systemd-analyze accepts', { skip }, async () => {
  const installed = await pop3svc(['install', ...installArgs()]);
  assert.equal(installed.code, 0, installed.stdout + installed.stderr);
  assert.match(installed.stdout, new RegExp(`created system user ${user}`));
  assert.match(installed.stdout, /systemd is not running|enabled and started/);

  const ids = await idOf(user);
  assert.ok(ids, `install did not make the user ${user}`);
  const entry = (await fs.readFile('/etc/passwd', 'utf8')).split('\n').find((line) => line.startsWith(`${user}:`)) ?? '';
  const [, , uid, , , home, shell] = entry.split(':');
  assert.ok(Number(uid) < 1000, `${user} is not a system account (uid ${uid})`);
  assert.match(shell ?? '', /nologin|false/, `${user} can log in: shell ${shell}`);
  assert.equal(home, '/nonexistent');
  for (const owned of [mailroot, path.dirname(config), config]) {
    const info = await fs.stat(owned);
    assert.equal(info.uid, ids.uid, `${owned} does not belong to ${user}`);
  }
  assert.equal((await fs.stat(mailroot)).mode & 0o077, 0, 'the mail root is open to other users');

  const unit = await fs.readFile(unitFile(), 'utf8');
  assert.equal(setting(unit, 'User'), user);
  assert.equal(setting(unit, 'AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
  assert.equal(setting(unit, 'CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
  assert.equal(setting(unit, 'Restart'), 'on-failure');
  assert.equal(setting(unit, 'NoNewPrivileges'), 'yes');
  assert.equal(setting(unit, 'ProtectSystem'), 'strict');
  assert.equal(setting(unit, 'ProtectHome'), 'yes');
  assert.equal(setting(unit, 'PrivateTmp'), 'yes');
  assert.deepEqual(execWords(setting(unit, 'ReadWritePaths')).sort(), [path.dirname(config), mailroot].sort());

  const analyze = await which('systemd-analyze');
  if (analyze === null) {
    assert.ok(process.env.CI !== 'true', 'systemd-analyze is missing (apt-get install systemd); under CI=true that is a failure');
    console.log('systemd-analyze is not installed (apt-get install systemd): the unit was not verified');
    return;
  }
  const verify = await run(analyze, ['verify', unitFile()], { timeoutMs: 60_000 });
  // verify exits 0 even for keys it ignores: anything it prints is a defect too.
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal(`${verify.stdout}${verify.stderr}`.trim(), '', 'systemd-analyze verify complained');
});

test("the unit's ExecStart, run as the service's user, serves POP3 and SMTP and answers root's and the user's winpop", { skip }, async () => {
  const ids = await idOf(user);
  assert.ok(ids);
  const unit = await fs.readFile(unitFile(), 'utf8');
  const command = execWords(setting(unit, 'ExecStart'));
  assert.ok(command.length >= 2 && path.isAbsolute(command[0] as string), `ExecStart is not an absolute command: ${command.join(' ')}`);
  assert.equal(command[1], realpathSync(pop3svcProgram), 'ExecStart runs another pop3svc than the one install was run from');
  // As systemd would run it: that user and group, no other groups, no way to gain privileges.
  service = spawn('setpriv', ['--reuid', String(ids.uid), '--regid', String(ids.gid), '--clear-groups', '--no-new-privs', '--', ...command], {
    cwd: '/',
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service.stdout?.on('data', (d: Buffer) => (serviceOut += d.toString('utf8')));
  service.stderr?.on('data', (d: Buffer) => (serviceOut += d.toString('utf8')));
  await waitFor('the ready line', () => {
    if (service?.exitCode !== null) assert.fail(`the service ended (exit ${service?.exitCode}):\n${serviceOut}`);
    return /pop3svc ready/.test(serviceOut);
  });
  assert.match(serviceOut, new RegExp(`pop3=127\\.0\\.0\\.1:${pop3Port}`));

  // setpriv execs the command in its own process: the pid is the service's.
  const running = Number((await run('ps', ['-o', 'uid=', '-p', String(service.pid)])).stdout.trim());
  assert.equal(running, ids.uid, `the service runs as uid ${running}, not ${user}`);

  // Root's winpop, with the config only, finds the service through the socket in the mail root.
  const asRoot = (...args: string[]) => winpop(['--config', config, ...args]);
  for (const args of [['add', 'example.com'], ['add', 'alice@example.com', '/createuser', '-']]) {
    const result = await winpop(['--config', config, ...args], { input: 'Service-Pass-1\n' });
    assert.equal(result.code, 0, `winpop ${args.join(' ')}: ${result.stderr}`);
  }
  // Made by the service, not by root on the store: the domain folder is the service user's.
  assert.equal((await fs.stat(path.join(mailroot, 'example.com'))).uid, ids.uid, "winpop as root changed the store itself instead of asking the service");

  await smtpSend(smtpPort, 'bob@example.org', ['alice@example.com'], 'Subject: hello\r\n\r\nfrom the system service\r\n');
  const mailbox = await popFetchAll(pop3Port, 'alice@example.com', 'Service-Pass-1');
  assert.ok(!('error' in mailbox), `poplib log-in failed: ${'error' in mailbox ? mailbox.error : ''}`);
  assert.equal(mailbox.count, 1);
  assert.match(mailbox.messages[0] ?? '', /from the system service/);

  // The service's own user administers it too, with the same config.
  const asUser = await run(process.execPath, [winpopProgram, '--config', config, 'list', 'example.com'], { as: { ...ids, cwd: '/' }, env: { PATH: process.env.PATH ?? '/usr/bin', HOME: '/' } });
  assert.equal(asUser.code, 0, asUser.stderr);
  assert.match(asUser.stdout, /alice/);
  const locked = await asRoot('lock', 'alice@example.com');
  assert.equal(locked.code, 0, locked.stderr);

  const status = await pop3svc(['status', ...installArgs()]);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.match(status.stdout, /control channel: answering at /);
});

test('install again changes nothing; an edited unit is kept unless --force', { skip }, async () => {
  const before = await fs.readFile(unitFile(), 'utf8');
  const again = await pop3svc(['install', ...installArgs()]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /up to date/);
  assert.match(again.stdout, new RegExp(`user ${user} exists`));
  assert.equal(await fs.readFile(unitFile(), 'utf8'), before);

  const edited = before.replace('RestartSec=5s', 'RestartSec=30s');
  await fs.writeFile(unitFile(), edited);
  const refused = await pop3svc(['install', ...installArgs()]);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /was changed since pop3svc wrote it.*--force/s);
  assert.equal(await fs.readFile(unitFile(), 'utf8'), edited, 'install replaced a unit the administrator edited');

  const forced = await pop3svc(['install', '--force', ...installArgs()]);
  assert.equal(forced.code, 0, forced.stdout + forced.stderr);
  assert.equal(await fs.readFile(unitFile(), 'utf8'), before);
  assert.equal(await fs.readFile(`${unitFile()}.bak`, 'utf8'), edited);
});

test('status with the service stopped: exit 3; uninstall removes the unit and leaves the mail root, the config and the user', { skip }, async () => {
  if (service && service.exitCode === null) {
    const exited = new Promise((resolve) => service?.once('exit', resolve));
    service.kill('SIGTERM');
    await exited;
  }
  const status = await pop3svc(['status', ...installArgs()]);
  assert.equal(status.code, 3, status.stdout + status.stderr);

  const removed = await pop3svc(['uninstall', ...installArgs()]);
  assert.equal(removed.code, 0, removed.stdout + removed.stderr);
  assert.match(removed.stdout, /left in place: the mail root/);
  assert.equal(existsSync(unitFile()), false);
  assert.ok(existsSync(path.join(mailroot, 'example.com', 'alice')), 'uninstall removed mail');
  assert.ok(existsSync(config));
  assert.ok(await idOf(user), 'uninstall removed the user');
});
