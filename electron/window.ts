/**
 * The console window and the rules every web page in the app lives under.
 *
 * The renderer is served from `app://console/` (see app-origin.ts for why not
 * `file://`) by a protocol handler that answers only files under the built
 * renderer folder, each with the Content Security Policy. The window runs
 * with context isolation and the sandbox on and Node off; navigation away
 * from the app, new windows, web views and permission prompts are refused
 * (documentation links open in the system browser: navigation-guard.ts).
 */

import { readFile } from 'node:fs/promises';
import { BrowserWindow, Menu, app, nativeTheme, protocol, shell, type Session } from 'electron';
import { APP_ENTRY_URL, APP_SCHEME, CONTENT_SECURITY_POLICY } from './app-origin.js';
import { resolveAppFile } from './app-files.js';
import { guardWebContents } from './navigation-guard.js';
import type { Logger } from './service/log.js';

export const WINDOW_TITLE = 'POP3 Service';

/**
 * Makes `app:` a standard, secure scheme: its pages get a real origin, ES
 * modules and fetch work, and it counts as a secure context. Must run before
 * the app is ready.
 */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, codeCache: true } },
  ]);
}

function plainResponse(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'content-security-policy': CONTENT_SECURITY_POLICY },
  });
}

/** Serves the built renderer folder, and nothing else, on `app://console/`. */
export function serveRenderer(rendererRoot: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return plainResponse(405, 'Only GET is served here.');
    const target = resolveAppFile(rendererRoot, request.url);
    if (!target) return plainResponse(404, 'Not found.');
    let body: Buffer;
    try {
      body = await readFile(target.file);
    } catch {
      return plainResponse(404, 'Not found.');
    }
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
      status: 200,
      headers: {
        'content-type': target.mimeType,
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-cache',
      },
    });
  });
}

/**
 * Refuses every permission a page could ask for (camera, notifications,
 * geolocation…) and every request off the machine: the console talks only
 * to its preload.
 */
export function lockDownSession(ses: Session): void {
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] }, (_details, callback) => callback({ cancel: true }));
}

/**
 * Applies the navigation guard (navigation-guard.ts) to every webContents the
 * app ever creates: documentation links open in the system browser, nothing
 * else leaves the app.
 */
export function guardAllWebContents(log: Logger): void {
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents, { openExternal: (url) => shell.openExternal(url), log }));
}

/**
 * The native menu: none on Windows and Linux, where the console draws its
 * own MMC menu bar; on macOS the standard application, edit and window menus,
 * without which Cmd+Q and copy/paste would not work.
 */
export function installMenu(): void {
  if (process.platform !== 'darwin') {
    Menu.setApplicationMenu(null);
    return;
  }
  Menu.setApplicationMenu(Menu.buildFromTemplate([{ role: 'appMenu' }, { role: 'editMenu' }, { role: 'windowMenu' }]));
}

export interface MainWindowOptions {
  /** The compiled preload, dist/electron/preload.cjs. */
  readonly preload: string;
  /** A PNG for the window and taskbar where the OS takes it from the window (Linux). */
  readonly icon?: string;
}

/** Creates the console window, shown once its first paint is ready. The caller loads it. */
export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    title: WINDOW_TITLE,
    width: 1120,
    height: 720,
    minWidth: 720,
    minHeight: 440,
    show: false,
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#1f1f1f' : '#ffffff',
    ...(options.icon ? { icon: options.icon } : {}),
    webPreferences: {
      preload: options.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
    },
  });
  // The window keeps the product's name whatever the page calls itself.
  window.on('page-title-updated', (event) => event.preventDefault());
  window.once('ready-to-show', () => window.show());
  return window;
}

/** Loads the console page into a window. */
export function loadConsole(window: BrowserWindow): Promise<void> {
  return window.loadURL(APP_ENTRY_URL);
}

/** Brings a window to the front, restoring it if minimized (for a second launch). */
export function focusWindow(window: BrowserWindow): void {
  if (window.isMinimized()) window.restore();
  if (!window.isVisible()) window.show();
  window.focus();
}
