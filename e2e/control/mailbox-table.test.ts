/**
 * listMailboxTable: a domain's mailboxes in columns, as the console fetches
 * them. Checked against listMailboxes on a real store (mail, own locks with
 * and without a reason, a locked domain, empty domains), in-process and
 * over the real control channel.
 */

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { AdminApi, ServerInfo } from '../../shared/contract.js';
import { mailboxTableRows } from '../../shared/mailbox-table.js';
import { createAdminService } from '../../electron/service/admin/admin-service.js';
import { connectControl, type ControlClient } from '../../electron/service/admin/control-client.js';
import { controlSocketPath } from '../../electron/service/admin/control-path.js';
import { serveControl, type ControlServer } from '../../electron/service/admin/control-server.js';
import { loadConfig } from '../../electron/service/config.js';
import { silentLogger } from '../../electron/service/log.js';
import { createSettingsHolder } from '../../electron/service/settings-holder.js';
import { openMailStore, readAudit } from '../../electron/service/store/index.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { rejection } from '../helpers/rejection.js';

const DOMAINS = ['example.com', 'locked.org', 'empty.net', 'shut.net'];

let dir: TempDir;
let store: MailStore;
let admin: AdminApi;
let server: ControlServer;
let client: ControlClient;

function mail(text: string): Readable {
  return Readable.from([Buffer.from(text, 'latin1')]);
}

before(async () => {
  dir = await tempDir('winpop-table-');
  const mailroot = path.join(dir.path, 'mail');
  const configPath = path.join(dir.path, 'winpop.json');
  store = await openMailStore(mailroot, { fsync: false });
  const settings = createSettingsHolder(configPath, await loadConfig(configPath), { mailroot });
  const info = (): ServerInfo => ({ computer: os.hostname(), version: 'test', mailroot, mode: 'in-process', listeners: [], sessions: 0 });
  const service = createAdminService({ store, settings, info, log: silentLogger });
  admin = service.forActor('tester');
  server = await serveControl(service, controlSocketPath(mailroot), silentLogger);
  const connected = await connectControl(mailroot, 'shell-admin');
  assert.ok(connected, 'the control channel should answer');
  client = connected;

  for (const domain of DOMAINS) await admin.addDomain({ domain });
  // Added out of order: the table must keep listMailboxes' (sorted) order.
  for (const name of ['carol', 'alice', 'dave', 'bob']) await admin.addMailbox({ address: `${name}@example.com`, password: 'some-password' });
  for (const name of ['erin', 'frank']) await admin.addMailbox({ address: `${name}@locked.org`, password: 'some-password' });
  await store.deliver('alice@example.com', mail('Subject: one\n\nHello.\n'));
  await store.deliver('alice@example.com', mail('Subject: two\n\nHello again, a longer one.\n'));
  await store.deliver('dave@example.com', mail('Subject: three\n\nHi.\n'));
  await store.deliver('frank@locked.org', mail('Subject: four\n\nHi.\n'));
  await admin.lock({ target: 'bob@example.com', reason: 'left the company' });
  await admin.lock({ target: 'dave@example.com' });
  await admin.lock({ target: 'frank@locked.org', reason: 'own lock under a domain lock' });
  await admin.lock({ target: 'locked.org' });
  await admin.lock({ target: 'shut.net' });
});

after(async () => {
  client?.close();
  await server?.close();
  await dir?.remove();
});

