/**
 * The console's main process: one instance, one window, one service.
 *
 * Startup decides which service to administer (a running `pop3svc` for the
 * mail root, or one started here), registers the typed IPC handlers, and
 * opens the window. Quitting stops a service started here. Command-line
 * switches: `--config FILE`, `--mailroot DIR`, `--pop3-port N`, `--smtp-port N`
 * (see launch-options.ts).
 */

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrowserWindow, app, dialog, safeStorage, session } from 'electron';
import { openConsoleAdmin, type ConsoleAdmin } from './admin-source.js';
import { ComputerManager, type CredentialVault } from './computers/computer-manager.js';
import { registerComputerIpc } from './ipc/computer-ipc.js';
import { registerAdminIpc } from './ipc/register.js';
import { TrustedSenders, trustWebContents } from './ipc/trusted-sender.js';
import { parseLaunchOptions, type LaunchOptions } from './launch-options.js';
import { createLogger } from './service/log.js';
import {
  WINDOW_TITLE,
  createMainWindow,
  focusWindow,
  guardAllWebContents,
  installMenu,
  loadConsole,
  lockDownSession,
  registerAppScheme,
  serveRenderer,
} from './window.js';

/** dist/electron when built, or app.asar/dist/electron when packaged. */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const PRELOAD = path.join(HERE, 'preload.cjs');
const RENDERER_ROOT = path.join(HERE, '..', 'renderer');
const ICON = path.join(HERE, '..', '..', 'build', 'icon.png');

/** Main-process messages; the service logs by its own setting. */
const log = createLogger(() => 2);
/** Stopping a service waits for sessions to close; past this, quit anyway. */
const STOP_TIMEOUT_MS = 5000;

let consoleAdmin: ConsoleAdmin | undefined;
let computers: ComputerManager | undefined;
let mainWindow: BrowserWindow | undefined;
const trusted = new TrustedSenders();

function fail(title: string, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  log.error(title, { error: message });
  dialog.showErrorBox(WINDOW_TITLE, `${title}\n\n${message}`);
  app.exit(1);
}

async function openWindow(): Promise<void> {
  const window = createMainWindow({ preload: PRELOAD, ...(existsSync(ICON) ? { icon: ICON } : {}) });
  mainWindow = window;
  // Trusted before the page loads, so its first calls are answered.
  trustWebContents(trusted, window.webContents);
  window.on('closed', () => {
    if (mainWindow === window) mainWindow = undefined;
  });
  await loadConsole(window);
}

/** Saved passwords of other computers, encrypted by the operating system's key store; none where it has none. */
function credentialVault(): CredentialVault | null {
  if (!safeStorage.isEncryptionAvailable()) return null;
  return {
    encrypt: (password) => safeStorage.encryptString(password).toString('base64'),
    decrypt: (saved) => safeStorage.decryptString(Buffer.from(saved, 'base64')),
  };
}

async function start(options: LaunchOptions): Promise<void> {
  await app.whenReady();
  lockDownSession(session.defaultSession);
  serveRenderer(RENDERER_ROOT);
  installMenu();

  try {
    consoleAdmin = await openConsoleAdmin({ ...options, log });
  } catch (err) {
    fail('The POP3 service could not start, so the console cannot open.', err);
    return;
  }
  log.info('console administering the service', { mode: consoleAdmin.mode, mailroot: consoleAdmin.mailroot });
  registerAdminIpc(consoleAdmin.admin, trusted, log);
  computers = await ComputerManager.open({ file: path.join(app.getPath('userData'), 'computers.json'), vault: credentialVault(), log });
  registerComputerIpc(computers, trusted, log);
  await openWindow();

  app.on('activate', () => {
    // macOS: clicking the Dock icon with no window open opens one again.
    if (BrowserWindow.getAllWindows().length === 0) void openWindow();
  });
}

/** Stops a service started here before the process ends; a remote one is only disconnected. */
function stopServiceOnQuit(): void {
  let stopping = false;
  app.on('will-quit', (event) => {
    if (!consoleAdmin || stopping) return;
    event.preventDefault();
    stopping = true;
    const admin = consoleAdmin;
    consoleAdmin = undefined;
    void computers?.close();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref());
    void Promise.race([admin.close(), timeout])
      .catch((err: unknown) => log.error('stopping the service failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => app.quit());
  });
}

function main(): void {
  // Scheme privileges are fixed at startup: this must run before the app is ready.
  registerAppScheme();

  let options: LaunchOptions;
  try {
    options = parseLaunchOptions(process.argv.slice(1), process.env);
  } catch (err) {
    void app.whenReady().then(() => fail('The console was started with a wrong option.', err));
    return;
  }
  // Before the lock: the single-instance lock belongs to the profile folder.
  if (options.userData) app.setPath('userData', options.userData);

  if (!app.requestSingleInstanceLock()) {
    // Another console is open: it comes to the front (second-instance below) and this one ends.
    app.quit();
    return;
  }
  app.on('second-instance', () => {
    if (mainWindow) focusWindow(mainWindow);
    else if (consoleAdmin) void openWindow();
  });

  guardAllWebContents(log);
  stopServiceOnQuit();
  app.on('window-all-closed', () => {
    // Closing the console ends it (and the service it hosts), except on macOS where apps stay in the Dock.
    if (process.platform !== 'darwin') app.quit();
  });
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection in the main process', { error: String(reason) }));

  start(options).catch((err: unknown) => fail('The console failed to start.', err));
}

main();
