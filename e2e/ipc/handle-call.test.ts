/**
 * The main process's IPC handling against a real service: the sender check,
 * argument validation and operation dispatch of handleCall, and the event
 * forwarding. A refused call must get a clear error and change nothing on
 * disk, down to the audit log.
 */

import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IPC_EVENT_CHANNEL, OPERATION_NAMES, type AdminEvent, type Reply } from '../../shared/contract.js';
import { APP_ENTRY_URL, APP_ORIGIN } from '../../electron/app-origin.js';
import { forwardEvents, handleCall } from '../../electron/ipc/handle-call.js';
import { TrustedSenders, type EventSink, type SenderInfo } from '../../electron/ipc/trusted-sender.js';
import { silentLogger } from '../../electron/service/log.js';
import { startService, type ServiceHost } from '../../electron/service/host.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const CONSOLE_ID = 7;
const console_: SenderInfo = { webContentsId: CONSOLE_ID, frame: { url: APP_ENTRY_URL, isMainFrame: true } };

/** A renderer as the event forwarder sees it; records what it is sent. */
function recordingSink(id: number, url: string): EventSink & { received: Array<{ channel: string; payload: unknown }>; destroyed: boolean } {
  return {
    id,
    received: [],
    destroyed: false,
    isDestroyed() {
      return this.destroyed;
    },
    getURL: () => url,
    send(channel: string, ...args: unknown[]) {
      this.received.push({ channel, payload: args[0] });
    },
  };
}

let dir: TempDir;
let mailroot: string;
let outside: string;
let host: ServiceHost;
const trusted = new TrustedSenders();
const consoleSink = recordingSink(CONSOLE_ID, APP_ENTRY_URL);
trusted.add(consoleSink);

/** Every file under a folder with its size and content, so "unchanged" means byte for byte. */
async function snapshot(root: string, skip: (rel: string) => boolean = () => false): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(folder: string): Promise<void> {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      const rel = path.relative(root, full);
      if (skip(rel)) continue;
      if (entry.isDirectory()) {
        out.set(rel + '/', 'dir');
        await walk(full);
      } else if (entry.isFile()) {
        out.set(rel, (await readFile(full)).toString('base64'));
      } else {
        out.set(rel, `other:${(await stat(full)).mode}`);
      }
    }
  }
  await walk(root);
  return out;
}

const isControlSocket = (rel: string): boolean => rel.startsWith('.winpop' + path.sep) && rel.includes('control');

function call(op: unknown, args: readonly unknown[], sender: SenderInfo = console_): Promise<Reply<unknown>> {
  return handleCall(host.admin, trusted, sender, op, args);
}

function assertRefused(reply: Reply<unknown>, code: string, pattern: RegExp): void {
  assert.equal(reply.ok, false, `expected a refusal, got ${JSON.stringify(reply).slice(0, 300)}`);
  if (reply.ok) return;
  assert.equal(reply.error.code, code, reply.error.message);
  assert.match(reply.error.message, pattern);
}

before(async () => {
  dir = await tempDir('winpop-ipc-');
  mailroot = path.join(dir.path, 'mailroot');
  outside = path.join(dir.path, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'sentinel.txt'), 'must survive\n');
  host = await startService({ mailroot, configPath: path.join(dir.path, 'config.json'), pop3Port: 0, smtpPort: 0, log: silentLogger });
  const seeded = [
    await call('addDomain', [{ domain: 'example.com' }]),
    await call('addMailbox', [{ address: 'alice@example.com', password: 'Correct-Horse-7' }]),
    await call('addMailbox', [{ address: 'bob@example.com', password: 'Battery-Staple-9' }]),
  ];
  for (const reply of seeded) assert.ok(reply.ok, JSON.stringify(reply));
});

after(async () => {
  await host?.stop();
  await dir?.remove();
});

