/**
 * The live server settings of one running service.
 *
 * Listeners read `get()` per connection, so a change made with `winpop set`
 * or the console applies without a restart (ports and the mail root are the
 * exception: they are saved and apply at the next start).
 */

import type { Settings, SettingsPatch } from '../../shared/contract.js';
import { applySettingsPatch, saveConfig } from './config.js';

export interface SettingsHolder {
  get(): Settings;
  /** Checks, saves atomically to the config file, then applies. */
  update(patch: SettingsPatch): Promise<Settings>;
}

/**
 * `fromFile` is what the config file says; `overrides` are this run's
 * command-line choices (mail root, ports), which are shown but never saved.
 */
export function createSettingsHolder(configPath: string, fromFile: Settings, overrides: Partial<Settings> = {}): SettingsHolder {
  let saved = fromFile;
  let effective: Settings = { ...saved, ...overrides };
  return {
    get: () => effective,
    async update(patch) {
      const next = applySettingsPatch(saved, patch);
      await saveConfig(configPath, next);
      saved = next;
      // A setting changed now wins over this run's override of it.
      const remaining = Object.fromEntries(Object.entries(overrides).filter(([key]) => !(key in patch)));
      effective = { ...saved, ...remaining };
      return effective;
    },
  };
}
