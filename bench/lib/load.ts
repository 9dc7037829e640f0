/**
 * Closed-loop load: N clients, each running its jobs back to back; the rate
 * is jobs done over the wall time from the first start to the last finish.
 * Server and client CPU are sampled around the run, because client and
 * server share this machine's cores.
 */

import { performance } from 'node:perf_hooks';
import { machineBusySeconds, selfCpuSeconds } from './util.js';

export interface LoadRun {
  readonly jobs: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly errors: readonly string[];
  /** CPU seconds the server used during the run. */
  readonly serverCpu: number;
  /** CPU seconds this (client) process used during the run. */
  readonly clientCpu: number;
  /** CPU seconds everything else on the machine used meanwhile (other work sharing the cores). */
  readonly otherCpu: number;
  /** Each successful job's time, start to finish, in milliseconds. */
  readonly jobMs: readonly number[];
}

export async function closedLoop(
  concurrency: number,
  jobsPerClient: number,
  job: (client: number, k: number) => Promise<void>,
  serverCpu: () => number,
): Promise<LoadRun> {
  const errors: string[] = [];
  let jobs = 0;
  const jobMs: number[] = [];
  const cpu0 = serverCpu();
  const self0 = selfCpuSeconds();
  const busy0 = machineBusySeconds();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      for (let k = 0; k < jobsPerClient; k++) {
        try {
          const began = performance.now();
          await job(client, k);
          jobMs.push(performance.now() - began);
          jobs++;
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const server = serverCpu() - cpu0;
  const client = selfCpuSeconds() - self0;
  return {
    jobs,
    seconds,
    perSecond: jobs / seconds,
    errors,
    serverCpu: server,
    clientCpu: client,
    otherCpu: Math.max(0, machineBusySeconds() - busy0 - server - client),
    jobMs,
  };
}
