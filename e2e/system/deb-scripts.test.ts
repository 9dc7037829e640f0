/**
 * The deb's system service, tested without building the deb (electron-builder
 * cannot fetch Electron here): electron-builder's own loader and schema accept
 * electron-builder.yml with the maintainer scripts, the unpacked files and the
 * unit; the unit the deb ships is the one pop3svc generates and passes
 * systemd-analyze verify; and the postinst and postrm, with their macros
 * filled in as electron-builder does, run against a temp root ($DPKG_ROOT,
 * as dpkg --root gives them): the user, folders and unit appear, the unit
 * disabled; a second run (an upgrade) changes nothing; removal takes the unit
 * and the commands and leaves the mail root, the config and the user.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { packagedSystemdUnit } from '../../electron/service/system/systemd-unit.js';
import { osUserSkip } from '../helpers/os-user.js';
import { REPO_ROOT, run } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { which } from '../helpers/tools.js';

const builderRequire = createRequire(createRequire(import.meta.url).resolve('electron-builder'));
const libRequire = createRequire(builderRequire.resolve('app-builder-lib'));
const configLib = libRequire('app-builder-lib/out/util/config/config.js') as {
  getConfig(projectDir: string, configPath: string | null, options: null): Promise<Record<string, unknown>>;
  validateConfiguration(config: Record<string, unknown>, debug: { isEnabled: boolean; add(): void }): Promise<void>;
};

/** What electron-builder calls the product folder and the console's command (package.json, electron-builder.yml). */
const MACROS: Record<string, string> = { sanitizedProductName: 'POP3 Service', executable: 'pop3-service', productFilename: 'POP3 Service' };
const APP = `/opt/${MACROS.sanitizedProductName}`;

const skip = osUserSkip() || (process.platform === 'linux' ? false : 'the deb is Linux only');

let dir: TempDir;
let root: string;
let config: Record<string, unknown>;

/** Fills in the macros as electron-builder's writeConfigFile does, failing on one it would not know. */
async function script(name: string): Promise<string> {
  const text = await fs.readFile(path.join(REPO_ROOT, 'build', 'linux', name), 'utf8');
  const filled = text.replace(/\$\{([a-zA-Z]+)\}/g, (_, macro: string) => {
    const value = MACROS[macro];
    if (value === undefined) assert.fail(`${name} uses \${${macro}}, which electron-builder does not define: it would fail the build`);
    return value;
  });
  const file = path.join(dir.path, name);
  await fs.writeFile(file, filled, { mode: 0o755 });
  return file;
}

const maintainer = async (name: string, ...args: string[]) => run('bash', [await script(name), ...args], { env: { ...process.env, DPKG_ROOT: root }, timeoutMs: 60_000 });

const passwdEntry = async (user: string): Promise<string[] | null> =>
  (await fs.readFile(path.join(root, 'etc', 'passwd'), 'utf8'))
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === user) ?? null;

before(async () => {
  dir = await tempDir('winpop-deb-');
  root = path.join(dir.path, 'root');
  config = await configLib.getConfig(REPO_ROOT, null, null);
  if (skip) return;
  // What dpkg would have unpacked, and the account files useradd --prefix works on.
  await fs.mkdir(path.join(root, 'etc'), { recursive: true });
  for (const file of ['passwd', 'group', 'shadow', 'gshadow', 'login.defs']) {
    if (existsSync(`/etc/${file}`)) await fs.copyFile(`/etc/${file}`, path.join(root, 'etc', file));
  }
  // A machine that has a winpop user already would hide the creation: the test root starts without one.
  for (const file of ['passwd', 'group', 'shadow', 'gshadow']) {
    const target = path.join(root, 'etc', file);
    if (!existsSync(target)) continue;
    const kept = (await fs.readFile(target, 'utf8')).split('\n').filter((line) => !line.startsWith('winpop:'));
    await fs.writeFile(target, kept.join('\n'));
  }
  const resources = path.join(root, APP, 'resources');
  await fs.mkdir(path.join(resources, 'app.asar.unpacked', 'bin'), { recursive: true });
  await fs.copyFile(path.join(REPO_ROOT, 'build', 'linux', 'winpop.service'), path.join(resources, 'winpop.service'));
  for (const bin of ['pop3svc.js', 'winpop.js']) await fs.copyFile(path.join(REPO_ROOT, 'bin', bin), path.join(resources, 'app.asar.unpacked', 'bin', bin));
});

after(async () => {
  await dir?.remove();
});

