/**
 * A second computer for the console specs: a `pop3svc` process with its
 * admin endpoint on, set up with `winpop`, and the console's steps to
 * connect to it.
 */

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from '@playwright/test';
import type { ConsolePage } from './console-page.js';
import { REPO_ROOT } from './service-fixture.js';

/** Runs `winpop` on that computer's store; resolves to what it printed. */
export function winpop(mailroot: string, config: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [path.join(REPO_ROOT, 'bin', 'winpop.js'), '--mailroot', mailroot, '--config', config, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`winpop ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
    child.stdin?.end(input ?? '');
  });
}

/** The second computer's service: a `pop3svc` process with its admin endpoint on a fixed port (kept across restarts). */
export class SecondService {
  private child: ChildProcess | null = null;
  private out = '';
  pop3Port = 0;

  constructor(
    readonly mailroot: string,
    readonly config: string,
    readonly adminPort: number,
  ) {}

  async start(): Promise<void> {
    this.out = '';
    const child = spawn(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'pop3svc.js'), '--mailroot', this.mailroot, '--config', this.config, '--pop3-port', '0', '--smtp-port', '0', '--listen', '127.0.0.1', '--admin-port', String(this.adminPort)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout.on('data', (d: Buffer) => (this.out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (this.out += d.toString('utf8')));
    await expect.poll(() => /pop3svc ready .*pop3=[^ ]*:(\d+)/.exec(this.out)?.[1] ?? (child.exitCode !== null ? `exited: ${this.out}` : null), { timeout: 20_000 }).toMatch(/^\d+$/);
    this.pop3Port = Number(/pop3svc ready .*pop3=[^ ]*:(\d+)/.exec(this.out)?.[1]);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  /** The SHA-256 fingerprint of the certificate it made, as Node writes it. */
  async fingerprint(): Promise<string> {
    return new X509Certificate(await readFile(path.join(this.mailroot, '.winpop', 'tls', 'cert.pem'))).fingerprint256;
  }

  output(): string {
    return this.out;
  }
}

/**
 * Connects the console to `second` as `admin` through Connect to Another
 * Computer…, trusting its certificate; resolves to the id the main process gave it.
 */
export async function connectTo(ui: ConsolePage, second: SecondService, admin: string, password: string): Promise<string> {
  await ui.treeItem('root').click({ button: 'right' });
  await ui.menuItem('Connect to Another Computer…').click();
  const connect = ui.dialog('Connect to Another Computer');
  await connect.getByTestId('input-host').fill('127.0.0.1');
  await connect.getByTestId('input-port').fill(String(second.adminPort));
  await connect.getByTestId('input-admin').fill(admin);
  await connect.getByTestId('input-password').fill(password);
  await connect.getByRole('button', { name: 'Connect' }).click();
  await ui.dialog("Confirm the Computer's Certificate").getByRole('button', { name: 'Trust and Connect' }).click();
  await expect(connect).toBeHidden();
  const [info] = (await ui.page.evaluate(() => (window as unknown as { winpop: { computers: { listComputers(a: object): Promise<{ id: string }[]> } } }).winpop.computers.listComputers({}))) as { id: string }[];
  expect(info, 'the main process gave the computer an id').toBeTruthy();
  const id = (info as { id: string }).id;
  await expect(ui.page.getByTestId(`state-remote:${id}`)).toHaveText('(connected)');
  return id;
}
