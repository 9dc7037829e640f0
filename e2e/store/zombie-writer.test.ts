/**
 * A writer that has exited but is not yet reaped (a zombie: its parent has
 * not waited for it, as when pop3svc's killed workers wait for init) still
 * answers kill(pid, 0), yet will never finish its temp file. Recovery must
 * take it for dead and remove what it left, while a live writer's file stays.
 * Linux only: elsewhere the store has no /proc to read the state from.
 */

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { isProcessAlive, writerTag } from '../../electron/service/store/fs-util.js';
import { open, removeRoot, tempRoot } from './store-fixture.js';

let root: string;
let parent: ChildProcess | undefined;

before(async () => {
  root = await tempRoot();
  const store = await open(root);
  await store.addDomain('zombie.example');
  await store.addMailbox('box@zombie.example', 'pw-box');
  await store.close();
});

after(async () => {
  parent?.kill('SIGKILL');
  await removeRoot(root);
});

/** A python parent that forks a child which exits at once, and never waits for it: prints both pids, then blocks on stdin. */
const ZOMBIE_MAKER = String.raw`
import os, sys
child = os.fork()
if child == 0:
    os._exit(0)
print(os.getpid(), child, flush=True)
sys.stdin.read()
`;

function makeZombie(): Promise<{ parentPid: number; zombiePid: number }> {
  const child = spawn('python3', ['-c', ZOMBIE_MAKER], { stdio: ['pipe', 'pipe', 'inherit'] });
  parent = child;
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /^(\d+) (\d+)\n/.exec(out);
      if (m) resolve({ parentPid: Number(m[1]), zombiePid: Number(m[2]) });
    });
    child.once('exit', (code) => reject(new Error(`python3 exited with ${code} before printing the pids`)));
  });
}

const state = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
};

test("recovery removes a zombie writer's temp file and keeps a live writer's", { skip: process.platform !== 'linux' ? 'zombies are read from /proc, which only Linux has' : false }, async () => {
  const { parentPid, zombiePid } = await makeZombie();
  // The child exits at once; wait until the kernel shows it as a zombie.
  const end = Date.now() + 10_000;
  while (state(zombiePid) !== 'Z') {
    assert.ok(Date.now() < end, `pid ${zombiePid} did not become a zombie (state ${state(zombiePid)})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.doesNotThrow(() => process.kill(zombiePid, 0), 'kill(pid, 0) still finds the zombie');
  assert.equal(isProcessAlive(zombiePid), false, 'the store takes the zombie for dead');
  assert.equal(isProcessAlive(parentPid), true, 'and its running parent for alive');

  // Named as the store names its writers' temp files: .tmp-<pid>-<hex>.<host mark>-<target>.
  const tagOf = (pid: number): string => writerTag().replace(/^\d+/, String(pid));
  const box = path.join(root, 'zombie.example', 'box');
  const zombieFile = path.join(box, `.tmp-${tagOf(zombiePid)}-.winpop-mailbox.json`);
  const liveFile = path.join(box, `.tmp-${tagOf(parentPid)}-.winpop-mailbox.json`);
  writeFileSync(zombieFile, '{"half":');
  writeFileSync(liveFile, '{"half":');

  const store = await open(root);
  try {
    assert.ok(!existsSync(zombieFile), "the zombie writer's temp file is removed at open");
    assert.ok(existsSync(liveFile), "the live writer's temp file is kept: it may still be writing");
  } finally {
    await store.close();
  }
});
