/**
 * `pop3svc install` and `uninstall` on macOS (a launchd daemon) and Windows
 * (a service through WinSW and sc.exe): the files are written and the OS
 * tools run. Neither is run by the tests, which check the generated files
 * and command lines on Linux.
 */

import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../store/atomic-file.js';
import { launchdCommands, launchdPlist, LAUNCHD_PLIST } from './launchd-plist.js';
import { InstallError } from './linux-install.js';
import { scCommands, WINDOWS_SERVICE, winswXml, type WindowsServiceOptions } from './windows-service.js';

export interface OtherInstallOptions {
  readonly node: string;
  readonly program: string;
  readonly configFile: string;
  /** macOS: the account to run as (made beforehand with dscl or sysadminctl); root when absent. */
  readonly user?: string;
  /** Windows: WinSW's executable, copied beside its XML. */
  readonly winsw?: string;
  readonly say: (line: string) => void;
}

function runTool(command: readonly string[], tolerate = false): Promise<void> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = command as [string, ...string[]];
    execFile(file, args, { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && !tolerate) reject(new InstallError(`${command.join(' ')} failed: ${String(stderr).trim() || String(stdout).trim() || err.message}`));
      else resolve();
    });
  });
}

const MAC_LOG = '/Library/Logs/winpop/pop3svc.log';

export async function installDarwin(o: OtherInstallOptions): Promise<void> {
  if (process.getuid?.() !== 0) throw new InstallError('pop3svc install must run as root: it writes a daemon to /Library/LaunchDaemons. Run it with sudo: sudo pop3svc install');
  await fs.mkdir(path.dirname(MAC_LOG), { recursive: true });
  const plist = launchdPlist({ node: o.node, program: o.program, configFile: o.configFile, logFile: MAC_LOG, ...(o.user ? { user: o.user } : {}) });
  // A loaded daemon is taken down first, so bootstrap loads the new file.
  await runTool(launchdCommands().uninstall[0] as string[], true);
  await writeFileAtomic(LAUNCHD_PLIST, plist, { mode: 0o644 });
  for (const command of launchdCommands().install) await runTool(command);
  o.say(`${LAUNCHD_PLIST} written and loaded; it starts at every boot. Its log: ${MAC_LOG}`);
}

export async function uninstallDarwin(o: OtherInstallOptions): Promise<void> {
  await runTool(launchdCommands().uninstall[0] as string[], true);
  await fs.rm(LAUNCHD_PLIST, { force: true });
  o.say(`${LAUNCHD_PLIST} unloaded and removed; the mail root and the config stay`);
}

function windowsOptions(o: OtherInstallOptions): WindowsServiceOptions {
  const dataDir = path.dirname(o.configFile);
  const serviceDir = path.join(dataDir, 'service');
  return { node: o.node, program: o.program, configFile: o.configFile, wrapper: path.join(serviceDir, `${WINDOWS_SERVICE}.exe`), logDir: path.join(dataDir, 'logs'), dataDir };
}

export async function installWindows(o: OtherInstallOptions): Promise<void> {
  if (!o.winsw) {
    throw new InstallError(
      'pop3svc install on Windows needs WinSW, the wrapper that lets the service manager run node: download WinSW-x64.exe from https://github.com/winsw/winsw/releases and give it with --winsw FILE (from an administrator prompt).',
    );
  }
  const w = windowsOptions(o);
  await fs.mkdir(path.dirname(w.wrapper), { recursive: true });
  await fs.copyFile(o.winsw, w.wrapper);
  await writeFileAtomic(w.wrapper.replace(/\.exe$/, '.xml'), winswXml(w));
  for (const command of scCommands(w).install) await runTool(command);
  o.say(`service ${WINDOWS_SERVICE} registered (LocalService, started at boot, restarted on failure) and started`);
}

export async function uninstallWindows(o: OtherInstallOptions): Promise<void> {
  const [stop, remove] = scCommands(windowsOptions(o)).uninstall as [string[], string[]];
  await runTool(stop, true);
  await runTool(remove);
  o.say(`service ${WINDOWS_SERVICE} removed; the mail root and the config stay`);
}
