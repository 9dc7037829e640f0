/**
 * The user ids of people's accounts, as opposed to the system's own (root,
 * daemons): only these may log in with the "System accounts" method.
 *
 * Linux takes the range from `/etc/login.defs` (UID_MIN, UID_MAX: where
 * useradd puts people's accounts), 1000–60000 when it says nothing. macOS
 * gives people ids from 501; its system accounts are below 500.
 */

import { readFileSync } from 'node:fs';

export interface UidRange {
  readonly min: number;
  readonly max: number;
}

const LINUX_DEFAULT: UidRange = { min: 1000, max: 60000 };
const MACOS_DEFAULT: UidRange = { min: 500, max: 2 ** 31 - 2 };

/** The range that `login.defs` text gives, each bound falling back to `fallback`'s. */
export function uidRangeFromLoginDefs(text: string, fallback: UidRange = LINUX_DEFAULT): UidRange {
  const value = (key: string): number | null => {
    const match = new RegExp(`^\\s*${key}\\s+(\\d+)\\s*(#.*)?$`, 'm').exec(text);
    return match?.[1] === undefined ? null : Number(match[1]);
  };
  const min = value('UID_MIN') ?? fallback.min;
  const max = value('UID_MAX') ?? fallback.max;
  // root (0) is never a person's account, whatever the file says.
  return min >= 1 && max >= min ? { min, max } : fallback;
}

/** This computer's range of people's user ids. */
export function loginUidRange(platform: NodeJS.Platform = process.platform, loginDefs = '/etc/login.defs'): UidRange {
  if (platform === 'darwin') return MACOS_DEFAULT;
  try {
    return uidRangeFromLoginDefs(readFileSync(loginDefs, 'utf8'));
  } catch {
    return LINUX_DEFAULT;
  }
}
