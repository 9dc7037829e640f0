/**
 * Builds the console's renderer into dist/renderer.
 *
 * `base: './'` keeps every asset path relative, so the same build loads from
 * file:// in Electron and from a plain static server in the Chromium tests.
 */

import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    // The CSP allows no inline code: keep CSS in files and skip the inline module-preload polyfill.
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
    target: 'chrome120',
  },
});
