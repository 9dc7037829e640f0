#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { HiddenPrompt } from '../dist/electron/cli/hidden-prompt.js';
import { runWinpop } from '../dist/electron/cli/winpop.js';

const io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: async () => readFileSync(0, 'utf8'),
  // A password is asked for only on a terminal; the prompt writes to stderr so stdout stays the result.
  ...(process.stdin.isTTY ? { openPrompt: () => new HiddenPrompt(process.stdin, process.stderr) } : {}),
};
process.exitCode = await runWinpop(process.argv.slice(2), io);
