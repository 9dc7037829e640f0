/**
 * The compiled preload (dist/electron/preload.cjs) driving a real service.
 *
 * Electron cannot run here, so the test runs the preload as a sandboxed
 * preload runs (a CommonJS function given require, process, exports and
 * module) with a stand-in for Electron's two objects: contextBridge records
 * what is exposed, and ipcRenderer carries each call as Electron does,
 * structured-cloned, to the channel's handler, registered here from the
 * contract exactly as electron/ipc/register.ts does. Everything behind the
 * channel is ours and real: handleCall, the sender check, validation, the
 * admin and the store.
 */

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { after, before, test } from 'node:test';
import { COMPUTER_OPERATION_NAMES, OPERATION_NAMES, computerChannel, ipcChannel, type AdminApi, type AdminEvent, type ComputersApi, type MailboxSummary } from '../../shared/contract.js';
import { toErrorShape } from '../../shared/errors.js';
import { APP_ENTRY_URL } from '../../electron/app-origin.js';
import { ComputerManager } from '../../electron/computers/computer-manager.js';
import { handleComputerCall } from '../../electron/ipc/handle-computer-call.js';
import { forwardEvents, handleCall } from '../../electron/ipc/handle-call.js';
import { TrustedSenders } from '../../electron/ipc/trusted-sender.js';
import { silentLogger } from '../../electron/service/log.js';
import { startService, type ServiceHost } from '../../electron/service/host.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const PRELOAD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../electron/preload.cjs');
const WINDOW_ID = 1;

let dir: TempDir;
let host: ServiceHost;
let winpop: AdminApi & { computers: ComputersApi };
let computers: ComputerManager;
let exposedKeys: string[];
let required: string[];
let stopEvents: () => void;

/** Runs the preload with Electron's preload-side API stood in for, wired to our real handlers. */
async function loadPreload(admin: AdminApi): Promise<void> {
  const trusted = new TrustedSenders();
  const toRenderer = new EventEmitter();
  trusted.add({
    id: WINDOW_ID,
    isDestroyed: () => false,
    getURL: () => APP_ENTRY_URL,
    send: (channel, payload) => toRenderer.emit(channel, { sender: 'ipcRenderer' }, structuredClone(payload)),
  });
  stopEvents = forwardEvents(admin, trusted);

  const handlers = new Map<string, (args: unknown[]) => Promise<unknown>>();
  for (const op of OPERATION_NAMES) {
    handlers.set(ipcChannel(op), (args) =>
      handleCall(admin, trusted, { webContentsId: WINDOW_ID, frame: { url: APP_ENTRY_URL, isMainFrame: true } }, op, args),
    );
  }
  for (const op of COMPUTER_OPERATION_NAMES) {
    handlers.set(computerChannel(op), (args) =>
      handleComputerCall(computers, trusted, { webContentsId: WINDOW_ID, frame: { url: APP_ENTRY_URL, isMainFrame: true } }, op, args),
    );
  }
  const ipcRenderer = {
    async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
      const handler = handlers.get(channel);
      // Electron's own answer for a channel nobody handles.
      if (!handler) throw new Error(`Error invoking remote method '${channel}': Error: No handler registered for '${channel}'`);
      return structuredClone(await handler(structuredClone(args)));
    },
    on: (channel: string, listener: (...a: unknown[]) => void) => toRenderer.on(channel, listener),
    removeListener: (channel: string, listener: (...a: unknown[]) => void) => toRenderer.removeListener(channel, listener),
  };
  const exposed: Record<string, unknown> = {};
  const contextBridge = {
    exposeInMainWorld(key: string, api: unknown) {
      exposed[key] = api;
    },
  };
  required = [];
  const preloadRequire = (name: string): unknown => {
    required.push(name);
    if (name === 'electron') return { contextBridge, ipcRenderer };
    throw new Error(`module not found: ${name}`);
  };

  const source = await readFile(PRELOAD, 'utf8');
  const wrapper = vm.runInNewContext(`(function (require, process, exports, module) {\n${source}\n})`, {}, { filename: PRELOAD }) as (
    ...args: unknown[]
  ) => void;
  const exportsObject = {};
  wrapper(preloadRequire, {}, exportsObject, { exports: exportsObject });

  exposedKeys = Object.keys(exposed);
  winpop = exposed.winpop as AdminApi & { computers: ComputersApi };
}