test("electron-builder's loader and schema accept the deb's service parts", async () => {
  await configLib.validateConfiguration(config, { isEnabled: false, add(): void {} });
  const deb = config.deb as Record<string, unknown>;
  const linux = config.linux as Record<string, unknown>;
  assert.equal(deb.afterInstall, 'build/linux/after-install.sh');
  assert.equal(deb.afterRemove, 'build/linux/after-remove.sh');
  assert.deepEqual(linux.extraResources, [{ from: 'build/linux/winpop.service', to: 'winpop.service' }]);
  for (const unpacked of ['package.json', 'bin/**', 'dist/electron/service/**', 'dist/electron/cli/**', 'dist/shared/**', 'node_modules/**']) {
    assert.ok((linux.asarUnpack as string[]).includes(unpacked), `linux.asarUnpack lacks ${unpacked}: plain node could not load pop3svc`);
  }
  // The loader turns the list into file sets: { filter: [...] }.
  const files = (config.files as (string | { filter: string[] })[]).flatMap((set) => (typeof set === 'string' ? [set] : set.filter));
  for (const bin of ['bin/pop3svc.js', 'bin/winpop.js']) assert.ok(files.includes(bin), `files lacks ${bin}`);
  for (const file of ['after-install.sh', 'after-remove.sh', 'winpop.service']) assert.ok(existsSync(path.join(REPO_ROOT, 'build', 'linux', file)), `build/linux/${file} is missing`);
});

test('the files unpacked beside app.asar are all pop3svc and winpop load: plain node runs them from a copy of just those', async () => {
  const linux = config.linux as Record<string, unknown>;
  const unpacked = path.join(dir.path, 'app.asar.unpacked');
  await fs.mkdir(unpacked, { recursive: true });
  for (const pattern of linux.asarUnpack as string[]) {
    // node_modules/**: every production dependency; the checkout's node_modules stands in for them.
    if (pattern === 'node_modules/**') {
      await fs.symlink(path.join(REPO_ROOT, 'node_modules'), path.join(unpacked, 'node_modules'));
      continue;
    }
    const from = path.join(REPO_ROOT, pattern.replace(/\/\*\*$/, ''));
    await fs.cp(from, path.join(unpacked, path.relative(REPO_ROOT, from)), { recursive: true });
  }
  // Static imports are resolved before anything runs: a module outside the copy fails here.
  const svc = await run(process.execPath, [path.join(unpacked, 'bin', 'pop3svc.js'), 'install', '--help']);
  assert.equal(svc.code, 0, svc.stderr);
  assert.match(svc.stdout, /pop3svc install/);
  const cli = await run(process.execPath, [path.join(unpacked, 'bin', 'winpop.js'), 'help', 'set', 'logging']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /0 none/);
});

