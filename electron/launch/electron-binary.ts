/**
 * Finds the Electron binary, or says why there is none: for `npm start`
 * (which opens the console in a browser when there is none) and for the
 * tests' `_electron.launch`.
 *
 * The `electron` npm package fetches its binary on first use: `require('electron')`
 * starts a download when `path.txt` or the binary is missing. Neither a
 * start nor a test may reach for the network, so the files are checked first
 * and `require` is called only when it can merely return the path.
 */

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type ElectronBinary = { readonly path: string } | { readonly missing: string };

const HOW_TO_GET_IT = 'run `npx electron --version` on a machine with internet access (it downloads the binary), or set WINPOP_ELECTRON_PATH to an Electron executable';

export function findElectronBinary(): ElectronBinary {
  const explicit = process.env.WINPOP_ELECTRON_PATH;
  if (explicit) {
    return existsSync(explicit) ? { path: explicit } : { missing: `WINPOP_ELECTRON_PATH names ${explicit}, which does not exist` };
  }

  const require = createRequire(import.meta.url);
  let packageDir: string;
  try {
    packageDir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return { missing: `the electron package is not installed (npm install); then ${HOW_TO_GET_IT}` };
  }

  if (!process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    const pathFile = path.join(packageDir, 'path.txt');
    if (!existsSync(pathFile)) {
      return { missing: `node_modules/electron has no downloaded binary (no path.txt: its download never ran or failed); ${HOW_TO_GET_IT}` };
    }
    const binary = path.join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim());
    if (!existsSync(binary)) return { missing: `${binary} is missing (an interrupted download?); ${HOW_TO_GET_IT}` };
  }

  let resolved: unknown;
  try {
    resolved = require('electron');
  } catch (err) {
    return { missing: `require('electron') failed: ${err instanceof Error ? err.message : String(err)}; ${HOW_TO_GET_IT}` };
  }
  if (typeof resolved !== 'string' || !existsSync(resolved)) {
    return { missing: `require('electron') gave ${JSON.stringify(resolved)}, which is not an executable file; ${HOW_TO_GET_IT}` };
  }
  return { path: resolved };
}
