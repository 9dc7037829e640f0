/**
 * Which file of the built renderer an `app://console/...` request names.
 *
 * The protocol handler serves only files under the renderer folder; anything
 * else (another host, `..` in any spelling, an absolute or drive path, a NUL)
 * resolves to null and is answered 404. No Electron import, so the rules are
 * unit-tested under plain Node.
 */

import path from 'node:path';
import { isAppUrl } from './app-origin.js';

const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

export interface AppFile {
  /** Absolute path inside the renderer folder. */
  readonly file: string;
  readonly mimeType: string;
}

/** The renderer file a request URL names, or null when it names nothing we serve. */
export function resolveAppFile(rendererRoot: string, requestUrl: string): AppFile | null {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (!isAppUrl(requestUrl)) return null;

  let relative: string;
  try {
    relative = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (relative.includes('\0') || relative.includes('\\')) return null;
  if (relative === '/' || relative === '') relative = '/index.html';
  // After decoding, `..` segments may appear again (`%2e%2e%2f`): refuse them rather than resolve them.
  const segments = relative.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..' || /^[A-Za-z]:$/.test(s))) return null;

  const root = path.resolve(rendererRoot);
  const file = path.resolve(root, ...segments);
  if (file !== root && !file.startsWith(root + path.sep)) return null;

  const mimeType = MIME_TYPES[path.extname(file).toLowerCase()];
  if (!mimeType) return null;
  return { file, mimeType };
}