describe('listMailboxTable', () => {
  test('expands into exactly the rows of listMailboxes, for every kind of domain', async () => {
    for (const domain of DOMAINS) {
      const table = await admin.listMailboxTable({ domain });
      assert.equal(table.domain, domain);
      assert.equal(table.names.length, table.messages.length, domain);
      assert.equal(table.names.length, table.bytes.length, domain);
      assert.deepEqual(mailboxTableRows(table), await admin.listMailboxes({ domain }), domain);
    }
  });

  test('holds columns: names in order, counts, sizes, and only the own locks by row', async () => {
    const rows = await admin.listMailboxes({ domain: 'example.com' });
    const table = await admin.listMailboxTable({ domain: 'example.com' });
    assert.deepEqual(table.names, ['alice', 'bob', 'carol', 'dave']);
    assert.deepEqual(table.messages, [2, 0, 0, 1]);
    assert.deepEqual(table.bytes, rows.map((r) => r.bytes));
    // Their size on disk, as delivered (CRLF wire form: each LF sent gets its CR): alice 24 + 44 bytes, dave 23.
    assert.deepEqual(table.bytes, [68, 0, 0, 23]);
    assert.equal(table.domainLocked, false);
    assert.deepEqual(Object.keys(table.locks), ['1', '3']);
    assert.equal(table.locks[1]?.reason, 'left the company');
    assert.equal(table.locks[1]?.by, 'tester');
    assert.equal(table.locks[3]?.reason, undefined);
  });

  test('a locked domain: every row locked through it, own locks kept', async () => {
    const table = await admin.listMailboxTable({ domain: 'locked.org' });
    assert.equal(table.domainLocked, true);
    assert.deepEqual(Object.keys(table.locks), ['1']);
    const rows = mailboxTableRows(table);
    assert.deepEqual(
      rows.map((r) => [r.address, r.domainLocked, r.locked, r.lock?.reason ?? null]),
      [
        ['erin@locked.org', true, true, null],
        ['frank@locked.org', true, true, 'own lock under a domain lock'],
      ],
    );
  });

  test('an empty domain still says whether it is locked', async () => {
    assert.deepEqual(await admin.listMailboxTable({ domain: 'empty.net' }), { domain: 'empty.net', domainLocked: false, names: [], messages: [], bytes: [], locks: {} });
    assert.equal((await admin.listMailboxTable({ domain: 'shut.net' })).domainLocked, true);
  });

  test('takes the domain as listMailboxes does: any case, normalized', async () => {
    const table = await admin.listMailboxTable({ domain: 'Example.COM' });
    assert.equal(table.domain, 'example.com');
    assert.equal(mailboxTableRows(table)[0]?.address, 'alice@example.com');
  });

  test('bad arguments get INVALID_ARGUMENT naming the problem; a missing domain NOT_FOUND', async () => {
    const call = admin.listMailboxTable as (args: unknown) => Promise<unknown>;
    const missing = await rejection(call({}));
    assert.equal(missing.code, 'INVALID_ARGUMENT');
    assert.match(missing.message, /listMailboxTable: "domain" must be a string/);
    const extra = await rejection(call({ domain: 'example.com', limit: 10 }));
    assert.equal(extra.code, 'INVALID_ARGUMENT');
    assert.match(extra.message, /unknown argument "limit"/);
    assert.equal((await rejection(call({ domain: 42 }))).code, 'INVALID_ARGUMENT');
    assert.equal((await rejection(call('example.com'))).code, 'INVALID_ARGUMENT');
    assert.equal((await rejection(call({ domain: '../outside' }))).code, 'INVALID_ARGUMENT');
    const absent = await rejection(admin.listMailboxTable({ domain: 'nowhere.example' }));
    assert.equal(absent.code, 'NOT_FOUND');
  });

  test('is read-only: it writes no audit line', async () => {
    await admin.listMailboxTable({ domain: 'example.com' });
    const audit = await readAudit(store.root, 1000);
    assert.equal(audit.filter((e) => e.op === 'listMailboxTable').length, 0);
  });
});

describe('listMailboxTable over the control channel', () => {
  test('the same table as in-process, and its rows the same as listMailboxes', async () => {
    for (const domain of DOMAINS) {
      const remote = await client.listMailboxTable({ domain });
      assert.deepEqual(remote, await admin.listMailboxTable({ domain }), domain);
      assert.deepEqual(mailboxTableRows(remote), await client.listMailboxes({ domain }), domain);
    }
  });

  test('bad arguments keep their code and message', async () => {
    const call = client.listMailboxTable as (args: unknown) => Promise<unknown>;
    const bad = await rejection(call({ domain: ['example.com'] }));
    assert.equal(bad.code, 'INVALID_ARGUMENT');
    assert.match(bad.message, /"domain" must be a string/);
    assert.equal((await rejection(client.listMailboxTable({ domain: 'nowhere.example' }))).code, 'NOT_FOUND');
  });
});

describe('listMailboxTable with damaged state files', () => {
  test("carries each damaged mailbox's problem by row and the domain's once, and expands into listMailboxes' rows", async () => {
    await admin.addDomain({ domain: 'broken.net' });
    for (const name of ['gina', 'hank', 'ida']) await admin.addMailbox({ address: `${name}@broken.net`, password: 'some-password' });
    await writeFile(path.join(store.root, 'broken.net', 'hank', '.winpop-mailbox.json'), '{ "version": 1');
    // The service learns of a file damaged behind its back when it next reads it: here a log-in.
    await assert.rejects(store.checkLogin('hank@broken.net', 'some-password'), /is damaged/);
    const local = await admin.listMailboxTable({ domain: 'broken.net' });
    assert.deepEqual(Object.keys(local.problems ?? {}), ['1']);
    assert.match(local.problems?.[1] ?? '', /hank\/\.winpop-mailbox\.json is damaged \(not valid JSON\)/);
    assert.equal(local.domainProblem, undefined);
    assert.deepEqual(mailboxTableRows(local), await admin.listMailboxes({ domain: 'broken.net' }));

    await writeFile(path.join(store.root, 'broken.net', '.winpop-domain.json'), 'garbage');
    for (const table of [await admin.listMailboxTable({ domain: 'broken.net' }), await client.listMailboxTable({ domain: 'broken.net' })]) {
      assert.match(table.domainProblem ?? '', /broken\.net\/\.winpop-domain\.json is damaged/);
      const rows = mailboxTableRows(table);
      assert.deepEqual(rows, await client.listMailboxes({ domain: 'broken.net' }));
      assert.ok(rows.every((r) => r.domainProblem === table.domainProblem));
      assert.deepEqual(rows.map((r) => r.problem !== undefined), [false, true, false]);
    }
    // An empty domain with a damaged file says so too.
    await admin.addDomain({ domain: 'bare.net' });
    await writeFile(path.join(store.root, 'bare.net', '.winpop-domain.json'), '[]');
    assert.match((await admin.listMailboxTable({ domain: 'bare.net' })).domainProblem ?? '', /bare\.net\/\.winpop-domain\.json is damaged \(not a JSON object\)/);
  });
});

