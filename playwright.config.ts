/**
 * Playwright: the console suite runs the built renderer in Debian's Chromium
 * against a real service; the electron suite launches the real app where an
 * Electron binary exists.
 */

import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testIgnore: ['**/node_modules/**', 'dist/**'],
  outputDir: 'test-results',
  globalSetup: './e2e/console/build-renderer.ts',
  timeout: 60_000,
  expect: { timeout: 5_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  // Half the cores (Playwright's default): the service of each test runs in its worker, beside Chromium.
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      // Debian's Chromium (apt-get install chromium); elsewhere point CHROMIUM_PATH at a Chromium or Chrome.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'console', testMatch: 'e2e/console/**/*.spec.ts' },
    { name: 'electron', testMatch: 'e2e/electron/**/*.spec.ts' },
  ],
});
