/**
 * Keeps a web page of the app on the app's origin: no navigation away, no
 * new windows, no web views. A documentation link (external-links.ts) is
 * handed to the system browser instead; every other way out is refused and
 * logged.
 *
 * Written against the few members of Electron's WebContents it uses, with
 * no Electron import, so that a plain Node test can drive it with events.
 */

import type { Logger } from './service/log.js';
import { isAppUrl } from './app-origin.js';
import { checkExternalUrl, describeRefusedLink } from './external-links.js';

interface Cancellable {
  preventDefault(): void;
}

/** The members of Electron's WebContents that the guard uses. */
export interface GuardedContents {
  on(event: 'will-frame-navigate', listener: (event: Cancellable & { readonly url: string; readonly isMainFrame: boolean }) => void): unknown;
  on(event: 'will-redirect', listener: (event: Cancellable & { readonly url: string }) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: Cancellable) => void): unknown;
  setWindowOpenHandler(handler: (details: { readonly url: string }) => { action: 'deny' }): void;
}

export interface GuardDeps {
  /** Opens a URL in the system browser (Electron's shell.openExternal). */
  readonly openExternal: (url: string) => Promise<void>;
  readonly log: Logger;
}

/** Opens `url` in the system browser when it is a documentation link; otherwise logs the refusal. */
function openIfDocumentation(url: string, deps: GuardDeps, how: string): void {
  const check = checkExternalUrl(url);
  if (!check.ok) {
    deps.log.warn(`Refused to open a link outside the console (${how})`, describeRefusedLink(url, check.problem));
    return;
  }
  deps.openExternal(check.href).catch((err: unknown) => {
    deps.log.warn('The system browser could not open a documentation link', { url: check.href, error: err instanceof Error ? err.message : String(err) });
  });
}

export function guardWebContents(contents: GuardedContents, deps: GuardDeps): void {
  contents.on('will-frame-navigate', (event) => {
    if (isAppUrl(event.url)) return;
    event.preventDefault();
    // A plain link clicked in the page: documentation opens in the browser, the console stays.
    if (event.isMainFrame) openIfDocumentation(event.url, deps, 'navigation');
    else deps.log.warn('Refused a frame navigation away from the console', describeRefusedLink(event.url, 'not the app origin'));
  });
  contents.on('will-redirect', (event) => {
    if (isAppUrl(event.url)) return;
    event.preventDefault();
    deps.log.warn('Refused a redirect away from the console', describeRefusedLink(event.url, 'not the app origin'));
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    // Nothing opens inside the app.
    openIfDocumentation(url, deps, 'new window');
    return { action: 'deny' };
  });
}
