/**
 * The control channel cannot be impersonated by another local user, checked
 * with real OS users made for the test: a squatter (its own user) that
 * prepares the place where a victim's service would listen, a service run
 * as an ordinary user, root's `winpop` administering it, and the audit log
 * recording the uid each caller really runs as.
 *
 * Needs root (to make users and run processes as them); skipped with the
 * reason otherwise, and failed instead under CI=true.
 */

import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { connectControl } from '../../electron/service/admin/control-client.js';
import { controlSocketPath } from '../../electron/service/admin/control-path.js';
import { serveControl } from '../../electron/service/admin/control-server.js';
import { silentLogger } from '../../electron/service/log.js';
import { readAudit } from '../../electron/service/store/index.js';
import { createOsUser, osUserSkip, runAs, spawnAs, userEnv, type OsUser } from '../helpers/os-user.js';
import { POP3SVC, REPO_ROOT, WINPOP } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { adminServiceAt } from './support.js';

const CLIENT_MODULE = pathToFileURL(path.join(REPO_ROOT, 'dist', 'electron', 'service', 'admin', 'control-client.js')).href;
/** A path too long for `<mailroot>/.winpop/control.sock`, so the socket goes to the fallback folder. */
const LONG = 'a-mail-root-with-a-rather-long-name-'.repeat(3);

/** Connects as the user running it; prints what happened as one JSON line. */
const CLIENT_SCRIPT = `
const [url, mailroot, actor, domain] = process.argv.slice(1);
const { connectControl } = await import(url);
let out;
try {
  const client = await connectControl(mailroot, actor);
  if (!client) out = { connected: false };
  else {
    out = { connected: true, address: client.address };
    if (domain) out.added = (await client.addDomain({ domain })).name;
    client.close();
  }
} catch (err) {
  out = { error: { code: err.code, message: err.message } };
}
console.log(JSON.stringify(out));
`;

/**
 * Takes the folder `dir` first (a folder of its own, or a symbolic link to
 * one) and listens in it on `name`, open to everyone. Each line on stdin
 * makes it print what reached it; "stop" also ends it.
 */
const SQUATTER_SCRIPT = `
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
const [dir, name, kind] = process.argv.slice(1);
let real = dir;
if (kind === 'symlink') {
  real = fs.mkdtempSync(path.join(os.tmpdir(), 'winpop-squat-'));
  fs.chmodSync(real, 0o755);
  fs.symlinkSync(real, dir);
} else {
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o755);
}
let connections = 0;
let received = '';
const server = net.createServer((s) => {
  connections++;
  s.on('data', (d) => (received += d));
  s.on('error', () => {});
});
const socket = path.join(real, name);
server.listen(socket, () => {
  fs.chmodSync(socket, 0o777);
  console.log(JSON.stringify({ listening: socket }));
});
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  console.log(JSON.stringify({ connections, received }));
  if (line !== 'stop') return;
  server.close();
  fs.rmSync(socket, { force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  if (real !== dir) fs.rmSync(real, { recursive: true, force: true });
  process.exit(0);
});
`;

