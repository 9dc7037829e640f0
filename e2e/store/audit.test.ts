/** The audit log: one JSON line per entry, read back newest last. */

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { appendAudit, readAudit } from '../../electron/service/store/index.js';
import { open, removeRoot, tempRoot } from './store-fixture.js';

describe('audit log', () => {
  let root: string;
  before(async () => {
    root = await tempRoot();
    await open(root);
  });
  after(() => removeRoot(root));

  it('appends one line per entry with an ISO time and reads the last ones back', async () => {
    assert.deepEqual(await readAudit(root), []);
    await appendAudit(root, { actor: 'admin', op: 'lock', target: 'bob@example.com', result: 'ok' });
    await appendAudit(root, { actor: 'admin', op: 'addMailbox', target: 'x@example.com', result: 'error', detail: 'line one\nline two' });
    const text = await fsp.readFile(path.join(root, '.winpop', 'audit.log'), 'utf8');
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    const first = JSON.parse(lines[0]!);
    assert.equal(first.op, 'lock');
    assert.ok(!Number.isNaN(Date.parse(first.time)) && first.time === new Date(first.time).toISOString());
    const entries = await readAudit(root);
    assert.deepEqual(entries.map((e) => [e.op, e.result, e.detail]), [
      ['lock', 'ok', undefined],
      ['addMailbox', 'error', 'line one\nline two'],
    ]);
  });

  it('records the caller\'s OS uid when known, and still reads lines written before the uid existed', async () => {
    const log = path.join(root, '.winpop', 'audit.log');
    // A line as versions without the uid wrote it.
    await fsp.appendFile(log, `${JSON.stringify({ time: new Date().toISOString(), actor: 'old-admin', op: 'lock', target: 'old@example.com', result: 'ok' })}\n`);
    await appendAudit(root, { actor: 'alice', uid: 1234, op: 'lock', target: 'new@example.com', result: 'ok' });
    await appendAudit(root, { actor: 'bob', uid: -1, op: 'lock', target: 'bad-uid@example.com', result: 'ok' });
    const written = JSON.parse((await fsp.readFile(log, 'utf8')).trimEnd().split('\n').at(-2)!);
    assert.deepEqual(Object.keys(written), ['time', 'actor', 'uid', 'op', 'target', 'result'], 'the uid stands beside the claimed name');
    const entries = (await readAudit(root)).slice(-3);
    assert.deepEqual(entries.map((e) => [e.actor, e.uid]), [
      ['old-admin', undefined],
      ['alice', 1234],
      ['bob', undefined],
    ]);
  });

  it('keeps every line whole under concurrent writers, skips a torn last line, and honours the limit', async () => {
    await Promise.all(Array.from({ length: 200 }, (_, i) => appendAudit(root, { actor: 'a', op: 'unlock', target: `m${i}@example.com`, result: 'ok', detail: 'x'.repeat(i * 50) })));
    await fsp.appendFile(path.join(root, '.winpop', 'audit.log'), '{"time":"2026-');
    const last = await readAudit(root, 150);
    assert.equal(last.length, 150);
    assert.ok(last.every((e) => e.op === 'unlock'));
    const all = await readAudit(root, 10_000);
    assert.equal(all.length, 205);
    assert.equal(new Set(all.map((e) => e.target)).size, 205);
  });
});
