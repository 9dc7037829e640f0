/**
 * The import boundaries of the layout, as the linter enforces them in CI:
 * the project passes, and a file that crosses a boundary is caught. The
 * second half lays out small offending files in a scratch tree shaped like
 * the project and lints them with the project's own configuration, so a rule
 * that stops matching (a glob or pattern typo) fails here.
 */

import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, run } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const OXLINT = path.join(REPO_ROOT, 'node_modules', 'oxlint', 'bin', 'oxlint');

/** File → source; `bad` files must be reported, the others not. */
const CASES: readonly { file: string; source: string; bad: boolean }[] = [
  { file: 'electron/service/admin/imports-electron.ts', source: "import { app } from 'electron';\nexport { app };\n", bad: true },
  { file: 'electron/service/admin/imports-electron-late.ts', source: "export const late = () => import('electron');\n", bad: true },
  { file: 'electron/service/admin/imports-cli.ts', source: "import { main } from '../../cli/winpop.js';\nexport { main };\n", bad: true },
  { file: 'electron/service/admin/imports-ipc.ts', source: "import { register } from '../../ipc/register.js';\nexport { register };\n", bad: true },
  { file: 'electron/service/imports-window.ts', source: "import { open } from '../window.js';\nexport { open };\n", bad: true },
  { file: 'electron/service/admin/imports-main.ts', source: "import { main } from '../../main.js';\nexport { main };\n", bad: true },
  { file: 'electron/service/store/deep/imports-renderer.ts', source: "import { App } from '../../../../renderer/src/App.js';\nexport { App };\n", bad: true },
  { file: 'electron/main-with-ipc.ts', source: "import { ipcMain } from 'electron';\nexport { ipcMain };\n", bad: true },
  { file: 'electron/cli/imports-electron.ts', source: "import { app } from 'electron';\nexport { app };\n", bad: true },
  { file: 'shared/imports-node.ts', source: "import fs from 'node:fs';\nexport { fs };\n", bad: true },
  { file: 'shared/imports-service.ts', source: "import { x } from '../electron/service/host.js';\nexport { x };\n", bad: true },
  { file: 'renderer/src/imports-service.ts', source: "import { x } from '../../electron/service/host.js';\nexport { x };\n", bad: true },
  { file: 'renderer/src/imports-electron.ts', source: "import { ipcRenderer } from 'electron';\nexport { ipcRenderer };\n", bad: true },
  { file: 'electron/service/admin/fine.ts', source: "import { OPERATION_NAMES } from '../../../shared/contract.js';\nimport { x } from '../store/index.js';\nexport { OPERATION_NAMES, x };\n", bad: false },
  { file: 'electron/ipc/fine.ts', source: "import { ipcMain } from 'electron';\nimport { x } from '../service/host.js';\nexport { ipcMain, x };\n", bad: false },
  { file: 'electron/fine-window.ts', source: "import { BrowserWindow } from 'electron';\nexport { BrowserWindow };\n", bad: false },
  { file: 'electron/cli/fine.ts', source: "import { x } from '../service/host.js';\nexport { x };\n", bad: false },
  { file: 'renderer/src/fine.ts', source: "import { OPERATION_NAMES } from '../../shared/contract.js';\nexport { OPERATION_NAMES };\n", bad: false },
  // The store: each job builds on the core only; only mail-store.ts puts the jobs together.
  { file: 'electron/service/store/jobs/uses-another-job.ts', source: "import { Listing } from './listing.js';\nexport { Listing };\n", bad: true },
  { file: 'electron/service/store/jobs/uses-the-store.ts', source: "import { FileMailStore } from '../mail-store.js';\nexport { FileMailStore };\n", bad: true },
  { file: 'electron/service/store/jobs/imports-electron.ts', source: "import { app } from 'electron';\nexport { app };\n", bad: true },
  { file: 'electron/service/store/core-uses-a-job.ts', source: "import { Listing } from './jobs/listing.js';\nexport { Listing };\n", bad: true },
  { file: 'electron/service/store/jobs/fine.ts', source: "import { StoreCore } from '../store-core.js';\nimport { isLocked } from '../../../../shared/lock-rule.js';\nexport { StoreCore, isLocked };\n", bad: false },
  { file: 'electron/service/store/mail-store.ts', source: "import { Listing } from './jobs/listing.js';\nexport { Listing };\n", bad: false },
  // POP3, SMTP and the admin layer reach the store through their ports, not the whole MailStore.
  { file: 'electron/service/pop3/uses-mail-store.ts', source: "import type { MailStore } from '../store/types.js';\nexport type { MailStore };\n", bad: true },
  { file: 'electron/service/smtp/uses-mail-store.ts', source: "import type { MailStore } from '../store/index.js';\nexport type { MailStore };\n", bad: true },
  { file: 'electron/service/admin/uses-file-store.ts', source: "import { FileMailStore } from '../store/mail-store.js';\nexport { FileMailStore };\n", bad: true },
  { file: 'electron/service/pop3/imports-electron.ts', source: "import { app } from 'electron';\nexport { app };\n", bad: true },
  { file: 'electron/service/pop3/fine.ts', source: "import type { Pop3StorePort } from '../store/types.js';\nexport type { Pop3StorePort };\n", bad: false },
];

/** The files oxlint reported, from its JSON output. */
function reportedFiles(stdout: string): Set<string> {
  const report = JSON.parse(stdout) as { diagnostics: { filename: string; code: string }[] };
  return new Set(report.diagnostics.filter((d) => d.code === 'eslint(no-restricted-imports)').map((d) => d.filename.split(path.sep).join('/')));
}

describe('import boundaries (oxlint)', () => {
  let scratch: TempDir;

  before(async () => {
    scratch = await tempDir('winpop-lint-');
    await copyFile(path.join(REPO_ROOT, '.oxlintrc.json'), path.join(scratch.path, '.oxlintrc.json'));
    for (const c of CASES) {
      await mkdir(path.dirname(path.join(scratch.path, c.file)), { recursive: true });
      await writeFile(path.join(scratch.path, c.file), c.source);
    }
  });
  after(() => scratch.remove());

  it('the project itself crosses no boundary', async () => {
    const result = await run(process.execPath, [OXLINT, '--format', 'json', 'electron', 'shared', 'renderer'], { cwd: REPO_ROOT });
    assert.deepEqual([...reportedFiles(result.stdout)], [], result.stdout);
  });

  it('reports every file that crosses a boundary, and only those', async () => {
    const result = await run(process.execPath, [OXLINT, '--format', 'json', '.'], { cwd: scratch.path });
    assert.notEqual(result.code, 0, 'oxlint must exit non-zero on a violation');
    const reported = reportedFiles(result.stdout);
    for (const c of CASES) assert.equal(reported.has(c.file), c.bad, `${c.file}: ${c.bad ? 'not reported' : 'reported without cause'}`);
  });
});
