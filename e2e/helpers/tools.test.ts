/**
 * requireTool, which every test of a real client (curl, mpop, swaks,
 * fetchmail, getmail, openssl, python3) starts with: under CI=true a missing
 * client fails the test, elsewhere it skips it with the reason. Checked
 * through the real test runner, on a file that needs a program.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { run } from './processes.js';
import { REQUIRE_TOOL_FIXTURE } from './require-tool-fixture.js';
/** A program name no machine has. */
const MISSING = `winpop-no-such-client-${randomBytes(4).toString('hex')}`;

/** Runs the fixture under its own test runner, needing `program`, with CI=true or without CI at all. */
function runFixture(program: string, ci: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, WINPOP_FIXTURE_TOOL: program };
  // The runner that runs this file tells its children so; the fixture's runner must report on its own.
  delete env.NODE_TEST_CONTEXT;
  if (ci) env.CI = 'true';
  else delete env.CI;
  return run(process.execPath, ['--test-reporter=tap', REQUIRE_TOOL_FIXTURE], { env });
}

test('under CI=true a missing client fails the test, naming it and its package', async () => {
  const r = await runFixture(MISSING, true);
  assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^not ok 1 - needs the tool$/m);
  assert.ok(
    r.stdout.includes(`${MISSING} is not installed (apt-get install ${MISSING}-package); under CI=true every client the tests drive must be there`),
    r.stdout,
  );
  assert.match(r.stdout, /^# fail 1$/m);
  assert.match(r.stdout, /^# skipped 0$/m);
});

test('without CI a missing client skips the test, with the reason', async () => {
  const r = await runFixture(MISSING, false);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  assert.ok(r.stdout.includes(`ok 1 - needs the tool # SKIP ${MISSING} is not installed (apt-get install ${MISSING}-package)\n`), r.stdout);
  assert.match(r.stdout, /^# skipped 1$/m);
  assert.match(r.stdout, /^# fail 0$/m);
});

test('a client that is installed is found on PATH, with or without CI', async () => {
  for (const ci of [true, false]) {
    const r = await runFixture('sh', ci);
    assert.equal(r.code, 0, `CI ${ci}: ${r.stdout}${r.stderr}`);
    const found = /^found sh at (.+)$/m.exec(r.stdout)?.[1];
    assert.ok(found !== undefined, `CI ${ci}: no path printed:\n${r.stdout}`);
    assert.equal(path.basename(found), 'sh');
    assert.ok(path.isAbsolute(found), found);
    await access(found, constants.X_OK);
    assert.match(r.stdout, /^# pass 1$/m);
  }
});