test('the unit the deb ships is the one pop3svc generates, and systemd-analyze verify accepts it', async (t) => {
  const shipped = await fs.readFile(path.join(REPO_ROOT, 'build', 'linux', 'winpop.service'), 'utf8');
  assert.equal(shipped, packagedSystemdUnit(), 'build/linux/winpop.service differs from packagedSystemdUnit(): regenerate it');
  assert.match(shipped, /^ExecStart=\/usr\/bin\/node \/usr\/bin\/pop3svc --config \/etc\/winpop\/config\.json$/m);
  const analyze = await which('systemd-analyze');
  if (analyze === null) {
    if (process.env.CI === 'true') assert.fail('systemd-analyze is missing (apt-get install systemd)');
    t.skip('systemd-analyze is not installed (apt-get install systemd)');
    return;
  }
  let verified = path.join(REPO_ROOT, 'build', 'linux', 'winpop.service');
  if (!existsSync('/usr/bin/node')) {
    // verify checks that the program exists: where node lives elsewhere, the same unit with this node.
    console.log(`no /usr/bin/node here: verifying the unit with ExecStart's node replaced by ${process.execPath}`);
    verified = path.join(dir.path, 'winpop.service');
    await fs.writeFile(verified, shipped.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
  }
  const verify = await run(analyze, ['verify', verified], { timeoutMs: 60_000 });
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal(`${verify.stdout}${verify.stderr}`.trim(), '', 'systemd-analyze verify complained');
});

test('postinst against a temp root: the user, the folders, the commands and the unit, left disabled', { skip }, async () => {
  const bashN = await run('bash', ['-n', await script('after-install.sh')]);
  assert.equal(bashN.code, 0, bashN.stderr);
  const installed = await maintainer('after-install.sh', 'configure');
  assert.equal(installed.code, 0, installed.stdout + installed.stderr);
  assert.match(installed.stdout, /installed but not enabled.*systemctl enable --now winpop\.service/);

  const entry = await passwdEntry('winpop');
  assert.ok(entry, 'the postinst made no winpop user');
  const [, , uid, gid, , home, shell] = entry;
  assert.ok(Number(uid) < 1000 && Number(uid) > 0, `winpop is not a system account (uid ${uid})`);
  assert.equal(home, '/nonexistent');
  assert.match(shell ?? '', /nologin|false/);

  const unit = path.join(root, 'lib', 'systemd', 'system', 'winpop.service');
  assert.equal(await fs.readFile(unit, 'utf8'), packagedSystemdUnit());
  assert.equal(existsSync(path.join(root, 'etc', 'systemd', 'system', 'multi-user.target.wants', 'winpop.service')), false, 'the postinst enabled the unit');

  const mailroot = path.join(root, 'var', 'lib', 'winpop', 'mailroot');
  for (const [p, mode] of [[mailroot, 0o700], [path.join(root, 'etc', 'winpop'), 0o750], [path.join(root, 'etc', 'winpop', 'config.json'), 0o600]] as const) {
    const info = await fs.stat(p);
    assert.equal(`${info.uid}:${info.gid}`, `${uid}:${gid}`, `${p} does not belong to winpop`);
    assert.equal(info.mode & 0o777, mode, `${p} has mode ${(info.mode & 0o777).toString(8)}`);
  }
  assert.deepEqual(JSON.parse(await fs.readFile(path.join(root, 'etc', 'winpop', 'config.json'), 'utf8')), { mailroot: '/var/lib/winpop/mailroot' });
  assert.equal(await fs.readlink(path.join(root, 'usr', 'bin', 'pop3svc')), `${APP}/resources/app.asar.unpacked/bin/pop3svc.js`);
  assert.equal(await fs.readlink(path.join(root, 'usr', 'bin', 'winpop')), `${APP}/resources/app.asar.unpacked/bin/winpop.js`);
});

test('postinst again (an upgrade) keeps the user, the config and the store as they are', { skip }, async () => {
  const configFile = path.join(root, 'etc', 'winpop', 'config.json');
  const edited = '{\n  "mailroot": "/var/lib/winpop/mailroot",\n  "port": 1110\n}\n';
  await fs.writeFile(configFile, edited);
  await fs.mkdir(path.join(root, 'var', 'lib', 'winpop', 'mailroot', 'example.com'));
  const again = await maintainer('after-install.sh', 'configure', '0.0.9');
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const users = (await fs.readFile(path.join(root, 'etc', 'passwd'), 'utf8')).split('\n').filter((line) => line.startsWith('winpop:'));
  assert.equal(users.length, 1);
  assert.equal(await fs.readFile(configFile, 'utf8'), edited);
  assert.ok(existsSync(path.join(root, 'var', 'lib', 'winpop', 'mailroot', 'example.com')));
});

test('postrm: an upgrade keeps the unit; removal takes the unit, its enablement and the commands, and leaves the mail, config and user', { skip }, async () => {
  const unit = path.join(root, 'lib', 'systemd', 'system', 'winpop.service');
  const wants = path.join(root, 'etc', 'systemd', 'system', 'multi-user.target.wants', 'winpop.service');
  await fs.mkdir(path.dirname(wants), { recursive: true });
  await fs.symlink('/lib/systemd/system/winpop.service', wants);

  const upgrade = await maintainer('after-remove.sh', 'upgrade', '0.2.0');
  assert.equal(upgrade.code, 0, upgrade.stderr);
  assert.ok(existsSync(unit), 'an upgrade removed the unit');

  // A winpop command that is not the package's stays.
  await fs.rm(path.join(root, 'usr', 'bin', 'winpop'));
  await fs.symlink('/usr/local/lib/node_modules/winpop/bin/winpop.js', path.join(root, 'usr', 'bin', 'winpop'));
  const removed = await maintainer('after-remove.sh', 'remove');
  assert.equal(removed.code, 0, removed.stdout + removed.stderr);
  assert.match(removed.stdout, /Left in place: the mail root/);
  assert.equal(existsSync(unit), false, 'removal left the unit');
  assert.equal(existsSync(path.join(root, 'usr', 'bin', 'pop3svc')), false, 'removal left /usr/bin/pop3svc');
  assert.equal(await fs.readlink(path.join(root, 'usr', 'bin', 'winpop')), '/usr/local/lib/node_modules/winpop/bin/winpop.js');
  await assert.rejects(fs.lstat(wants), 'removal left the unit enabled');
  assert.ok(existsSync(path.join(root, 'var', 'lib', 'winpop', 'mailroot', 'example.com')), 'removal took the mail');
  assert.ok(existsSync(path.join(root, 'etc', 'winpop', 'config.json')));
  assert.ok(await passwdEntry('winpop'), 'removal took the user');
});