describe('a trusted console page', () => {
  test('locks a mailbox through handleCall and gets the contract result', async () => {
    const reply = await call('lock', [{ target: 'Alice@Example.com', reason: 'left the company' }]);
    assert.ok(reply.ok, JSON.stringify(reply));
    const result = reply.result as { target: string; kind: string; locked: boolean; changed: boolean };
    assert.equal(result.kind, 'mailbox');
    assert.equal(result.locked, true);
    assert.equal(result.changed, true);

    const list = await call('listMailboxes', [{ domain: 'example.com' }]);
    assert.ok(list.ok);
    const alice = (list.result as Array<{ address: string; locked: boolean; lock: { reason?: string } | null }>).find((m) => m.address === 'alice@example.com');
    assert.equal(alice?.locked, true);
    assert.equal(alice?.lock?.reason, 'left the company');

    const unlocked = await call('unlock', [{ target: 'alice@example.com' }]);
    assert.ok(unlocked.ok, JSON.stringify(unlocked));
  });

  test('operations without arguments accept an empty object or nothing', async () => {
    assert.ok((await call('listDomains', [{}])).ok);
    assert.ok((await call('listDomains', [])).ok);
    const info = await call('serverInfo', [undefined]);
    assert.ok(info.ok, JSON.stringify(info));
    assert.equal((info.result as { mode: string }).mode, 'in-process');
  });

  test('an error from the service keeps its code', async () => {
    assertRefused(await call('lock', [{ target: 'nobody@example.com' }]), 'NOT_FOUND', /nobody@example\.com/);
    assertRefused(await call('addDomain', [{ domain: 'example.com' }]), 'ALREADY_EXISTS', /example\.com/);
  });

  test('every operation of the contract has a handler path (none is "unknown")', async () => {
    for (const op of OPERATION_NAMES) {
      // Deliberately wrong arguments: the reply must come from the validator, not the unknown-operation check.
      const reply = await call(op, [{ surely: 'not an argument' }]);
      assert.equal(reply.ok, false, op);
      if (!reply.ok) assert.doesNotMatch(reply.error.message, /Unknown operation/, op);
    }
  });
});

