/**
 * `npm start`'s launcher (bin/start.js, what the script runs after the
 * build) as a real process on a fresh temp mail root: without an Electron
 * binary it says why in one line, starts the service with the admin
 * endpoint, prints a one-time link that signs a browser in (HTTP 303 and
 * the session cookie) once, hands the link to the browser opener, and stops
 * cleanly on SIGINT and SIGTERM. With `--browser` it never runs Electron;
 * with a binary it runs it; a service already running is attached to.
 *
 * "No Electron binary" is made certain on every machine by pointing
 * WINPOP_ELECTRON_PATH at a file that does not exist; the browser opener is
 * a script (WINPOP_BROWSER) that writes down the link it was given.
 */

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { REPO_ROOT, startPop3svc } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { freePort } from '../remote/support.js';

const START = path.join(REPO_ROOT, 'bin', 'start.js');
/** How long the launcher may take to print its link or to stop: a hang, not a speed limit. */
const DEADLINE_MS = 60_000;

interface Launcher {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Launchers still running: a failed assertion must not leave one behind (the test process would never end). */
const running = new Set<ChildProcess>();

function launch(args: readonly string[], env: NodeJS.ProcessEnv): Launcher {
  const child = spawn(process.execPath, [START, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  running.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Polls `found` until it gives a value; fails with the launcher's output after the deadline. */
async function waitFor<T>(what: string, launcher: Launcher, found: () => T | null | undefined): Promise<T> {
  const until = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = found();
    if (value !== null && value !== undefined) return value;
    if (launcher.child.exitCode !== null || Date.now() > until) {
      assert.fail(`${what}: not seen (exit ${launcher.child.exitCode}).\nstdout:\n${launcher.stdout()}\nstderr:\n${launcher.stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The launcher's exit, after sending `signal` if given; fails (and kills it) if it has not ended by the deadline. */
async function ended(launcher: Launcher, signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (signal) launcher.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      launcher.child.kill('SIGKILL');
      reject(new Error(`the launcher did not end${signal ? ` on ${signal}` : ''}:\n${launcher.stdout()}\n${launcher.stderr()}`));
    }, DEADLINE_MS);
  });
  try {
    return await Promise.race([launcher.exited, hung]);
  } finally {
    clearTimeout(timer);
  }
}

function get(url: string, ca: string, cookie?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, headers: cookie ? { Cookie: cookie } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

/** The one-time link the launcher printed. */
const linkIn = (text: string): string | undefined => /^ {2}(https:\/\/127\.0\.0\.1:\d+\/signin\?token=\S+)$/m.exec(text)?.[1];

/** A stand-in browser opener: writes the link it is given into `file`. */
async function recordingOpener(dir: string, file: string): Promise<string> {
  const script = path.join(dir, 'open-link');
  await writeFile(script, `#!/bin/sh\nprintf '%s' "$1" > '${file}'\n`);
  await chmod(script, 0o755);
  return script;
}

describe('npm start without an Electron binary', () => {
  let dir: TempDir;
  before(async () => {
    dir = await tempDir('winpop-start-');
  });
  afterEach(async () => {
    const left = [...running].map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(left);
  });
  after(async () => {
    await dir.remove();
  });

  const freshRoot = (name: string): string[] => ['--config', path.join(dir.path, name, 'config.json'), '--mailroot', path.join(dir.path, name, 'mail'), '--pop3-port', '0', '--smtp-port', '0'];

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`says why in one line, prints a link that signs in once, opens the browser on it, and stops on ${signal}`, async () => {
      const opened = path.join(dir.path, `opened-${signal}`);
      const adminPort = await freePort();
      const launcher = launch([...freshRoot(signal), '--admin-port', String(adminPort)], {
        WINPOP_ELECTRON_PATH: path.join(dir.path, 'no-such-electron'),
        WINPOP_BROWSER: await recordingOpener(dir.path, opened),
      });
      const link = await waitFor('the sign-in link', launcher, () => linkIn(launcher.stdout()));
      const lines = launcher.stdout().split('\n');
      assert.match(lines[0] ?? '', /^npm start: no Electron binary, so the console opens in a browser instead \(WINPOP_ELECTRON_PATH names .*no-such-electron, which does not exist\)\.$/);
      assert.ok(link.startsWith(`https://127.0.0.1:${adminPort}/signin?token=`), link);
      await waitFor('the browser opener', launcher, () => (launcher.stdout().includes('Opening it in the default browser.') ? true : null));
      assert.equal(await readFile(opened, 'utf8'), link, 'the opener was given the link');

      const ca = await readFile(path.join(dir.path, signal, 'mail', '.winpop', 'tls', 'cert.pem'), 'utf8');
      const first = await get(link, ca);
      assert.equal(first.status, 303);
      assert.equal(first.headers.location, '/');
      const cookie = String(first.headers['set-cookie']).split(';')[0] ?? '';
      assert.match(cookie, /^__Host-winpop-session=[\w-]+$/);
      const page = await get(`https://127.0.0.1:${adminPort}/`, ca, cookie);
      assert.equal(page.status, 200, 'the session opens the console');
      assert.match(page.body, /<div id="root"><\/div>/, 'the page is the built console');
      assert.equal((await get(link, ca)).status, 403, 'the link works once');

      const end = await ended(launcher, signal);
      assert.deepEqual(end, { code: 0, signal: null }, launcher.stderr());
      assert.match(launcher.stdout(), new RegExp(`${signal} received: stopping the service\\.`));
      assert.match(launcher.stdout(), /service stopped/);
      assert.doesNotMatch(launcher.stderr(), /\n\s+at /, 'no stack trace');
    });
  }

  it('--browser opens the browser console even where an Electron binary exists, and never runs it', async () => {
    const ran = path.join(dir.path, 'electron-ran');
    const electron = path.join(dir.path, 'fake-electron');
    await writeFile(electron, `#!/bin/sh\necho ran > '${ran}'\n`);
    await chmod(electron, 0o755);
    const launcher = launch([...freshRoot('browser'), '--admin-port', String(await freePort()), '--browser', '--no-open'], { WINPOP_ELECTRON_PATH: electron });
    await waitFor('the sign-in link', launcher, () => linkIn(launcher.stdout()));
    assert.equal(launcher.stdout().split('\n')[0], 'npm start: the console in a browser (--browser).');
    assert.doesNotMatch(launcher.stdout(), /Opening it|No browser opened/, '--no-open starts no browser');
    assert.deepEqual(await ended(launcher, 'SIGINT'), { code: 0, signal: null });
    await assert.rejects(readFile(ran), { code: 'ENOENT' }, 'Electron was not run');
  });

  it('with an Electron binary, runs it on the app with the console switches, and ends with its exit code', async () => {
    const argsFile = path.join(dir.path, 'electron-args');
    const electron = path.join(dir.path, 'fake-electron-args');
    await writeFile(electron, `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\nexit 7\n`);
    await chmod(electron, 0o755);
    const launcher = launch(['--mailroot', path.join(dir.path, 'electron', 'mail'), '--pop3-port', '0'], { WINPOP_ELECTRON_PATH: electron });
    assert.deepEqual(await ended(launcher), { code: 7, signal: null });
    const args = (await readFile(argsFile, 'utf8')).trim().split('\n');
    assert.deepEqual(args, [REPO_ROOT.replace(/\/$/, ''), `--mailroot=${path.join(dir.path, 'electron', 'mail')}`, '--pop3-port=0']);
    assert.equal(launcher.stdout(), '', 'nothing about a browser');
  });

  it('attaches to a service already running for the mail root: a link from its control channel, and the service keeps running', async () => {
    const mailroot = path.join(dir.path, 'running', 'mail');
    const config = path.join(dir.path, 'running', 'config.json');
    const adminPort = await freePort();
    const service = await startPop3svc(mailroot, config, ['--admin-port', String(adminPort)]);
    try {
      const launcher = launch(['--config', config, '--mailroot', mailroot, '--no-open'], { WINPOP_ELECTRON_PATH: path.join(dir.path, 'no-such-electron') });
      const end = await ended(launcher);
      assert.equal(end.code, 0, launcher.stderr());
      assert.match(launcher.stdout(), /Using the service already running for /);
      const link = linkIn(launcher.stdout()) ?? assert.fail(`no link printed:\n${launcher.stdout()}`);
      assert.ok(link.startsWith(`https://127.0.0.1:${adminPort}/signin?token=`), launcher.stdout());
      const ca = await readFile(path.join(mailroot, '.winpop', 'tls', 'cert.pem'), 'utf8');
      assert.equal((await get(link, ca)).status, 303);
      assert.equal(service.process.exitCode, null, 'the running service was left running');

    } finally {
      await service.stop();
    }
  });

  it('refuses, with how to turn it on, to attach to a running service whose admin endpoint is off', async () => {
    const mailroot = path.join(dir.path, 'endpoint-off', 'mail');
    const config = path.join(dir.path, 'endpoint-off', 'config.json');
    const service = await startPop3svc(mailroot, config);
    try {
      const off = launch(['--config', config, '--mailroot', mailroot, '--no-open'], { WINPOP_ELECTRON_PATH: path.join(dir.path, 'no-such-electron') });
      assert.equal((await ended(off)).code, 1);
      assert.match(off.stderr(), /^npm start: A service is already running for .* with its admin endpoint off.*winpop set adminport 8110/);
      assert.doesNotMatch(off.stderr(), /\n\s+at /, 'no stack trace');
      assert.equal(service.process.exitCode, null, 'the running service was left running');
    } finally {
      await service.stop();
    }
  });
});
