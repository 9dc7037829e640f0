/**
 * Runs the real `winpop` command line against a test's mail root, as an
 * administrator would from a shell.
 */

import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, type RunningService } from './service-fixture.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function winpop(service: RunningService, args: readonly string[]): Promise<CliResult> {
  const bin = path.join(REPO_ROOT, 'bin', 'winpop.js');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, '--config', service.configPath, '--mailroot', service.mailroot, ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