before(async () => {
  dir = await tempDir('winpop-preload-');
  host = await startService({ mailroot: path.join(dir.path, 'mailroot'), configPath: path.join(dir.path, 'config.json'), pop3Port: 0, smtpPort: 0, log: silentLogger });
  computers = await ComputerManager.open({ file: path.join(dir.path, 'user-data', 'computers.json'), log: silentLogger });
  await loadPreload(host.admin);
});

after(async () => {
  stopEvents?.();
  await computers?.close();
  await host?.stop();
  await dir?.remove();
});

test('the preload requires only electron and exposes exactly window.winpop', () => {
  assert.deepEqual(required, ['electron']);
  assert.deepEqual(exposedKeys, ['winpop']);
});

test('winpop has one method per operation, onEvent and the computers, and nothing else', () => {
  assert.deepEqual(Object.keys(winpop).sort(), [...OPERATION_NAMES, 'onEvent', 'computers'].sort());
  for (const [key, value] of Object.entries(winpop)) assert.equal(typeof value, key === 'computers' ? 'object' : 'function', key);
  assert.deepEqual(Object.keys(winpop.computers).sort(), [...COMPUTER_OPERATION_NAMES, 'onEvent'].sort());
  for (const [key, value] of Object.entries(winpop.computers)) assert.equal(typeof value, 'function', key);
  for (const raw of ['send', 'invoke', 'ipcRenderer', 'on', 'sendSync']) {
    assert.equal(raw in winpop, false, raw);
    assert.equal(raw in winpop.computers, false, raw);
  }
});

