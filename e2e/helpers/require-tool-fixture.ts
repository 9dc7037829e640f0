/**
 * A one-test file for tools.test.ts: needs the program named in
 * WINPOP_FIXTURE_TOOL through requireTool, as the client tests do, and
 * prints the path it got. Its test is registered only when it runs as its
 * own process (`node REQUIRE_TOOL_FIXTURE`), so importing it for the path
 * adds no test to the suite.
 */

import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requireTool } from './tools.js';

/** This file, compiled, for `node REQUIRE_TOOL_FIXTURE`. */
export const REQUIRE_TOOL_FIXTURE = fileURLToPath(import.meta.url);

if (process.argv[1] === REQUIRE_TOOL_FIXTURE) {
  test('needs the tool', async (ctx) => {
    const program = process.env.WINPOP_FIXTURE_TOOL ?? '';
    const found = await requireTool(ctx, program, `${program}-package`);
    if (found === null) return;
    console.log(`found ${program} at ${found}`);
  });
}
