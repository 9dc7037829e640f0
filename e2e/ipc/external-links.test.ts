/**
 * Which links leave the console for the system browser: only the listed
 * documentation pages, over https, and the window's real handlers
 * (window.ts with Electron stood in for) open nothing else.
 */

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { checkExternalUrl, DOCUMENTATION_SITES } from '../../electron/external-links.js';
import type { GuardedContents } from '../../electron/navigation-guard.js';
import type { Logger, LogFields } from '../../electron/service/log.js';
import { REPO_ROOT } from '../helpers/processes.js';
import { standInForElectron } from './electron-loader.js';
import { app, openedExternally } from './electron-stand-in.js';

const ALLOWED: readonly [string, string][] = [
  ['https://www.rfc-editor.org/rfc/rfc1939', 'https://www.rfc-editor.org/rfc/rfc1939'],
  ['https://www.rfc-editor.org/rfc/rfc2449.html#section-6', 'https://www.rfc-editor.org/rfc/rfc2449.html#section-6'],
  ['https://datatracker.ietf.org/doc/html/rfc8314', 'https://datatracker.ietf.org/doc/html/rfc8314'],
  ['https://github.com/winpop/winpop/issues?q=lock', 'https://github.com/winpop/winpop/issues?q=lock'],
  // Spelled differently, the same page: what is opened is the parsed URL.
  ['HTTPS://GitHub.COM:443/winpop/winpop', 'https://github.com/winpop/winpop'],
];

const REFUSED: readonly string[] = [
  'https://evil.example/',
  'https://evil.example/rfc/rfc1939',
  'http://www.rfc-editor.org/rfc/rfc1939',
  'http://github.com/winpop/winpop',
  'https://github.com@evil.example/winpop/winpop',
  'https://www.rfc-editor.org@evil.example/rfc/rfc1939',
  'https://user:secret@github.com/winpop/winpop',
  'https://www.rfc-editor.org\\@evil.example/rfc/',
  'https://www.rfc-editor.org.evil.example/rfc/rfc1939',
  'https://github.com./winpop/winpop',
  // Lookalikes: Cyrillic і in "github", Greek ο in "rfc-editor.org".
  'https://g\u0456thub.com/winpop/winpop',
  'https://www.rfc-edit\u03bfr.org/rfc/rfc1939',
  'https://xn--gthub-n4a.com/winpop/winpop',
  'https://github.com/evil/repo',
  'https://github.com/winpop/winpop-evil',
  'https://github.com/winpop/winpop/../../evil/repo',
  'https://github.com/winpop/winpop/%2e%2e/%2E%2E/evil/repo',
  'https://github.com/winpop/winpop%2F..%2F..%2Fevil',
  'https://www.rfc-editor.org/rfcx',
  'https://github.com:8443/winpop/winpop',
  'https://localhost/rfc/rfc1939',
  'https://127.0.0.1/rfc/rfc1939',
  'javascript:alert(1)',
  'JavaScript:fetch("https://github.com/winpop/winpop")',
  'file:///etc/passwd',
  'file://github.com/winpop/winpop',
  'data:text/html,<script>alert(1)</script>',
  'smb://server/share',
  'ms-settings:privacy',
  'app://console/index.html',
  '',
  'not a url',
];

describe('the documentation allow-list', () => {
  test('lets the listed pages through, as parsed', () => {
    for (const [url, href] of ALLOWED) assert.deepEqual(checkExternalUrl(url), { ok: true, href }, url);
  });

  test('refuses everything else, saying why', () => {
    for (const url of REFUSED) {
      const check = checkExternalUrl(url);
      assert.equal(check.ok, false, url);
      assert.ok(!check.ok && check.problem.length > 0, url);
    }
  });

  test("includes the project's homepage from package.json", async () => {
    const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { homepage: string };
    assert.equal(checkExternalUrl(pkg.homepage).ok, true, pkg.homepage);
    assert.ok(DOCUMENTATION_SITES.every((s) => s.path.startsWith('/') && !s.path.endsWith('/') && s.host === new URL(`https://${s.host}`).hostname));
  });
});

/** A webContents as the guard sees it: events to emit, and the window-open handler it was given. */
class FakeContents extends EventEmitter {
  openHandler: ((details: { url: string }) => { action: 'deny' }) | undefined;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void {
    this.openHandler = handler;
  }
  /** Emits a cancellable event; true when a listener cancelled it. */
  cancelled(event: string, fields: Record<string, unknown>): boolean {
    let prevented = false;
    this.emit(event, { ...fields, preventDefault: () => (prevented = true) });
    return prevented;
  }
}

describe("the window's handlers (window.ts with Electron stood in for)", () => {
  const warnings: { message: string; fields: LogFields | undefined }[] = [];
  const log: Logger = { error() {}, info() {}, debug() {}, warn: (message, fields) => warnings.push({ message, fields }) };
  const contents = new FakeContents();

  before(async () => {
    standInForElectron();
    const window = await import('../../electron/window.js');
    window.guardAllWebContents(log);
    // The type check: a FakeContents is what the guard asks of Electron's WebContents.
    const guarded: GuardedContents = contents;
    app.emit('web-contents-created', {}, guarded);
  });

  test('window.open: documentation goes to the system browser, the rest nowhere; nothing opens in the app', () => {
    openedExternally.length = 0;
    warnings.length = 0;
    assert.ok(contents.openHandler, 'the window sets a window-open handler');
    for (const url of ['https://www.rfc-editor.org/rfc/rfc1939', ...REFUSED]) {
      assert.deepEqual(contents.openHandler({ url }), { action: 'deny' }, url);
    }
    assert.deepEqual(openedExternally, ['https://www.rfc-editor.org/rfc/rfc1939']);
    assert.equal(warnings.length, REFUSED.length, 'every refusal is logged');
    assert.match(warnings[0]?.message ?? '', /Refused to open a link outside the console/);
    assert.deepEqual(warnings[0]?.fields, { url: 'https://evil.example/', problem: 'evil.example is not a documentation host of this app' });
  });

  test('navigation: stays on app://console; a documentation link clicked in the page opens in the browser', () => {
    openedExternally.length = 0;
    assert.equal(contents.cancelled('will-frame-navigate', { url: 'app://console/index.html', isMainFrame: true }), false);
    assert.equal(contents.cancelled('will-frame-navigate', { url: 'https://datatracker.ietf.org/doc/html/rfc1939', isMainFrame: true }), true);
    assert.equal(contents.cancelled('will-frame-navigate', { url: 'https://evil.example/', isMainFrame: true }), true);
    assert.equal(contents.cancelled('will-frame-navigate', { url: 'http://www.rfc-editor.org/rfc/rfc1939', isMainFrame: true }), true);
    // A frame may not send the administrator anywhere, documentation or not.
    assert.equal(contents.cancelled('will-frame-navigate', { url: 'https://www.rfc-editor.org/rfc/rfc1939', isMainFrame: false }), true);
    assert.equal(contents.cancelled('will-redirect', { url: 'https://www.rfc-editor.org/rfc/rfc1939' }), true);
    assert.equal(contents.cancelled('will-attach-webview', {}), true);
    assert.deepEqual(openedExternally, ['https://datatracker.ietf.org/doc/html/rfc1939']);
  });
});
