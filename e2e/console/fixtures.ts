/**
 * Playwright fixtures for the console suite: per test, a real service in a
 * temp mail root, and a Chromium page whose `window.winpop` is wired to it;
 * per worker, a static server for the built renderer.
 *
 * A test fails if the page throws or the CSP refuses anything: the console
 * must run under its own policy.
 */

import net from 'node:net';
import path from 'node:path';
import { test as base, expect } from '@playwright/test';
import type { AdminApi } from '../../shared/contract.js';
import type { ComputerManager } from '../../electron/computers/computer-manager.js';
import { ConsolePage } from './console-page.js';
import { wirePageApi } from './page-api.js';
import { bigDomain as bigDomainOnDisk, importBuilt, REPO_ROOT, startTestService, type RunningService } from './service-fixture.js';
import { serveDirectory } from './static-server.js';

export { expect };

/** The name of the domain the `bigDomain` option writes. */
export const BIG_DOMAIN = 'big.example.com';

interface WorkerFixtures {
  readonly rendererUrl: string;
}

interface TestFixtures {
  /** Option: a domain of this many mailboxes written to disk before the service starts (`big.example.com`). */
  readonly bigDomain: number;
  /** Option: another program holds the POP3 port when the service starts. */
  readonly pop3PortTaken: boolean;
  /** Option: the service's listen addresses (127.0.0.1 by default). */
  readonly listen: readonly string[];
  readonly service: RunningService;
  /**
   * The main process's connection manager to other computers (the real one,
   * compiled), its list in the test's output folder; the page's
   * `window.winpop.computers` is wired to it.
   */
  readonly computers: ComputerManager;
  readonly ui: ConsolePage;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  rendererUrl: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const server = await serveDirectory(path.join(REPO_ROOT, 'dist', 'renderer'));
      await use(server.url);
      await server.close();
    },
    { scope: 'worker' },
  ],

  bigDomain: [0, { option: true }],
  pop3PortTaken: [false, { option: true }],
  listen: [['127.0.0.1'], { option: true }],

  service: async ({ bigDomain, pop3PortTaken, listen }, use, testInfo) => {
    const logFile = testInfo.outputPath('service.log');
    const blocker = pop3PortTaken ? await holdPort() : undefined;
    const service = await startTestService(logFile, {
      ...(bigDomain > 0 ? { prepare: bigDomainOnDisk(BIG_DOMAIN, bigDomain) } : {}),
      ...(blocker ? { pop3Port: blocker.port } : {}),
      listen,
    });
    try {
      await use(service);
    } finally {
      await service.stop();
      await blocker?.close();
      if (testInfo.status !== testInfo.expectedStatus) await testInfo.attach('service.log', { path: logFile, contentType: 'text/plain' });
    }
  },

  // eslint-disable-next-line no-empty-pattern
  computers: async ({}, use, testInfo) => {
    type Module = typeof import('../../electron/computers/computer-manager.js');
    type LogModule = typeof import('../../electron/service/log.js');
    const { ComputerManager } = await importBuilt<Module>('electron/computers/computer-manager.js');
    const { createLogger } = await importBuilt<LogModule>('electron/service/log.js');
    const lines: string[] = [];
    const manager = await ComputerManager.open({
      file: testInfo.outputPath('user-data', 'computers.json'),
      log: createLogger(() => 3, (line) => lines.push(line)),
      // Short waits between reconnect attempts, so the test sees a restarted computer come back soon.
      backoff: { firstMs: 250, maxMs: 2000 },
    });
    try {
      await use(manager);
    } finally {
      await manager.close();
      if (testInfo.status !== testInfo.expectedStatus) await testInfo.attach('computers.log', { body: lines.join(''), contentType: 'text/plain' });
    }
  },

  ui: async ({ page, service, rendererUrl, computers }, use, testInfo) => {
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
    });
    const wiring = await wirePageApi(page, service.host.admin, computers);
    try {
      await use(new ConsolePage(page, rendererUrl, testInfo, wiring.calls, wiring));
    } finally {
      wiring.unsubscribe();
    }
    expect(problems, 'the page ran without errors or CSP refusals').toEqual([]);
  },
});

/** Listens on a free port of 127.0.0.1, standing in for another program that holds it. */
async function holdPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Creates domains and mailboxes (name → password) through the admin API. */
export async function seed(admin: AdminApi, domains: Readonly<Record<string, Readonly<Record<string, string>>>>): Promise<void> {
  for (const [domain, mailboxes] of Object.entries(domains)) {
    await admin.addDomain({ domain });
    for (const [name, password] of Object.entries(mailboxes)) {
      await admin.addMailbox({ address: `${name}@${domain}`, password });
    }
  }
}