describe('refused calls change nothing', () => {
  const untrusted: Array<[string, SenderInfo, RegExp]> = [
    ['a webContents that is not a console window', { webContentsId: 999, frame: { url: APP_ENTRY_URL, isMainFrame: true } }, /not a POP3 Service console window/],
    ['an iframe inside the console', { webContentsId: CONSOLE_ID, frame: { url: APP_ENTRY_URL, isMainFrame: false } }, /embedded frame/],
    ['a frame that has gone away', { webContentsId: CONSOLE_ID, frame: null }, /gone away/],
    ['the console window showing a web page', { webContentsId: CONSOLE_ID, frame: { url: 'https://evil.example/', isMainFrame: true } }, /not the POP3 Service console/],
    ['the console window showing a local file', { webContentsId: CONSOLE_ID, frame: { url: 'file:///tmp/index.html', isMainFrame: true } }, /not the POP3 Service console/],
    ['a look-alike app host', { webContentsId: CONSOLE_ID, frame: { url: `${APP_ORIGIN}.evil/index.html`, isMainFrame: true } }, /not the POP3 Service console/],
    ['another app: host', { webContentsId: CONSOLE_ID, frame: { url: 'app://other/index.html', isMainFrame: true } }, /not the POP3 Service console/],
    ['an app URL with credentials', { webContentsId: CONSOLE_ID, frame: { url: 'app://user:pw@console/index.html', isMainFrame: true } }, /not the POP3 Service console/],
  ];

  for (const [what, sender, pattern] of untrusted) {
    test(`from ${what}: NOT_ALLOWED, store and audit log untouched`, async () => {
      const beforeRoot = await snapshot(mailroot, isControlSocket);
      assertRefused(await call('deleteDomain', [{ domain: 'example.com' }], sender), 'NOT_ALLOWED', pattern);
      assertRefused(await call('lock', [{ target: 'example.com' }], sender), 'NOT_ALLOWED', pattern);
      assertRefused(await call('listDomains', [{}], sender), 'NOT_ALLOWED', pattern);
      assert.deepEqual(await snapshot(mailroot, isControlSocket), beforeRoot);
    });
  }

  test('the sender is checked before the operation name and the arguments', async () => {
    const stranger: SenderInfo = { webContentsId: 4242, frame: { url: 'https://evil.example/', isMainFrame: true } };
    assertRefused(await call('noSuchOperation', [{ x: 1 }], stranger), 'NOT_ALLOWED', /Refused/);
    assertRefused(await call('addDomain', [{ domain: 42 }], stranger), 'NOT_ALLOWED', /Refused/);
  });

  test('a window stops being trusted once it is removed (destroyed)', async () => {
    const sink = recordingSink(55, APP_ENTRY_URL);
    trusted.add(sink);
    const sender: SenderInfo = { webContentsId: 55, frame: { url: APP_ENTRY_URL, isMainFrame: true } };
    assert.ok((await call('listDomains', [{}], sender)).ok);
    trusted.remove(55);
    assertRefused(await call('listDomains', [{}], sender), 'NOT_ALLOWED', /not a POP3 Service console window/);
  });

  const malformed: Array<[string, unknown, unknown[], RegExp]> = [
    ['an unknown operation', 'dropDatabase', [{}], /Unknown operation "dropDatabase"/],
    ['an inherited property as operation', 'constructor', [{}], /Unknown operation "constructor"/],
    ['__proto__ as operation', '__proto__', [{}], /Unknown operation "__proto__"/],
    ['a channel name as operation', 'admin:lock', [{ target: 'example.com' }], /Unknown operation/],
    ['a number as operation', 42, [{}], /Unknown operation "42"/],
    ['two arguments', 'lock', [{ target: 'example.com' }, { target: 'other.com' }], /expected one argument object, got 2/],
    ['a string instead of an object', 'lock', ['example.com'], /expected an object of arguments/],
    ['an array instead of an object', 'lock', [['example.com']], /expected an object of arguments/],
    ['null instead of an object', 'addDomain', [null], /expected an object of arguments/],
    ['a number where a name goes', 'addDomain', [{ domain: 42 }], /"domain" must be a string/],
    ['a list where a target goes', 'lock', [{ target: ['example.com'] }], /"target" must be a string/],
    ['a string where targets go', 'lockMany', [{ targets: 'alice@example.com' }], /"targets" must be a list/],
    ['an empty target list', 'unlockMany', [{ targets: [] }], /"targets" is empty/],
    ['a non-string target in a list', 'lockMany', [{ targets: ['alice@example.com', { evil: true }] }], /target 2 must be/],
    ['an extra argument', 'deleteMailbox', [{ address: 'bob@example.com', force: true }], /unknown argument "force"/],
    ['a prototype-polluting key', 'deleteMailbox', [JSON.parse('{"address":"bob@example.com","__proto__":{"admin":true}}')], /unknown argument "__proto__"/],
    ['a NUL in a name', 'deleteMailbox', [{ address: 'bob@example.com\0.txt' }], /NUL/],
    ['a string port', 'setSettings', [{ patch: { port: '110' } }], /port must be a whole number/],
    ['a port out of range', 'setSettings', [{ patch: { port: 70000 } }], /port must be from 1 to 65535/],
    ['an unknown setting', 'setSettings', [{ patch: { shell: '/bin/sh' } }], /unknown argument "shell"/],
    ['an empty password', 'changePassword', [{ address: 'bob@example.com', password: '' }], /password cannot be empty/],
    ['a password with a line break', 'changePassword', [{ address: 'bob@example.com', password: 'a\r\nQUIT' }], /line breaks/],
    ['a huge password', 'changePassword', [{ address: 'bob@example.com', password: 'x'.repeat(1_000_000) }], /too long \(1000000 characters, at most 256\)/],
    ['a huge domain name', 'deleteDomain', [{ domain: 'a'.repeat(100_000) + '.com' }], /too long/],
    ['a huge reason', 'lock', [{ target: 'example.com', reason: 'r'.repeat(10_000) }], /"reason" is too long/],
    ['too many targets', 'lockMany', [{ targets: Array.from({ length: 100_001 }, (_, i) => `u${i}@example.com`) }], /at most 100000 targets/],
  ];

  for (const [what, op, args, pattern] of malformed) {
    test(`${what}: INVALID_ARGUMENT, store and audit log untouched`, async () => {
      const beforeRoot = await snapshot(mailroot, isControlSocket);
      assertRefused(await call(op, args), 'INVALID_ARGUMENT', pattern);
      assert.deepEqual(await snapshot(mailroot, isControlSocket), beforeRoot);
    });
  }

  // Each refusal names the rule the name breaks, so the administrator can correct it.
  const emptyLabel = (domain: string): string => `"${domain}" has an empty label; a domain cannot have ".." or begin or end with a dot.`;
  const slashInName = 'A mailbox name cannot contain "/". Not allowed: @ ( ) / \\ [ ] : ; , " < > * = | ? +';
  const traversal: Array<[string, unknown[], string]> = [
    ['addDomain', [{ domain: '../x' }], emptyLabel('../x')],
    ['addDomain', [{ domain: '../outside' }], emptyLabel('../outside')],
    ['addDomain', [{ domain: '..' }], emptyLabel('..')],
    ['addDomain', [{ domain: 'a/../../outside.com' }], '"a/../../outside.com" is not a valid domain name: use only letters, digits, hyphens and dots.'],
    ['addDomain', [{ domain: '..\\..\\outside.com' }], emptyLabel('..\\..\\outside.com')],
    ['deleteDomain', [{ domain: '..' }], emptyLabel('..')],
    ['deleteDomain', [{ domain: '../outside' }], emptyLabel('../outside')],
    ['addMailbox', [{ address: '../x@example.com', password: 'Pw-123456' }], slashInName],
    ['addMailbox', [{ address: 'x@../../outside', password: 'Pw-123456' }], emptyLabel('../../outside')],
    ['deleteMailbox', [{ address: '../../outside/sentinel.txt@example.com' }], slashInName],
    ['deleteMailbox', [{ address: 'alice@../outside' }], emptyLabel('../outside')],
    ['lock', [{ target: '../../etc/passwd' }], emptyLabel('../../etc/passwd')],
    ['lock', [{ target: '../x' }], emptyLabel('../x')],
    ['changePassword', [{ address: '..@example.com', password: 'Pw-123456' }], 'A mailbox name cannot begin or end with a dot.'],
    ['listMailboxes', [{ domain: '../outside' }], emptyLabel('../outside')],
    ['listMailboxTable', [{ domain: '../outside' }], emptyLabel('../outside')],
    ['stat', [{ domain: '..' }], emptyLabel('..')],
  ];

  for (const [op, args, message] of traversal) {
    test(`${op} ${JSON.stringify(args[0])}: refused with a clear error, nothing outside or inside the mail root touched`, async () => {
      // The audit log may record a refused administrative change; every other byte must stay.
      const skip = (rel: string) => isControlSocket(rel) || rel === path.join('.winpop', 'audit.log');
      const beforeRoot = await snapshot(mailroot, skip);
      const beforeOutside = await snapshot(dir.path, (rel) => rel === 'mailroot' || rel.startsWith('mailroot' + path.sep) || rel === 'config.json');
      const reply = await call(op, args);
      assert.equal(reply.ok, false, JSON.stringify(reply).slice(0, 300));
      if (!reply.ok) {
        assert.equal(reply.error.code, 'INVALID_ARGUMENT', reply.error.message);
        assert.equal(reply.error.message, message);
      }
      assert.deepEqual(await snapshot(mailroot, skip), beforeRoot);
      assert.deepEqual(await snapshot(dir.path, (rel) => rel === 'mailroot' || rel.startsWith('mailroot' + path.sep) || rel === 'config.json'), beforeOutside);
      assert.equal(await readFile(path.join(outside, 'sentinel.txt'), 'utf8'), 'must survive\n');
    });
  }
});

