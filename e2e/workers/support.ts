/**
 * A real pop3svc on two worker processes (the setting `workers`, set with
 * winpop as an administrator would), its control channel, and a store with a
 * few mailboxes.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { connectControl, type ControlClient } from '../../electron/service/admin/control-client.js';
import { openMailStore } from '../../electron/service/store/index.js';
import { startPop3svc, winpop, type RunningService } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

export const DOMAIN = 'workers.test';
export const password = (i: number): string => `pw-worker-${i}`;
export const address = (i: number): string => `u${i}@${DOMAIN}`;

export interface WorkerService {
  readonly dir: TempDir;
  readonly mailroot: string;
  readonly config: string;
  readonly svc: RunningService;
  readonly control: ControlClient;
  /** The live workers' pids and connections, as serverInfo reports them. */
  workers(): Promise<{ pid: number; sessions: number }[]>;
  /** Stops the service (SIGTERM), closes the control client, removes the folder. */
  close(): Promise<void>;
}

/** Polls `check` every 20 ms until it holds; fails with `what()` after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: () => string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** With `mailboxes` of DOMAIN in the store; none (and no domain) when 0, for a test that sets the store up through the service. */
export async function startWorkerService(mailboxes: number, workers = 2): Promise<WorkerService> {
  const dir = await tempDir('winpop-workers-');
  const mailroot = path.join(dir.path, 'mailroot');
  const config = path.join(dir.path, 'config.json');
  const store = await openMailStore(mailroot, { fsync: false });
  if (mailboxes > 0) await store.addDomain(DOMAIN);
  for (let i = 0; i < mailboxes; i++) await store.addMailbox(address(i), password(i));
  await store.close();
  const set = await winpop(['--config', config, '--mailroot', mailroot, 'set', 'workers', String(workers)]);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout + set.stderr, /applies when the service (next )?starts/, 'winpop says the setting applies at the next start');
  const svc = await startPop3svc(mailroot, config);
  const control = await connectControl(mailroot, 'worker-test');
  if (!control) {
    await svc.stop();
    throw new Error(`no control channel for the running pop3svc:\n${svc.output()}`);
  }
  return {
    dir,
    mailroot,
    config,
    svc,
    control,
    async workers() {
      const info = await control.serverInfo({});
      return (info.workers ?? []).map((w) => ({ pid: w.pid, sessions: w.sessions }));
    },
    async close() {
      control.close();
      if (svc.process.exitCode === null && svc.process.signalCode === null) await svc.stop();
      await dir.remove();
    },
  };
}
