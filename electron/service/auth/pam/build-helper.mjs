/**
 * Compiles the PAM helper (winpop-pam.c) into dist/, beside the compiled
 * system-accounts module, on Linux and macOS.
 *
 * Without a C compiler or the PAM headers the "System accounts" method answers
 * every log-in `unavailable` and says why; so this warns and goes on, except
 * under CI=true, where the tests need the helper and a missing one must fail.
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../../..');
const source = path.join(here, 'winpop-pam.c');
const outDir = path.join(root, 'dist/electron/service/auth/pam');
const output = path.join(outDir, 'winpop-pam');

if (process.platform !== 'linux' && process.platform !== 'darwin') {
  console.log(`build:pam: no PAM on ${process.platform}; the System accounts method is not available here (see the README).`);
  process.exit(0);
}
mkdirSync(outDir, { recursive: true });
const cc = process.env.CC || 'cc';
const result = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-o', output, source, '-lpam'], { encoding: 'utf8' });
if (result.status === 0) {
  console.log(`build:pam: built ${path.relative(root, output)}`);
  process.exit(0);
}
const why = result.error ? `${cc} cannot run (${result.error.message})` : (result.stderr || '').trim();
const message = `build:pam: cannot build the PAM helper, so the System accounts method will answer "unavailable": ${why}\n` +
  'Install a C compiler and the PAM headers (Debian: apt-get install gcc libc6-dev libpam0g-dev), then run npm run build:pam.';
if (process.env.CI === 'true') {
  console.error(message);
  process.exit(1);
}
console.warn(message);