/** Reads a child's stdout as JSON lines, one at a time. */
function jsonLines(child: ChildProcess, what: string): () => Promise<Record<string, any>> {
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let tail = '';
  let errors = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (errors += d));
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    const parts = (tail + d).split('\n');
    tail = parts.pop() ?? '';
    for (const line of parts) {
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  return () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} printed nothing in time; stderr: ${errors}`)), 20_000);
      const take = (line: string): void => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, any>);
      };
      const ready = lines.shift();
      if (ready !== undefined) take(ready);
      else waiters.push(take);
    });
}

interface Squatter {
  /** What reached the squatter's socket so far. */
  heard(): Promise<{ connections: number; received: string }>;
  stop(): Promise<void>;
}

async function startSquatter(user: OsUser, dir: string, name: string, kind: 'folder' | 'symlink'): Promise<Squatter> {
  const child = spawnAs(user, process.execPath, ['--input-type=module', '-e', SQUATTER_SCRIPT, dir, name, kind], userEnv());
  const next = jsonLines(child, 'the squatter');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  assert.ok((await next()).listening, 'the squatter listens');
  return {
    async heard() {
      child.stdin?.write('report\n');
      return (await next()) as { connections: number; received: string };
    },
    async stop() {
      child.stdin?.write('stop\n');
      await exited;
    },
  };
}

/** Runs connectControl as `user`; with `domain`, adds that domain through the connection. */
async function clientAs(user: OsUser, mailroot: string, actor: string, env: NodeJS.ProcessEnv, domain = ''): Promise<Record<string, any>> {
  const result = await runAs(user, process.execPath, ['--input-type=module', '-e', CLIENT_SCRIPT, CLIENT_MODULE, mailroot, actor, domain], env);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, any>;
}

/** Starts pop3svc as `user` on free ports; resolves with its control address once it is ready. */
function startPop3svcAs(user: OsUser, mailroot: string, config: string, env: NodeJS.ProcessEnv): Promise<{ control: string; stop(): Promise<void> }> {
  const child = spawnAs(user, process.execPath, [POP3SVC, '--mailroot', mailroot, '--config', config, '--pop3-port', '0', '--smtp-port', '0', '--listen', '127.0.0.1'], env);
  return new Promise((resolve, reject) => {
    let out = '';
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const onExit = (code: number | null): void => reject(new Error(`pop3svc as ${user.name} exited with ${code}:\n${out}`));
    child.once('exit', onExit);
    const collect = (d: Buffer): void => {
      out += d.toString('utf8');
      const ready = /pop3svc ready .* control=(\S+)/.exec(out);
      if (!ready?.[1]) return;
      child.off('exit', onExit);
      resolve({
        control: ready[1],
        async stop() {
          child.kill('SIGTERM');
          await exited;
        },
      });
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  });
}

/** A temp folder owned by `user`, with a mail root of a long path inside it. */
async function homeOf(user: OsUser): Promise<{ dir: TempDir; mailroot: string; config: string }> {
  const dir = await tempDir('winpop-owned-');
  const mailroot = path.join(dir.path, LONG, 'mail');
  await fs.mkdir(mailroot, { recursive: true, mode: 0o700 });
  await promisify(execFile)('chown', ['-R', `${user.uid}:${user.gid}`, dir.path]);
  return { dir, mailroot, config: path.join(dir.path, 'winpop.json') };
}

/** What `user` gets when it tries to make a folder at `target`: an error code, or "made". */
async function mkdirAs(user: OsUser, target: string): Promise<string> {
  const script = `try { require('node:fs').mkdirSync(process.argv[1]); console.log('made'); } catch (err) { console.log(err.code); }`;
  const result = await runAs(user, process.execPath, ['-e', script, target], userEnv());
  return result.stdout.trim();
}

const skip = osUserSkip();

describe('the control channel and other local users', { skip }, () => {
  let victim: OsUser;
  let squatter: OsUser;
  before(async () => {
    victim = await createOsUser('the user whose service is squatted');
    squatter = await createOsUser('the squatter');
  });
  after(async () => {
    await victim?.remove();
    await squatter?.remove();
  });

  test('a fallback folder squatted in the temp folder: client, winpop and the service refuse it clearly, and the squatter hears nothing', async () => {
    const home = await homeOf(victim);
    // The victim has no XDG_RUNTIME_DIR (a service started by cron, or su without a log-in session): the temp folder is its fallback.
    const env = userEnv();
    const squatted = path.join(os.tmpdir(), `winpop-${victim.uid}`);
    const name = path.basename(controlSocketPath(home.mailroot));
    try {
      for (const kind of ['folder', 'symlink'] as const) {
        await fs.rm(squatted, { recursive: true, force: true });
        const impostor = await startSquatter(squatter, squatted, name, kind);
        try {
          const refusal =
            kind === 'folder'
              ? new RegExp(`its folder ${squatted} belongs to user ${squatter.name} \\(uid ${squatter.uid}\\), not to this user \\(uid ${victim.uid}\\)`)
              : new RegExp(`its folder ${squatted} is a symbolic link \\(to \\S+\\) owned by user ${squatter.name} \\(uid ${squatter.uid}\\)`);

          const attempt = await clientAs(victim, home.mailroot, 'victim', env);
          const heard = await impostor.heard();
          assert.deepEqual(heard, { connections: 0, received: '' }, `${kind}: the squatter must hear nothing; it got ${JSON.stringify(heard)}`);
          assert.equal(attempt.error?.code, 'NOT_ALLOWED', `${kind}: ${JSON.stringify(attempt)}`);
          assert.match(attempt.error.message, new RegExp(`^Refusing to connect to the control socket ${squatted}/${name}: ${refusal.source}`));

          const cli = await runAs(victim, process.execPath, [WINPOP, '--mailroot', home.mailroot, '--config', home.config, 'list'], env);
          assert.equal(cli.code, 1, `${kind}: winpop list must fail: ${cli.stdout}${cli.stderr}`);
          assert.match(cli.stderr, refusal, kind);

          const service = await runAs(victim, process.execPath, [POP3SVC, '--mailroot', home.mailroot, '--config', home.config, '--pop3-port', '0', '--smtp-port', '0'], env);
          assert.equal(service.code, 1, `${kind}: pop3svc must not serve there:\n${service.stdout}${service.stderr}`);
          assert.match(service.stderr, new RegExp(`Refusing to serve the control channel at ${squatted}/${name}: `), kind);
          assert.match(service.stderr, kind === 'folder' ? refusal : new RegExp(`${squatted} is a symbolic link`), kind);

          assert.deepEqual(await impostor.heard(), { connections: 0, received: '' }, `${kind}: nothing reached the squatter`);
        } finally {
          await impostor.stop();
        }
      }
    } finally {
      await fs.rm(squatted, { recursive: true, force: true });
      await home.dir.remove();
    }
  });

  test("root's fallback folder is one only root can make, and root's client does not look in the temp folder", async () => {
    const dir = await tempDir('winpop-root-fallback-');
    const mailroot = path.join(dir.path, LONG, 'mail');
    const { service } = await adminServiceAt(mailroot);
    const address = controlSocketPath(mailroot);
    // Where the fallback used to be for root: the squatter takes it first.
    const oldPlace = path.join(os.tmpdir(), 'winpop-0');
    await fs.rm(oldPlace, { recursive: true, force: true });
    const impostor = await startSquatter(squatter, oldPlace, path.basename(address), 'folder');
    try {
      const runDir = existsSync('/run') ? '/run' : '/var/run';
      assert.equal(path.dirname(address), path.join(runDir, 'winpop'), `root serves in ${runDir}/winpop`);
      const server = await serveControl(service, address, silentLogger);
      try {
        const folder = await fs.lstat(path.dirname(address));
        assert.deepEqual([folder.uid, folder.mode & 0o7777], [0, 0o700]);
        const run = await fs.lstat(await fs.realpath(runDir));
        assert.deepEqual([run.uid, run.mode & 0o022], [0, 0], `${runDir} is root's and writable by root alone`);
        assert.equal(await mkdirAs(squatter, path.join(path.dirname(address), 'squat')), 'EACCES');
        assert.equal(await mkdirAs(squatter, path.join(runDir, `winpop-squat-${squatter.uid}`)), 'EACCES');

        const client = await connectControl(mailroot, 'root-admin');
        assert.ok(client, 'root reaches its own service');
        try {
          assert.equal(client.address, address);
          assert.equal((await client.serverInfo({})).mailroot, mailroot);
        } finally {
          client.close();
        }
        assert.deepEqual(await impostor.heard(), { connections: 0, received: '' }, 'nothing reached the squatter');
      } finally {
        await server.close();
      }
    } finally {
      await impostor.stop();
      await fs.rm(oldPlace, { recursive: true, force: true });
      await dir.remove();
    }
  });

  test("a user's service with XDG_RUNTIME_DIR listens in it; that user's winpop without the variable, and root's, find it, and the audit log records each caller's real uid", async () => {
    const home = await homeOf(victim);
    // What systemd-logind makes at log-in: /run/user/<uid>, the user's own, mode 0700.
    const runUser = '/run/user';
    const hadRunUser = await fs.lstat(runUser).then(() => true, () => false);
    const runtime = path.join(runUser, String(victim.uid));
    await fs.mkdir(runtime, { recursive: true, mode: 0o700 });
    await fs.chown(runtime, victim.uid, victim.gid);
    let svc: { control: string; stop(): Promise<void> } | undefined;
    try {
      svc = await startPop3svcAs(victim, home.mailroot, home.config, userEnv({ XDG_RUNTIME_DIR: runtime }));
      const expected = path.join(runtime, 'winpop', path.basename(controlSocketPath(home.mailroot)));
      assert.equal(svc.control, expected);
      const folder = await fs.lstat(path.dirname(expected));
      assert.deepEqual([folder.uid, folder.mode & 0o7777], [victim.uid, 0o700]);
      assert.equal(await mkdirAs(squatter, path.join(runtime, 'squat')), 'EACCES', 'another user cannot make anything in the runtime folder');

      // The service's user, from a shell without XDG_RUNTIME_DIR (cron, su): claims to be "root".
      const fromUser = await clientAs(victim, home.mailroot, 'root', userEnv(), 'from-user.test');
      assert.deepEqual(fromUser, { connected: true, address: expected, added: 'from-user.test' });

      // Root administers the service of the mail root's owner: claims to be "alice".
      const client = await connectControl(home.mailroot, 'alice');
      assert.ok(client, "root finds the service of the mail root's owner");
      try {
        assert.equal(client.address, expected);
        await client.addDomain({ domain: 'from-root.test' });
      } finally {
        client.close();
      }

      const audit = await readAudit(home.mailroot, 100);
      const byTarget = (target: string): unknown => {
        const line = audit.find((e) => e.target === target && e.op === 'addDomain');
        return line && { actor: line.actor, uid: line.uid };
      };
      assert.deepEqual(byTarget('from-user.test'), { actor: 'root', uid: victim.uid }, 'the claimed name "root" is recorded with the real uid');
      assert.deepEqual(byTarget('from-root.test'), { actor: 'alice', uid: 0 }, "the claimed name \"alice\" is recorded with root's uid");
    } finally {
      await svc?.stop();
      await fs.rm(runtime, { recursive: true, force: true });
      if (!hadRunUser) await fs.rm(runUser, { recursive: true, force: true });
      await home.dir.remove();
    }
  });

  test("a root service on a store that belongs to a mail account (Dovecot's vmail, say) serves its control channel, and root's winpop reaches it", async () => {
    const dir = await tempDir('winpop-vmail-');
    // Short enough for the socket to live in the store: <mailroot>/.winpop/control.sock.
    const mailroot = path.join(dir.path, 'mail');
    await fs.mkdir(mailroot, { mode: 0o700 });
    await fs.chown(mailroot, victim.uid, victim.gid);
    const config = path.join(dir.path, 'winpop.json');
    const child = spawnAs({ ...victim, uid: 0, gid: 0, name: 'root' }, process.execPath, [POP3SVC, '--mailroot', mailroot, '--config', config, '--pop3-port', '0', '--smtp-port', '0', '--listen', '127.0.0.1'], process.env);
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const ready = await new Promise<string>((resolve, reject) => {
        const collect = (d: Buffer): void => {
          out += d.toString('utf8');
          const m = /pop3svc ready .* control=(\S+)/.exec(out);
          if (m?.[1]) resolve(m[1]);
        };
        child.stdout?.on('data', collect);
        child.stderr?.on('data', collect);
        void exited.then((code) => reject(new Error(`pop3svc exited with ${code}:\n${out}`)));
      });
      assert.equal(ready, path.join(mailroot, '.winpop', 'control.sock'));
      const listed = await runAs({ ...victim, uid: 0, gid: 0, name: 'root' }, process.execPath, [WINPOP, '--mailroot', mailroot, '--config', config, 'add', 'vmail.test'], process.env);
      assert.equal(listed.code, 0, listed.stderr);
      const audit = await readAudit(mailroot, 10);
      assert.ok(audit.some((e) => e.op === 'addDomain' && e.target === 'vmail.test' && e.uid === 0), 'the change went through the service, as root');
      assert.ok(out.includes('admin addDomain'), 'the service, not winpop on the store, made the change');
    } finally {
      child.kill('SIGTERM');
      await exited;
      await dir.remove();
    }
  });
});
