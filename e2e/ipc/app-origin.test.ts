/**
 * The pure rules of the main process: which URLs are the console's own, which
 * files the app:// handler may serve, and how the command line is read
 * (links that may open in a browser: external-links.test.ts).
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { resolveAppFile } from '../../electron/app-files.js';
import { APP_ENTRY_URL, CONTENT_SECURITY_POLICY, isAppUrl } from '../../electron/app-origin.js';
import { parseLaunchOptions } from '../../electron/launch-options.js';
import { TrustedSenders, senderProblem } from '../../electron/ipc/trusted-sender.js';

describe('the app origin', () => {
  test('is app://console and nothing that looks like it', () => {
    assert.equal(isAppUrl(APP_ENTRY_URL), true);
    assert.equal(isAppUrl('app://console/assets/index-abc.js'), true);
    assert.equal(isAppUrl('APP://CONSOLE/index.html'), true, 'scheme and host are case-insensitive');
    for (const url of [
      'app://console.evil/index.html',
      'app://evil/index.html',
      'app://console:8080/index.html',
      'app://u:p@console/index.html',
      'https://console/index.html',
      'file:///index.html',
      'about:blank',
      'data:text/html,hi',
      'not a url',
      '',
    ]) {
      assert.equal(isAppUrl(url), false, url);
    }
  });

  test('has a CSP that allows only its own scripts and no network', () => {
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
    assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
    assert.match(CONTENT_SECURITY_POLICY, /connect-src 'none'/);
    assert.match(CONTENT_SECURITY_POLICY, /object-src 'none'/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-(inline|eval)/);
  });
});

describe('renderer files served on app://', () => {
  const root = path.resolve('/srv/winpop/dist/renderer');

  test('map to files inside the renderer folder with a MIME type', () => {
    assert.deepEqual(resolveAppFile(root, 'app://console/index.html'), { file: path.join(root, 'index.html'), mimeType: 'text/html; charset=utf-8' });
    assert.deepEqual(resolveAppFile(root, 'app://console/'), { file: path.join(root, 'index.html'), mimeType: 'text/html; charset=utf-8' });
    assert.equal(resolveAppFile(root, 'app://console/assets/index-D1x.js?v=1#x')?.file, path.join(root, 'assets', 'index-D1x.js'));
    assert.equal(resolveAppFile(root, 'app://console/assets/index.css')?.mimeType, 'text/css; charset=utf-8');
    assert.equal(resolveAppFile(root, 'app://console/assets/a%20b.svg')?.file, path.join(root, 'assets', 'a b.svg'));
  });

  test('refuse traversal in every spelling, other hosts and unknown types', () => {
    for (const url of [
      'app://console/../../etc/passwd',
      'app://console/assets/%2E%2E%2F%2E%2E%2Fsecret.json',
      'app://console/..%2f..%2fconfig.json',
      'app://console/..%5c..%5cconfig.json',
      'app://console/assets%5c..%5c..%5cx.js',
      'app://console/C:/Windows/win.ini.txt',
      'app://console/%00index.html',
      'app://console/index.html%00.js',
      'app://console/%E0%A4%A.js',
      'app://other/index.html',
      'file:///srv/winpop/dist/renderer/index.html',
      'app://console/main.js.map',
      'app://console/.env',
      'app://console/package',
    ]) {
      assert.equal(resolveAppFile(root, url), null, url);
    }
    // URL parsing resolves dot segments, literal or %2e-encoded, against the root: the result stays inside.
    assert.equal(resolveAppFile(root, 'app://console/assets/../index.html')?.file, path.join(root, 'index.html'));
    assert.equal(resolveAppFile(root, 'app://console/%2e%2e/%2e%2e/etc/passwd.txt')?.file, path.join(root, 'etc', 'passwd.txt'));
  });
});

describe('launch options', () => {
  test('read --name value and --name=value, resolving paths', () => {
    const options = parseLaunchOptions(['dist/electron/main.js', '--mailroot', 'mail', '--config=cfg.json', '--pop3-port', '0', '--smtp-port=2525', '--user-data', 'profile'], {});
    assert.deepEqual(options, {
      configPath: path.resolve('cfg.json'),
      mailroot: path.resolve('mail'),
      pop3Port: 0,
      smtpPort: 2525,
      userData: path.resolve('profile'),
    });
  });

  test('fall back to the environment, and leave Chromium switches alone', () => {
    const options = parseLaunchOptions(['--no-sandbox', '--enable-logging', 'file.txt'], { WINPOP_MAILROOT: '/var/mail/x', WINPOP_CONFIG: '/etc/x.json' });
    assert.deepEqual(options, { configPath: path.resolve('/etc/x.json'), mailroot: path.resolve('/var/mail/x') });
    assert.deepEqual(parseLaunchOptions(['--mailroot=/a'], { WINPOP_MAILROOT: '/b' }), { mailroot: path.resolve('/a') });
  });

  test('say what is wrong with a bad switch', () => {
    assert.throws(() => parseLaunchOptions(['--mailroot'], {}), /--mailroot needs a value, for example --mailroot DIR/);
    assert.throws(() => parseLaunchOptions(['--config', '--mailroot', 'x'], {}), /--config needs a value/);
    assert.throws(() => parseLaunchOptions(['--pop3-port', 'abc'], {}), /--pop3-port must be a port number from 0 to 65535/);
    assert.throws(() => parseLaunchOptions(['--smtp-port=70000'], {}), /--smtp-port must be a port number/);
    assert.throws(() => parseLaunchOptions(['--mailroot='], {}), /--mailroot needs a value/);
  });
});

describe('the sender check', () => {
  const trusted = new TrustedSenders();
  trusted.add({ id: 3, isDestroyed: () => false, getURL: () => APP_ENTRY_URL, send: () => undefined });

  test('accepts only the main frame of a trusted window on the app origin', () => {
    assert.equal(senderProblem(trusted, { webContentsId: 3, frame: { url: APP_ENTRY_URL, isMainFrame: true } }), null);
    assert.match(senderProblem(trusted, { webContentsId: 4, frame: { url: APP_ENTRY_URL, isMainFrame: true } }) ?? '', /not a POP3 Service console window/);
    assert.match(senderProblem(trusted, { webContentsId: 3, frame: { url: APP_ENTRY_URL, isMainFrame: false } }) ?? '', /embedded frame/);
    assert.match(senderProblem(trusted, { webContentsId: 3, frame: null }) ?? '', /gone away/);
    assert.match(senderProblem(trusted, { webContentsId: 3, frame: { url: 'https://example.com/', isMainFrame: true } }) ?? '', /not the POP3 Service console/);
  });

  test('forgets a removed window, and lists only live ones for events', () => {
    const set = new TrustedSenders();
    let destroyed = false;
    set.add({ id: 9, isDestroyed: () => destroyed, getURL: () => APP_ENTRY_URL, send: () => undefined });
    assert.equal(set.sinks().length, 1);
    destroyed = true;
    assert.equal(set.sinks().length, 0);
    set.remove(9);
    assert.equal(set.has(9), false);
  });
});
