/**
 * The console's command-line switches and environment.
 *
 * `--config FILE` and `--mailroot DIR` (or WINPOP_CONFIG / WINPOP_MAILROOT)
 * choose the store, as for `pop3svc`; `--pop3-port N` and `--smtp-port N`
 * override the configured ports (0 = any free port), and `--user-data DIR`
 * (or WINPOP_USER_DATA) gives the console its own profile folder, so a test
 * instance neither shares state with nor yields to an open console. Both
 * `--name value` and `--name=value` are accepted: Chromium's own switch parser
 * only knows the second form, and test launchers pass the first.
 */

import path from 'node:path';

export interface LaunchOptions {
  readonly configPath?: string;
  readonly mailroot?: string;
  readonly pop3Port?: number;
  readonly smtpPort?: number;
  readonly userData?: string;
}

const SWITCHES = {
  config: 'configPath',
  mailroot: 'mailroot',
  'pop3-port': 'pop3Port',
  'smtp-port': 'smtpPort',
  'user-data': 'userData',
} as const satisfies Record<string, keyof LaunchOptions>;

type SwitchName = keyof typeof SWITCHES;

function isSwitchName(name: string): name is SwitchName {
  return Object.prototype.hasOwnProperty.call(SWITCHES, name);
}

function port(value: string, name: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n > 65535) {
    throw new Error(`--${name} must be a port number from 0 to 65535 (0 picks a free port); got "${value}".`);
  }
  return n;
}

/**
 * Reads our switches from the process arguments and environment.
 *
 * Unknown arguments are left alone: Electron and Chromium add their own.
 * A switch of ours without a value is an error that names it.
 */
export function parseLaunchOptions(argv: readonly string[], env: NodeJS.ProcessEnv): LaunchOptions {
  const found: Partial<Record<SwitchName, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!isSwitchName(name)) continue;
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value, for example --${name} ${name === 'config' ? 'FILE' : name.endsWith('port') ? '0' : 'DIR'}.`);
      i++;
    }
    if (value === '') throw new Error(`--${name} needs a value.`);
    found[name] = value;
  }

  // Relative paths mean relative to where the console was started, as in a shell.
  const config = found.config ?? (env.WINPOP_CONFIG || undefined);
  const root = found.mailroot ?? (env.WINPOP_MAILROOT || undefined);
  const configPath = config === undefined ? undefined : path.resolve(config);
  const mailroot = root === undefined ? undefined : path.resolve(root);
  const profile = found['user-data'] ?? (env.WINPOP_USER_DATA || undefined);
  const userData = profile === undefined ? undefined : path.resolve(profile);
  return {
    ...(configPath !== undefined ? { configPath } : {}),
    ...(mailroot !== undefined ? { mailroot } : {}),
    ...(found['pop3-port'] !== undefined ? { pop3Port: port(found['pop3-port'], 'pop3-port') } : {}),
    ...(found['smtp-port'] !== undefined ? { smtpPort: port(found['smtp-port'], 'smtp-port') } : {}),
    ...(userData !== undefined ? { userData } : {}),
  };
}
