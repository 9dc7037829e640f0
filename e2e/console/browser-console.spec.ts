/**
 * The console in a browser: a real `pop3svc` (its own process) with the
 * admin endpoint on, serving the built console; Chromium signs in at the
 * endpoint and administers through the page's own WebSocket `window.winpop`
 * (no test harness wiring: the page must find the API by itself).
 *
 * The endpoint's refusals at the protocol level (another Origin 403, no
 * session 401, other paths) are tested in e2e/remote/websocket.test.ts; here
 * the same refusals are seen from a real browser's pages.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { pop3FetchAll } from './mail-clients.js';
import { REPO_ROOT } from './service-fixture.js';
import { freePort } from '../helpers/free-port.js';

const ADMIN = { name: 'alice', password: 'Alice-admin-pass-1' };
const MAILBOXES = { 'ann@example.com': 'Ann-pass-1', 'bob@example.com': 'Bob-pass-2' } as const;

interface Svc {
  readonly dir: string;
  readonly child: ChildProcess;
  readonly origin: string;
  readonly pop3Port: number;
  output(): string;
}

/** `winpop` against the test's mail root; stdin is piped in (passwords). */
function winpop(svc: Pick<Svc, 'dir'>, args: readonly string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'winpop.js'), '--config', path.join(svc.dir, 'config.json'), '--mailroot', path.join(svc.dir, 'mail'), ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

async function ok(svc: Pick<Svc, 'dir'>, args: readonly string[], stdin = ''): Promise<string> {
  const result = await winpop(svc, args, stdin);
  expect(result.code, `winpop ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

/** Starts pop3svc on loopback with the admin endpoint on a free port, and waits for its ready line. */
async function startPop3svc(again?: { dir: string; adminPort: number }): Promise<Svc> {
  const dir = again?.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'winpop-browser-')));
  const adminPort = again?.adminPort ?? (await freePort());
  const child = spawn(process.execPath, [
    path.join(REPO_ROOT, 'bin', 'pop3svc.js'),
    '--config', path.join(dir, 'config.json'),
    '--mailroot', path.join(dir, 'mail'),
    '--listen', '127.0.0.1',
    '--pop3-port', '0',
    '--smtp-port', '0',
    '--admin-port', String(adminPort),
  ]);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  await expect.poll(() => output, { timeout: 30_000, message: 'pop3svc prints its ready line' }).toMatch(/pop3svc ready .*\n|exited/);
  const pop3 = /pop3=127\.0\.0\.1:(\d+)/.exec(output);
  const admin = /admin=127\.0\.0\.1:(\d+)/.exec(output);
  expect(pop3, output).not.toBeNull();
  expect(admin?.[1], `the admin endpoint listens: ${output}`).toBe(String(adminPort));
  return { dir, child, origin: `https://127.0.0.1:${adminPort}`, pop3Port: Number(pop3?.[1]), output: () => output };
}

async function stopPop3svc(svc: Svc, keepDir = false): Promise<void> {
  if (svc.child.exitCode === null) {
    const exited = new Promise((resolve) => svc.child.once('exit', resolve));
    svc.child.kill('SIGTERM');
    await exited;
  }
  if (!keepDir) await rm(svc.dir, { recursive: true, force: true });
}

/** A browser context that takes the service's self-signed certificate. */
function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
}

/** Fails the test on a page error or a refusal by the Content Security Policy: the console must run under both policies. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  return problems;
}

async function signIn(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/`);
  await expect(page).toHaveURL(`${origin}/signin`);
  await page.getByLabel('Admin name').fill(ADMIN.name);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${origin}/`);
}

/** Whether a WebSocket to the endpoint opens from this page's origin; the close code when it does not. */
function tryWebSocket(page: Page, url: string): Promise<string> {
  return page.evaluate(
    (target) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(target);
        ws.onopen = () => {
          ws.close();
          resolve('open');
        };
        ws.onclose = (event) => resolve(`closed ${event.code}`);
      }),
    url,
  );
}