test('every computer method reaches its handler, which checks the id it is given', async () => {
  for (const op of COMPUTER_OPERATION_NAMES) {
    if (op === 'listComputers') continue;
    const failure = await (winpop.computers[op] as (a: unknown) => Promise<unknown>)({ computer: '../local' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(failure, `${op} accepted a bogus argument`);
    assert.equal(toErrorShape(failure).code, 'INVALID_ARGUMENT', `${op}: ${toErrorShape(failure).message}`);
  }
  assert.deepEqual(await winpop.computers.listComputers({}), []);
  const unknown = await winpop.computers.disconnectComputer({ computer: 'c-0123456789abcdef' }).catch((e: unknown) => e);
  assert.equal(toErrorShape(unknown).code, 'NOT_FOUND');
});

test('every method reaches its handler (the literal channel map matches ipcChannel)', async () => {
  for (const op of OPERATION_NAMES) {
    // Wrong arguments on purpose: an unmatched channel would fail with "No handler registered" instead.
    const failure = await (winpop[op] as (a: unknown) => Promise<unknown>)({ not: 'an argument' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(failure, `${op} accepted a bogus argument`);
    assert.equal(toErrorShape(failure).code, 'INVALID_ARGUMENT', `${op}: ${toErrorShape(failure).message}`);
  }
});

test('the right-click Lock path: add, lock, see it locked in the store', async () => {
  await winpop.addDomain({ domain: 'example.com' });
  const mailbox = await winpop.addMailbox({ address: 'alice@example.com', password: 'Correct-Horse-7' });
  assert.equal(mailbox.address, 'alice@example.com');
  const result = await winpop.lock({ target: 'alice@example.com' });
  assert.deepEqual([result.kind, result.locked, result.changed], ['mailbox', true, true]);

  // Read back through the service itself, not through the preload.
  const [alice] = (await host.admin.listMailboxes({ domain: 'example.com' })) as MailboxSummary[];
  assert.equal(alice?.locked, true);
  assert.ok(alice?.lock?.by);
  assert.equal((await winpop.unlock({ target: 'alice@example.com' })).locked, false);
});

test('a failure rejects with a plain record that keeps its code across the context bridge', async () => {
  const failure = await winpop.lock({ target: 'nobody@example.com' }).then(
    () => null,
    (e: unknown) => e,
  );
  // contextBridge copies plain objects whole but rebuilds Errors from their message alone.
  assert.ok(failure && typeof failure === 'object' && !(failure instanceof Error));
  assert.deepEqual({ ...structuredClone(failure) }, { ...failure });
  assert.equal((failure as { name: string }).name, 'AdminError');
  const shape = toErrorShape(failure);
  assert.equal(shape.code, 'NOT_FOUND');
  assert.match(shape.message, /nobody@example\.com/);

  const invalid = await winpop.addDomain({ domain: 42 } as unknown as { domain: string }).then(
    () => null,
    (e: unknown) => toErrorShape(e),
  );
  assert.deepEqual(invalid, { code: 'INVALID_ARGUMENT', message: 'addDomain: "domain" must be a string.' });
  assert.deepEqual((await host.admin.listDomains({})).map((d) => d.name), ['example.com']);
});

test('onEvent delivers service events as plain payloads, and its unsubscribe stops them', async () => {
  const seen: AdminEvent[] = [];
  const off = winpop.onEvent((event) => seen.push(event));
  const locked = new Promise<void>((resolve) => {
    const offOwn = winpop.onEvent((event) => {
      if (event.type === 'locked') {
        offOwn();
        resolve();
      }
    });
  });
  await winpop.lock({ target: 'example.com', reason: 'maintenance' });
  await locked;
  const event = seen.find((e) => e.type === 'locked');
  assert.deepEqual(event && { ...event, lock: { ...event.lock, at: 'x', by: 'x' } }, {
    type: 'locked',
    target: 'example.com',
    kind: 'domain',
    lock: { at: 'x', by: 'x', reason: 'maintenance' },
  });

  off();
  seen.length = 0;
  const unlocked = new Promise<void>((resolve) => {
    const offOwn = winpop.onEvent((e) => {
      if (e.type === 'unlocked') {
        offOwn();
        resolve();
      }
    });
  });
  await winpop.unlock({ target: 'example.com' });
  await unlocked;
  assert.deepEqual(seen, []);
});

test('a computer call from a window the console did not make, or from an embedded frame, is refused before its arguments are read', async () => {
  const trusted = new TrustedSenders();
  trusted.add({ id: WINDOW_ID, isDestroyed: () => false, getURL: () => APP_ENTRY_URL, send: () => {} });
  const strangers = [
    { webContentsId: WINDOW_ID + 1, frame: { url: APP_ENTRY_URL, isMainFrame: true } },
    { webContentsId: WINDOW_ID, frame: { url: APP_ENTRY_URL, isMainFrame: false } },
    { webContentsId: WINDOW_ID, frame: { url: 'https://evil.example/', isMainFrame: true } },
  ];
  for (const sender of strangers) {
    const reply = await handleComputerCall(computers, trusted, sender, 'connectComputer', [{ host: '127.0.0.1', port: 1, admin: 'alice', password: 'x' }]);
    assert.equal(reply.ok, false);
    if (!reply.ok) assert.equal(reply.error.code, 'NOT_ALLOWED', reply.error.message);
  }
  const two = await handleComputerCall(computers, trusted, { webContentsId: WINDOW_ID, frame: { url: APP_ENTRY_URL, isMainFrame: true } }, 'listComputers', [{}, {}]);
  assert.equal(two.ok, false);
  if (!two.ok) assert.match(two.error.message, /expected one argument object, got 2/);
  assert.deepEqual(computers.list(), [], 'nothing reached the manager');
});
