/**
 * `npm start`: the console, always. With an Electron binary it runs the
 * desktop console as before; without one (it was never downloaded, e.g. no
 * internet at `npm ci`), or with `--browser`, it says so in one line and
 * opens the console in a browser instead (browser-console.ts).
 *
 * This module must load where Electron is missing, so it never imports
 * `electron`; the binary is found by its files (electron-binary.ts).
 */

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBrowserConsole } from './browser-console.js';
import { findElectronBinary } from './electron-binary.js';

/** dist/electron/launch when built. */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const APP_DIR = path.join(HERE, '..', '..', '..');
const RENDERER_DIR = path.join(HERE, '..', '..', 'renderer');

export const START_USAGE = `Usage: npm start [-- OPTIONS]

Opens the POP3 Service console: the desktop console where Electron is installed, else the
console in a browser (the service with its admin endpoint on 127.0.0.1 and a one-time sign-in link).
  --browser         the console in a browser even where Electron is installed
  --no-open         print the sign-in link but start no browser
  --config FILE     config file (default: the platform's location; see winpop get mailroot)
  --mailroot DIR    mail store (default: from the config file)
  --pop3-port N     POP3 port for this run (default: from the config; 1110 for a user who may not bind 110)
  --smtp-port N     SMTP port for this run (default: from the config; 2525 for a user who may not bind 25)
  --admin-port N    the admin endpoint's port in a browser run (default: from the config, else 8110)`;

interface StartArgs {
  browser: boolean;
  noOpen: boolean;
  help: boolean;
  configPath?: string;
  mailroot?: string;
  pop3Port?: number;
  smtpPort?: number;
  adminPort?: number;
  /** Everything but --browser, --no-open and --admin-port, for the Electron console. */
  electronArgs: string[];
}

const VALUED = ['config', 'mailroot', 'pop3-port', 'smtp-port', 'admin-port'] as const;

function port(value: string, name: string, min: number): number {
  if (!/^[0-9]+$/.test(value) || Number(value) > 65535 || Number(value) < min) {
    throw new Error(`--${name} must be a port number from ${min} to 65535; got "${value}".`);
  }
  return Number(value);
}

/** Reads the options; unknown ones are left for Electron (which takes Chromium's switches). */
export function parseStartArgs(argv: readonly string[]): StartArgs {
  const args: StartArgs = { browser: false, noOpen: false, help: false, electronArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--browser') args.browser = true;
    else if (arg === '--no-open') args.noOpen = true;
    else if (arg === '--help' || arg === '-h') args.help = true;
    else {
      const eq = arg.indexOf('=');
      const name = arg.startsWith('--') ? arg.slice(2, eq < 0 ? undefined : eq) : '';
      if (!(VALUED as readonly string[]).includes(name)) {
        args.electronArgs.push(arg);
        continue;
      }
      const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '') throw new Error(`--${name} needs a value.`);
      if (name !== 'admin-port') args.electronArgs.push(`--${name}=${value}`);
      switch (name) {
        case 'config':
          args.configPath = path.resolve(value);
          break;
        case 'mailroot':
          args.mailroot = path.resolve(value);
          break;
        case 'pop3-port':
          args.pop3Port = port(value, name, 0);
          break;
        case 'smtp-port':
          args.smtpPort = port(value, name, 0);
          break;
        case 'admin-port':
          args.adminPort = port(value, name, 1);
          break;
      }
    }
  }
  return args;
}

/** Runs the Electron console until it exits; its exit code. */
function runElectron(binary: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(binary, [APP_DIR, ...args], { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.once('error', (err) => {
      process.stderr.write(`npm start: Electron (${binary}) could not start: ${err.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/** Until SIGINT or SIGTERM. */
function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export async function runStart(argv: readonly string[]): Promise<number> {
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  let args: StartArgs;
  try {
    args = parseStartArgs(argv);
  } catch (err) {
    process.stderr.write(`npm start: ${(err as Error).message}\n${START_USAGE}\n`);
    return 2;
  }
  if (args.help) {
    out(START_USAGE);
    return 0;
  }
  if (!args.browser) {
    const electron = findElectronBinary();
    if ('path' in electron) return runElectron(electron.path, args.electronArgs);
    out(`npm start: no Electron binary, so the console opens in a browser instead (${electron.missing}).`);
  } else {
    out('npm start: the console in a browser (--browser).');
  }
  try {
    const running = await startBrowserConsole({
      staticDir: RENDERER_DIR,
      out,
      noOpen: args.noOpen,
      ...(args.configPath ? { configPath: args.configPath } : {}),
      ...(args.mailroot ? { mailroot: args.mailroot } : {}),
      ...(args.pop3Port !== undefined ? { pop3Port: args.pop3Port } : {}),
      ...(args.smtpPort !== undefined ? { smtpPort: args.smtpPort } : {}),
      ...(args.adminPort !== undefined ? { adminPort: args.adminPort } : {}),
    });
    if (running.kind === 'attached') return 0;
    const signal = await untilStopped();
    out(`${signal} received: stopping the service.`);
    await running.stop();
    return 0;
  } catch (err) {
    process.stderr.write(`npm start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
