/**
 * The Windows service that runs pop3svc, registered with sc.exe.
 *
 * node.exe does not speak the service control manager's protocol itself
 * (the SCM kills a program that never reports "running", error 1053), so
 * the service's program is WinSW (github.com/winsw/winsw, MIT, maintained;
 * node-windows uses it too): a small wrapper that reports to the SCM, starts
 * `node pop3svc.js --config …` and stops it on a service stop. pop3svc
 * writes WinSW's XML beside its copy (winpop.exe + winpop.xml: WinSW reads
 * the XML named like itself) and registers it with sc.exe, as LocalService
 * (an account without administrator rights), started at boot, restarted on
 * failure.
 */

export const WINDOWS_SERVICE = 'winpop';

export interface WindowsServiceOptions {
  readonly node: string;
  readonly program: string;
  readonly configFile: string;
  /** WinSW's executable, renamed winpop.exe, beside winpop.xml. */
  readonly wrapper: string;
  readonly logDir: string;
  /** The folder of the config and the mail root, which LocalService must be able to change. */
  readonly dataDir: string;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A command-line argument as the Microsoft C runtime splits it (CommandLineToArgvW). */
export function windowsArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let slashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      slashes++;
      continue;
    }
    out += ch === '"' ? '\\'.repeat(slashes * 2 + 1) + '"' : '\\'.repeat(slashes) + ch;
    slashes = 0;
  }
  return `${out}${'\\'.repeat(slashes * 2)}"`;
}

/** WinSW's service definition. */
export function winswXml(o: WindowsServiceOptions): string {
  const args = [o.program, '--config', o.configFile].map(windowsArg).join(' ');
  return `<service>
  <id>${WINDOWS_SERVICE}</id>
  <name>POP3 Service (winpop)</name>
  <description>POP3 and SMTP delivery into the winpop mail store.</description>
  <executable>${xml(o.node)}</executable>
  <arguments>${xml(args)}</arguments>
  <stoptimeout>30 sec</stoptimeout>
  <logpath>${xml(o.logDir)}</logpath>
  <log mode="roll-by-size"><sizeThreshold>10240</sizeThreshold><keepFiles>8</keepFiles></log>
</service>
`;
}

/**
 * The sc.exe command lines that register, configure and start the service,
 * and that stop and delete it. sc.exe wants each option as `name=` followed
 * by its value as a separate word.
 */
export function scCommands(o: WindowsServiceOptions): { install: string[][]; uninstall: string[][] } {
  return {
    install: [
      ['icacls', o.dataDir, '/grant', 'NT AUTHORITY\\LocalService:(OI)(CI)M'],
      ['sc.exe', 'create', WINDOWS_SERVICE, 'binPath=', windowsArg(o.wrapper), 'start=', 'auto', 'obj=', 'NT AUTHORITY\\LocalService', 'DisplayName=', 'POP3 Service (winpop)'],
      ['sc.exe', 'description', WINDOWS_SERVICE, 'POP3 and SMTP delivery into the winpop mail store.'],
      ['sc.exe', 'failure', WINDOWS_SERVICE, 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/60000'],
      ['sc.exe', 'start', WINDOWS_SERVICE],
    ],
    uninstall: [
      ['sc.exe', 'stop', WINDOWS_SERVICE],
      ['sc.exe', 'delete', WINDOWS_SERVICE],
    ],
  };
}
