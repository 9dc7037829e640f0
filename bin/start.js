#!/usr/bin/env node
// npm start: the desktop console where Electron is installed, else the console in a browser (see README).
import { runStart } from '../dist/electron/launch/start.js';

process.exitCode = await runStart(process.argv.slice(2));
