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

  it('keeps every line whole under concurrent writers, skips a torn last line, and honours the limit', async () => {
    await Promise.all(Array.from({ length: 200 }, (_, i) => appendAudit(root, { actor: 'a', op: 'unlock', target: `m${i}@example.com`, result: 'ok', detail: 'x'.repeat(i * 50) })));
    await fsp.appendFile(path.join(root, '.winpop', 'audit.log'), '{"time":"2026-');
    const last = await readAudit(root, 150);
    assert.equal(last.length, 150);
    assert.ok(last.every((e) => e.op === 'unlock'));
    const all = await readAudit(root, 10_000);
    assert.equal(all.length, 202);
    assert.equal(new Set(all.map((e) => e.target)).size, 202);
  });
});
