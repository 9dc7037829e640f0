/**
 * Playwright global setup: builds the renderer into dist/renderer when its
 * sources are newer than the build, so the suite never tests a stale page.
 */

import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

export default async function buildRenderer(): Promise<void> {
  const built = path.join(root, 'dist', 'renderer', 'index.html');
  const sources = Math.max(newest(path.join(root, 'renderer')), newest(path.join(root, 'shared')));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  const { build } = await import('vite');
  await build({ configFile: path.join(root, 'renderer', 'vite.config.ts'), logLevel: 'warn' });
}
