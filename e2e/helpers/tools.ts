/**
 * The real client programs the tests drive (curl, mpop, swaks, fetchmail,
 * getmail, openssl, python3): found on PATH, or their absence reported.
 *
 * `.ci/setup` installs every one of them, so under CI=true a missing one is a
 * failure: a skipped client test there would pass a build that never talked
 * to that client. Elsewhere (a developer's machine) the test is skipped, with
 * the reason and the package that brings the program.
 */

import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';

/** The full path of a program on PATH, or null. */
export async function which(program: string): Promise<string | null> {
  const extensions = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    for (const extension of extensions) {
      const candidate = path.join(dir, program + extension);
      try {
        await access(candidate, constants.X_OK);
        return candidate;
      } catch {
        // Not in this folder (or not executable there): PATH goes on to the next one.
      }
    }
  }
  return null;
}

/** Whether this run is CI's, where every client the tests need must be installed. */
export function underCi(): boolean {
  return process.env.CI === 'true';
}

/**
 * The path of a client program the test needs. Missing under CI=true, the
 * test fails; elsewhere it is skipped, the reason shown in the test report
 * (and this returns null: the caller returns at once).
 */
export async function requireTool(ctx: TestContext, program: string, debianPackage: string): Promise<string | null> {
  const found = await which(program);
  if (found !== null) return found;
  const why = `${program} is not installed (apt-get install ${debianPackage})`;
  if (underCi()) throw new Error(`${why}; under CI=true every client the tests drive must be there (.ci/setup installs it), so this is a failure, not a skip.`);
  ctx.skip(why);
  return null;
}
