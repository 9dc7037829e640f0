#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { runWinpop } from '../dist/electron/cli/winpop.js';

const io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: async () => readFileSync(0, 'utf8'),
};
process.exitCode = await runWinpop(process.argv.slice(2), io);
