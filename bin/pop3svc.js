#!/usr/bin/env node
import { runPop3svc } from '../dist/electron/cli/pop3svc.js';

process.exitCode = await runPop3svc(process.argv.slice(2));