describe('events', () => {
  test('go to trusted console pages only, on the event channel', async () => {
    const elsewhere = recordingSink(60, 'https://evil.example/');
    const gone = recordingSink(61, APP_ENTRY_URL);
    gone.destroyed = true;
    trusted.add(elsewhere);
    trusted.add(gone);
    consoleSink.received.length = 0;
    const stop = forwardEvents(host.admin, trusted);
    try {
      const reply = await call('lock', [{ target: 'bob@example.com' }]);
      assert.ok(reply.ok, JSON.stringify(reply));
      const deadline = Date.now() + 5000;
      const isBobLocked = (r: { channel: string; payload: unknown }) =>
        r.channel === IPC_EVENT_CHANNEL && (r.payload as AdminEvent).type === 'locked' && (r.payload as { target: string }).target === 'bob@example.com';
      while (!consoleSink.received.some(isBobLocked) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(consoleSink.received.some(isBobLocked), JSON.stringify(consoleSink.received));
      assert.deepEqual(elsewhere.received, []);
      assert.deepEqual(gone.received, []);
    } finally {
      stop();
      trusted.remove(60);
      trusted.remove(61);
      await call('unlock', [{ target: 'bob@example.com' }]);
    }
  });

  test('stop after the unsubscribe', async () => {
    const stop = forwardEvents(host.admin, trusted);
    stop();
    consoleSink.received.length = 0;
    // A listener of our own sees the event; the forwarder, had it stayed subscribed, would have seen it too.
    const seen = new Promise<void>((resolve) => {
      const off = host.admin.onEvent((event) => {
        if (event.type === 'unlocked' && event.target === 'alice@example.com') {
          off();
          resolve();
        }
      });
    });
    assert.ok((await call('lock', [{ target: 'alice@example.com' }])).ok);
    assert.ok((await call('unlock', [{ target: 'alice@example.com' }])).ok);
    await seen;
    assert.deepEqual(consoleSink.received, []);
  });
});
