/**
 * `pop3svc install | uninstall | status`: the service as the operating
 * system's own (systemd on Linux, launchd on macOS, the service manager on
 * Windows). Under pop3svc rather than winpop: they set up the program that
 * pop3svc is, as root, where winpop administers a running service and may
 * be run by the service's own user.
 */

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultConfigPath } from '../service/config.js';
import { DEFAULT_SERVICE_USER } from '../service/system/systemd-unit.js';
import { installLinux, InstallError, statusLinux, SYSTEM_CONFIG, SYSTEM_UNIT_DIR, uninstallLinux, type LinuxServiceOptions } from '../service/system/linux-install.js';
import { installDarwin, installWindows, uninstallDarwin, uninstallWindows } from '../service/system/other-install.js';

export const SERVICE_COMMANDS = ['install', 'uninstall', 'status'] as const;
export type ServiceCommand = (typeof SERVICE_COMMANDS)[number];

export const SERVICE_USAGE = `Usage: pop3svc install [--user NAME] [--config FILE] [--mailroot DIR] [--force]
       pop3svc uninstall
       pop3svc status

install (as root) runs the service at every boot as a system service.
Linux: a systemd unit (${SYSTEM_UNIT_DIR}/winpop.service) running pop3svc as the
unprivileged user NAME (default ${DEFAULT_SERVICE_USER}; created if missing, without a home
folder or log-in shell), which is given the mail root and the config folder;
enabled and started where systemd runs. Run again, it changes only what
differs; a unit edited by hand is left alone unless --force (the edited copy
is kept as winpop.service.bak). macOS: a launchd daemon. Windows: a service
through WinSW (--winsw FILE).
  --user NAME      the service's user (Linux; macOS: an existing account)
  --config FILE    its config file (default: ${SYSTEM_CONFIG} on Linux)
  --mailroot DIR   its mail root (default: the config's, else /var/lib/winpop/mailroot)
  --force          replace a unit that was edited by hand
uninstall stops and removes the unit; the mail root, the config and the
user stay. status says what is installed and whether it runs: exit 0
running, 3 installed but not running, 4 not installed.`;

function pop3svcProgram(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'pop3svc.js');
}

export async function runServiceCommand(command: ServiceCommand, argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        user: { type: 'string' },
        config: { type: 'string' },
        mailroot: { type: 'string' },
        'unit-dir': { type: 'string' },
        winsw: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`pop3svc ${command}: ${(err as Error).message}\n${SERVICE_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${SERVICE_USAGE}\n`);
    return 0;
  }
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const node = process.execPath;
  const program = pop3svcProgram();
  try {
    if (process.platform === 'linux') {
      const options: LinuxServiceOptions = {
        user: values.user ?? DEFAULT_SERVICE_USER,
        configFile: path.resolve(values.config ?? SYSTEM_CONFIG),
        ...(values.mailroot ? { mailroot: path.resolve(values.mailroot) } : {}),
        // Where the unit goes; for tests and staging roots, systemd's own folder otherwise.
        unitDir: path.resolve(values['unit-dir'] ?? SYSTEM_UNIT_DIR),
        force: values.force ?? false,
        node,
        program,
        say,
      };
      if (command === 'install') await installLinux(options);
      else if (command === 'uninstall') await uninstallLinux(options);
      else return await statusLinux(options);
      return 0;
    }
    const other = { node, program, configFile: path.resolve(values.config ?? defaultConfigPath()), ...(values.user ? { user: values.user } : {}), ...(values.winsw ? { winsw: values.winsw } : {}), say };
    if (command === 'status') {
      process.stderr.write(`pop3svc status: on ${process.platform}, ask the OS: ${process.platform === 'win32' ? 'sc.exe query winpop' : 'launchctl print system/org.winpop.pop3svc'}\n`);
      return 4;
    }
    if (process.platform === 'darwin') await (command === 'install' ? installDarwin(other) : uninstallDarwin(other));
    else if (process.platform === 'win32') await (command === 'install' ? installWindows(other) : uninstallWindows(other));
    else throw new InstallError(`pop3svc ${command} knows systemd, launchd and Windows services; not ${process.platform}.`);
    return 0;
  } catch (err) {
    process.stderr.write(`pop3svc ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}
