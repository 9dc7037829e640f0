/**
 * Playwright for the console benchmarks only: the built renderer in Debian's
 * Chromium, wired to a real service (console-scale: a domain of 100,000
 * mailboxes; console-live-updates: changes made elsewhere, event → screen).
 *
 *   npx playwright test --config bench/playwright.config.ts [console-scale | console-live-updates]
 */

import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: ['console-scale.spec.ts', 'console-live-updates.spec.ts'],
  outputDir: '../test-results/bench',
  globalSetup: '../e2e/console/build-renderer.ts',
  timeout: 480_000,
  workers: 1,
  reporter: [['list']],
  use: {
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