test.describe('the console in a browser, served by the admin endpoint', () => {
  let svc: Svc;

  test.beforeEach(async () => {
    svc = await startPop3svc();
    await ok(svc, ['add', 'example.com']);
    for (const [address, password] of Object.entries(MAILBOXES)) await ok(svc, ['add', address, '/createuser', '-'], password);
    await ok(svc, ['admin', 'add', ADMIN.name, '-'], ADMIN.password);
  });

  test.afterEach(async () => {
    await stopPop3svc(svc);
  });

  test('sign in with an admin account, right-click Lock: POP3 refuses the right password with the lock text', async ({ browser }) => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const problems = watchProblems(page);
    await signIn(page, svc.origin);

    await expect(page.getByTestId('tree-computer')).toBeVisible();
    await expect(page.getByTestId('status-mode')).toHaveText(new RegExp(`^Browser session on ${os.hostname()} \\(admin endpoint\\), signed in as ${ADMIN.name}$`));
    await page.getByTestId('tree-domain:example.com').click();
    const row = page.getByRole('grid', { name: 'Mailboxes of example.com' }).locator('[data-row-id="ann@example.com"]');
    await expect(row.locator('.cell-state')).toHaveText('Unlocked');
    await row.click({ button: 'right' });
    await page.getByTestId('context-menu').getByRole('menuitem', { name: 'Lock', exact: true }).click();
    await expect(row.locator('.cell-state')).toHaveText('Locked');

    const refused = await pop3FetchAll(svc.pop3Port, 'ann@example.com', MAILBOXES['ann@example.com']);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error).toMatch(/\[AUTH\].*disabled by the administrator/i);
    const other = await pop3FetchAll(svc.pop3Port, 'bob@example.com', MAILBOXES['bob@example.com']);
    expect(other.ok, JSON.stringify(other)).toBe(true);

    // Events come over the page's WebSocket: a lock from a shell shows without a reload.
    await ok(svc, ['lock', 'bob@example.com']);
    await expect(page.getByRole('grid', { name: 'Mailboxes of example.com' }).locator('[data-row-id="bob@example.com"] .cell-state')).toHaveText('Locked');

    // A new password ends alice's sessions (close code 4001): the page goes to the sign-in page.
    await ok(svc, ['admin', 'passwd', ADMIN.name, '-'], 'Alice-admin-pass-2');
    await expect(page).toHaveURL(`${svc.origin}/signin`);
    expect(problems).toEqual([]);
    await context.close();
  });

  test("a page of another origin in the signed-in browser cannot open the endpoint's WebSocket, nor can the endpoint's own page without a session", async ({ browser }) => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, svc.origin);
    const socketUrl = `${svc.origin.replace('https:', 'wss:')}/api/ws`;
    expect(await tryWebSocket(page, socketUrl), 'the console page itself may open it').toBe('open');

    // Another site on this computer (a public one would be stopped by the browser itself, before the endpoint could refuse it).
    const other = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>another site</title>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      await page.goto(`http://127.0.0.1:${(other.address() as net.AddressInfo).port}/`);
      expect(await tryWebSocket(page, socketUrl)).toBe('closed 1006');
    } finally {
      await context.close();
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }

    const stranger = await newContext(browser);
    const fresh = await stranger.newPage();
    await fresh.goto(`${svc.origin}/signin`);
    expect(await tryWebSocket(fresh, socketUrl)).toBe('closed 1006');
    await stranger.close();
    // Both were refused by the endpoint, not lost on the way: its log names each refusal.
    await expect.poll(() => svc.output()).toMatch(/WebSocket refused .*status=403 reason=.*its Origin http:\/\/127\.0\.0\.1:\d+ is not https/);
    await expect.poll(() => svc.output()).toMatch(/WebSocket refused .*status=401 reason=.*no session/);
  });

  test('a one-time sign-in link (winpop admin link) signs one browser in, once', async ({ browser }) => {
    const printed = await ok(svc, ['admin', 'link']);
    const link = /https:\/\/\S+\/signin\?token=\S+/.exec(printed)?.[0];
    expect(link, printed).toBeDefined();

    const first = await newContext(browser);
    const page = await first.newPage();
    const problems = watchProblems(page);
    await page.goto(link as string);
    await expect(page).toHaveURL(`${svc.origin}/`);
    await expect(page.getByTestId('status-mode')).toHaveText(/^Browser session on .* \(admin endpoint\), signed in as /);
    await page.getByTestId('tree-domain:example.com').click();
    await expect(page.getByRole('grid', { name: 'Mailboxes of example.com' }).locator('[data-row-id="ann@example.com"] .cell-state')).toHaveText('Unlocked');
    expect(problems).toEqual([]);

    const second = await newContext(browser);
    const again = await second.newPage();
    const answer = await again.goto(link as string);
    expect(answer?.status()).toBe(403);
    await expect(again.getByText('This sign-in link was used already or has expired.')).toBeVisible();
    await expect(again).toHaveURL(/\/signin\?token=/);
    await first.close();
    await second.close();
  });

  test('the service restarts: the page keeps retrying while it is down, then finds its session gone and goes to sign in', async ({ browser }) => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, svc.origin);
    await expect(page.getByTestId('tree-computer')).toBeVisible();
    await stopPop3svc(svc, true);
    // Down: an operation waits for the connection instead of failing at once.
    await page.getByTestId('tree-computer').click();
    await expect(page).toHaveURL(`${svc.origin}/`);
    svc = await startPop3svc({ dir: svc.dir, adminPort: Number(new URL(svc.origin).port) });
    // Sessions live in the service's memory: the new one refuses the old cookie, and the page sees that it ended.
    await expect(page).toHaveURL(`${svc.origin}/signin`, { timeout: 30_000 });
    await context.close();
  });
});
