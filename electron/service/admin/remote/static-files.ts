/**
 * The console's files (the built renderer bundle) from one folder, for a
 * signed-in browser.
 *
 * A request path reaches only regular files inside the folder: `..`, names
 * beginning with a dot, backslashes and NUL are refused before the file
 * system is asked, and a symbolic link that leads outside the folder is
 * refused after (both by their real paths). Each file goes with the type of
 * its extension; an unknown one is a download (application/octet-stream),
 * never a guess.
 */

import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/vnd.microsoft.icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

export function contentTypeOf(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** A file to send: its real path, size and type. */
export interface StaticFile {
  readonly file: string;
  readonly size: number;
  readonly type: string;
}

/**
 * The file a URL path names inside `root` (`/` is index.html); null when it
 * names none that may be served. `urlPath` is as it came, percent-encoded.
 */
export async function findStaticFile(root: string, urlPath: string): Promise<StaticFile | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const parts = decoded.split('/').filter((part) => part !== '');
  if (parts.some((part) => part.startsWith('.'))) return null;
  const relative = parts.length === 0 ? 'index.html' : parts.join('/');
  let realRoot: string;
  let real: string;
  try {
    realRoot = await fsp.realpath(root);
    real = await fsp.realpath(path.join(realRoot, relative));
  } catch {
    return null;
  }
  if (!real.startsWith(realRoot + path.sep)) return null;
  const info = await fsp.stat(real).catch(() => null);
  if (info === null || !info.isFile()) return null;
  return { file: real, size: info.size, type: contentTypeOf(real) };
}

/** Streams a found file; the caller has written the status and headers. */
export function streamFile(found: StaticFile): NodeJS.ReadableStream {
  return createReadStream(found.file);
}
