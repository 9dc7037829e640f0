/**
 * The launchd daemon that runs pop3svc on macOS: a property list for
 * /Library/LaunchDaemons and the launchctl commands that load and unload it.
 *
 * launchd starts it at boot, as the given user (root by default: macOS has
 * no useradd, and its dedicated accounts are made with dscl), and restarts
 * it when it ends with an error. Its output goes to a log file, as
 * launchd does not keep it.
 */

export const LAUNCHD_LABEL = 'org.winpop.pop3svc';
export const LAUNCHD_PLIST = `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`;

export interface LaunchdOptions {
  readonly node: string;
  readonly program: string;
  readonly configFile: string;
  readonly logFile: string;
  /** The account to run as; omitted: root. */
  readonly user?: string;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const str = (text: string): string => `<string>${xml(text)}</string>`;

/** The property list (XML, as plutil and launchd read it). */
export function launchdPlist(o: LaunchdOptions): string {
  const args = [o.node, o.program, '--config', o.configFile].map((a) => `\t\t${str(a)}`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>Label</key>
\t${str(LAUNCHD_LABEL)}
\t<key>ProgramArguments</key>
\t<array>
${args}
\t</array>
${o.user ? `\t<key>UserName</key>\n\t${str(o.user)}\n` : ''}\t<key>RunAtLoad</key>
\t<true/>
\t<key>KeepAlive</key>
\t<dict>
\t\t<key>SuccessfulExit</key>
\t\t<false/>
\t</dict>
\t<key>ThrottleInterval</key>
\t<integer>5</integer>
\t<key>StandardOutPath</key>
\t${str(o.logFile)}
\t<key>StandardErrorPath</key>
\t${str(o.logFile)}
</dict>
</plist>
`;
}

/** The commands that start it now and at every boot, and that stop and remove it. */
export function launchdCommands(plistPath: string = LAUNCHD_PLIST): { install: string[][]; uninstall: string[][] } {
  return {
    install: [['launchctl', 'bootstrap', 'system', plistPath], ['launchctl', 'enable', `system/${LAUNCHD_LABEL}`]],
    uninstall: [['launchctl', 'bootout', `system/${LAUNCHD_LABEL}`]],
  };
}
