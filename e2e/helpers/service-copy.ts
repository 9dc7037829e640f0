/**
 * A copy of what `pop3svc` needs to run, for tests that run it as a system
 * service's user, who cannot read a checkout in a home folder (/root is
 * private, and the unit sets ProtectHome=yes): the files the deb unpacks for
 * plain node (electron-builder.yml's linux.asarUnpack) and the production
 * dependencies found from package.json, copied as real files readable by all.
 */

import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { run } from './processes.js';

/** Folders a system service cannot see (ProtectHome=yes); /root is also closed to other users. */
export const HOME_FOLDERS = ['/home', '/root', '/run/user'] as const;

/** The home folder `p` is in, or null. */
export function homeFolderOf(p: string): string | null {
  return HOME_FOLDERS.find((dir) => p === dir || p.startsWith(`${dir}/`)) ?? null;
}

/** What bin/pop3svc.js and bin/winpop.js load from the checkout, besides node_modules (as the deb ships it). */
const SERVICE_FILES = ['package.json', 'bin', 'dist/electron/cli', 'dist/electron/service', 'dist/shared'] as const;

interface Manifest {
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** Where node would find package `name` required from the package at `from`, looking no higher than `root`. */
function locate(root: string, from: string, name: string): string | null {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    }
    if (dir === root || path.dirname(dir) === dir) return null;
  }
}

/**
 * The installed packages the project needs at run time, as paths relative to
 * `root` (node_modules/ws, node_modules/a/node_modules/b, …): package.json's
 * dependencies and theirs, recursively, as node would resolve them. Not npm ls:
 * it reports a checkout whose node_modules is a link elsewhere as broken.
 */
export async function productionPackages(root: string): Promise<string[]> {
  const found = new Set<string>();
  const queue = [root];
  for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as Manifest;
    const required = Object.keys(manifest.dependencies ?? {});
    // Optional and peer dependencies may be absent by design; the package copes or its user installs them.
    const mayLack = new Set([...Object.keys(manifest.optionalDependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
    for (const name of new Set([...required, ...mayLack])) {
      const at = locate(root, dir, name);
      if (at === null) {
        if (mayLack.has(name)) continue;
        throw new Error(`${name}, a dependency of ${manifest.name ?? dir}, is not installed in ${path.join(root, 'node_modules')}: run npm ci (or npm install) in ${root} first.`);
      }
      if (found.has(at)) continue;
      found.add(at);
      queue.push(at);
    }
  }
  return [...found].map((at) => path.relative(root, at)).sort();
}

/**
 * Copies pop3svc's files and production packages from the checkout at `root`
 * into `dest` (links followed, so nothing in the copy points back), readable
 * and, where executable, runnable by every user; returns the packages copied.
 */
export async function copyServiceFiles(root: string, dest: string): Promise<string[]> {
  for (const part of SERVICE_FILES) {
    const from = path.join(root, part);
    if (!existsSync(from)) throw new Error(`${from} is missing: build first (npm run build:service).`);
    await fs.cp(from, path.join(dest, part), { recursive: true, dereference: true });
  }
  const packages = await productionPackages(root);
  for (const pkg of packages) {
    const from = path.join(root, pkg);
    // A package's own node_modules holds dev dependencies too: the ones it needs are in the list themselves.
    const nested = path.join(from, 'node_modules');
    await fs.cp(from, path.join(dest, pkg), { recursive: true, dereference: true, filter: (src) => src !== nested });
  }
  const readable = await run('chmod', ['-R', 'a+rX', dest]);
  if (readable.code !== 0) throw new Error(`chmod -R a+rX ${dest} failed: ${readable.stderr}`);
  return packages;
}
