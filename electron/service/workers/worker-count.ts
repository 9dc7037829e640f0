/**
 * How many processes serve mail for a value of the setting `workers`.
 */

import os from 'node:os';

/** The CPUs this process may use (a container's or affinity's limit, where Node sees it). */
export function cpuCount(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/** The processes the setting asks for: 0 is one per CPU. */
export function workerCount(setting: number): number {
  return setting === 0 ? cpuCount() : setting;
}
