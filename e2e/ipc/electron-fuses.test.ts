/**
 * The Electron fuses of the packaged console, checked the way a build uses
 * them: electron-builder's own loader reads electron-builder.yml, its schema
 * accepts it, its fuse step turns `electronFuses` into a fuse wire, and
 * @electron/fuses (the module that step calls) flips a binary's wire, read
 * back afterwards. The binary is a stand-in holding Electron's sentinel and
 * its default wire; where a real Electron binary is installed, its wire is
 * checked to have no fuse that the config leaves unset.
 */

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findElectronBinary } from '../electron/electron-binary.js';
import { REPO_ROOT } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

/** Every fuse electron-builder 26 knows, with the value the console ships. */
const SAFE_FUSES = {
  runAsNode: false,
  enableCookieEncryption: true,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  loadBrowserProcessSpecificV8Snapshot: false,
  grantFileProtocolExtraPrivileges: false,
} as const;

/**
 * The same as wire bytes, in the wire's order (FuseV1Options 0–7: run as node,
 * cookie encryption, NODE_OPTIONS, --inspect, asar integrity, only app.asar,
 * browser V8 snapshot, file:// privileges): '1' on, '0' off.
 */
const SAFE_WIRE = '01001100';
/** An Electron binary's wire as it is built: run-as-node, NODE_OPTIONS, --inspect and file:// privileges on. */
const DEFAULT_WIRE = '10110001';

interface FuseModule {
  readonly FuseVersion: { readonly V1: string };
  readonly FuseV1Options: Readonly<Record<string, number | string>>;
  flipFuses(file: string, config: Record<string, unknown>): Promise<number>;
  getCurrentFuseWire(file: string): Promise<Record<string, unknown>>;
}

/** electron-builder's own modules, from where electron-builder itself loads them. */
const builderRequire = createRequire(createRequire(import.meta.url).resolve('electron-builder'));
const libRequire = createRequire(builderRequire.resolve('app-builder-lib'));
const configLib = libRequire('app-builder-lib/out/util/config/config.js') as {
  getConfig(projectDir: string, configPath: string | null, options: null): Promise<Record<string, unknown>>;
  validateConfiguration(config: Record<string, unknown>, debug: { isEnabled: boolean; add(): void }): Promise<void>;
};
// Through the package's entry: its modules import each other in a cycle that only that order resolves.
const { PlatformPackager } = builderRequire('app-builder-lib') as {
  PlatformPackager: { prototype: { generateFuseConfig(fuses: unknown): Promise<Record<string, unknown>> } };
};
const fuses = libRequire('@electron/fuses') as FuseModule;
/** @electron/fuses finds the wire after this marker in the binary. */
const SENTINEL = (libRequire('@electron/fuses/dist/constants.js') as { SENTINEL: string }).SENTINEL;

const noDebug = { isEnabled: false, add(): void {} };

/** The wire of a binary as '0'/'1' characters (r for a removed fuse). */
async function wireOf(file: string): Promise<string> {
  const wire = await fuses.getCurrentFuseWire(file);
  const states: string[] = [];
  for (let i = 0; wire[i] !== undefined; i++) states.push(String.fromCharCode(wire[i] as number));
  return states.join('');
}

describe('Electron fuses of the packaged console', () => {
  let dir: TempDir;
  let config: Record<string, unknown>;

  before(async () => {
    dir = await tempDir();
    config = await configLib.getConfig(REPO_ROOT, null, null);
  });
  after(async () => {
    await dir?.remove();
  });

  test('electron-builder.yml sets every fuse to its safe value, and electron-builder accepts it', async () => {
    assert.deepEqual(config.electronFuses, SAFE_FUSES);
    await configLib.validateConfiguration(config, noDebug);
  });

  test("electron-builder's schema checks the fuse names and values (so the acceptance above means something)", async () => {
    await assert.rejects(configLib.validateConfiguration({ ...config, electronFuses: { ...SAFE_FUSES, runAsNod: false } }, noDebug), /configuration\.electronFuses/);
    await assert.rejects(configLib.validateConfiguration({ ...config, electronFuses: { ...SAFE_FUSES, runAsNode: 'no' } }, noDebug), /configuration\.electronFuses/);
  });

  test("electron-builder's fuse step flips a binary's wire to the safe values", async () => {
    const wireConfig = await PlatformPackager.prototype.generateFuseConfig.call(null, config.electronFuses);
    assert.equal(wireConfig.version, fuses.FuseVersion.V1);
    const binary = path.join(dir.path, 'electron');
    const header = Buffer.from(`\x7fELF stand-in for the Electron binary ${SENTINEL}`, 'latin1');
    await writeFile(binary, Buffer.concat([header, Buffer.from([1, DEFAULT_WIRE.length]), Buffer.from(DEFAULT_WIRE, 'latin1'), Buffer.alloc(64)]));
    assert.equal(await wireOf(binary), DEFAULT_WIRE);
    await fuses.flipFuses(binary, wireConfig);
    assert.equal(await wireOf(binary), SAFE_WIRE);
  });

  test('the installed Electron has no fuse that the config leaves unset', async (t) => {
    const found = findElectronBinary();
    if ('missing' in found) {
      t.skip(`no Electron binary: ${found.missing}`);
      return;
    }
    const wire = await wireOf(found.path);
    const known = Object.values(fuses.FuseV1Options).filter((v) => typeof v === 'number').length;
    assert.ok(wire.length <= known, `Electron's wire has ${wire.length} fuses, @electron/fuses knows ${known}: update it and electron-builder.yml`);
    assert.equal(Object.keys(SAFE_FUSES).length, known);
  });
});
