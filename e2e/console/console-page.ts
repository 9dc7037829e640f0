/**
 * The console as a test sees it: named parts and the steps an administrator
 * takes, found by role and accessible name where the UI has them.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, type Locator, type Page, type TestInfo } from '@playwright/test';

export class ConsolePage {
  readonly tree: Locator;
  readonly details: Locator;
  readonly status: Locator;
  readonly contextMenu: Locator;

  constructor(
    readonly page: Page,
    private readonly url: string,
    private readonly testInfo: TestInfo,
    /** Every admin operation the page called, in order (the Chromium harness records them; empty elsewhere). */
    readonly calls: readonly string[] = [],
    /** The Chromium harness's transport, to hold replies back (absent in the real app). */
    readonly transport?: { holdReplies(op: 'lock' | 'unlock', release: Promise<unknown>): void },
  ) {
    this.tree = page.getByRole('tree', { name: 'Console tree' });
    this.details = page.getByTestId('details-pane');
    this.status = page.getByTestId('status-message');
    this.contextMenu = page.getByTestId('context-menu');
  }

  /** Loads the console and waits until it shows this computer. */
  async open(): Promise<void> {
    await this.page.goto(this.url);
    await expect(this.treeItem('computer')).toBeVisible();
    await expect(this.page.getByTestId('status-mode')).not.toHaveText('Connecting…');
  }

  /** How many times the page called an operation. */
  callCount(op: string): number {
    return this.calls.filter((c) => c === op).length;
  }

  /** A tree item by key: `root`, `computer` or `domain:<name>`. */
  treeItem(key: string): Locator {
    return this.page.getByTestId(`tree-${key}`);
  }

  domainNode(domain: string): Locator {
    return this.treeItem(`domain:${domain}`);
  }

  get grid(): Locator {
    return this.page.getByRole('grid');
  }

  /** A row of the details grid by id: a domain name or a mailbox address. */
  row(id: string): Locator {
    return this.grid.locator(`[data-row-id="${id}"]`);
  }

  cell(id: string, column: 'name' | 'mailboxes' | 'messages' | 'bytes' | 'state'): Locator {
    return this.row(id).locator(`.cell-${column}`);
  }

  async selectComputer(): Promise<void> {
    await this.treeItem('computer').click();
    await expect(this.page.getByRole('grid', { name: 'Domains' })).toBeVisible();
  }

  async openDomain(domain: string): Promise<void> {
    await this.domainNode(domain).click();
    await expect(this.page.getByRole('grid', { name: `Mailboxes of ${domain}` })).toBeVisible();
    await expect(this.page.getByTestId('details-summary')).not.toHaveText('Loading…');
  }

  /** Right-clicks a row and returns the context menu. */
  async rightClick(id: string): Promise<Locator> {
    await this.row(id).click({ button: 'right' });
    await expect(this.contextMenu).toBeVisible();
    return this.contextMenu;
  }

  menuItem(name: string, menu: Locator = this.contextMenu): Locator {
    return menu.getByRole('menuitem', { name, exact: true });
  }

  dialog(name: string | RegExp): Locator {
    return this.page.getByRole('dialog', { name });
  }

  /**
   * Saves a screenshot as a test artifact (attached to the report) and under
   * <output dir>/screenshots/ (test-results/screenshots/), where a person can look at them.
   */
  async screenshot(name: string): Promise<void> {
    const body = await this.page.screenshot({ animations: 'disabled' });
    await this.testInfo.attach(name, { body, contentType: 'image/png' });
    const dir = path.join(this.testInfo.project.outputDir, 'screenshots');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, `${name}.png`), body);
  }
}
