/**
 * Opens a link in the default browser, when this computer has one.
 *
 * The platform's opener (`xdg-open`, `open`, the URL handler on Windows) is
 * started detached and never waited for; where there is none (a server
 * without a desktop) nothing is started and the caller prints the link for
 * the admin to open elsewhere. On Linux without a display, `xdg-open` would
 * fall back to a text browser in this very terminal, so it is not asked.
 * `WINPOP_BROWSER` names another program to open links with (it gets the
 * link as its one argument), or `none`.
 */

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** The program and arguments that open `url`; null when there is none here, with why. */
export function openerFor(url: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): { command: string; args: string[] } | { none: string } {
  const chosen = env.WINPOP_BROWSER;
  if (chosen !== undefined && chosen !== '') {
    if (chosen === 'none') return { none: 'WINPOP_BROWSER is none' };
    return { command: chosen, args: [url] };
  }
  if (platform === 'win32') return { command: 'rundll32.exe', args: ['url.dll,FileProtocolHandler', url] };
  if (platform === 'darwin') return { command: 'open', args: [url] };
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return { none: 'no desktop here (neither DISPLAY nor WAYLAND_DISPLAY is set)' };
  if (!onPath('xdg-open', env)) return { none: 'xdg-open is not installed' };
  return { command: 'xdg-open', args: [url] };
}

function onPath(program: string, env: NodeJS.ProcessEnv): boolean {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(path.join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

/** Starts the opener; resolves with null once it started, or why it could not (no opener, or it failed to start). */
export function openInBrowser(url: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const opener = openerFor(url, env);
  if ('none' in opener) return Promise.resolve(opener.none);
  return new Promise((resolve) => {
    const child = spawn(opener.command, opener.args, { detached: true, stdio: 'ignore', windowsHide: true });
    child.once('error', (err) => resolve(`${opener.command} could not start: ${err.message}`));
    child.once('spawn', () => {
      child.unref();
      resolve(null);
    });
  });
}
