/**
 * A stand-in for the `electron` module, for loading main-process modules
 * under plain Node (electron-loader.ts routes `import 'electron'` here): it
 * has the names they import, and records what they ask of it.
 */

import { EventEmitter } from 'node:events';

/** Emits what the code under test subscribes to (`web-contents-created`, …). */
export const app = new EventEmitter();

/** URLs handed to the system browser, in order. */
export const openedExternally: string[] = [];

export const shell = {
  async openExternal(url: string): Promise<void> {
    openedExternally.push(url);
  },
};

export class BrowserWindow {}
export const Menu = { setApplicationMenu(): void {}, buildFromTemplate: (): object => ({}) };
export const nativeTheme = { shouldUseDarkColors: false };
export const protocol = { registerSchemesAsPrivileged(): void {}, handle(): void {} };
