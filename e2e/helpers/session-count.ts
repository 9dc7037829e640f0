/**
 * Waits until the service counts exactly the open POP3 connections a test
 * expects, as it reports them through its admin API.
 */

import assert from 'node:assert/strict';
import type { ControlClient } from '../../electron/service/admin/control-client.js';

/** Polls `serverInfo` for up to 5 s; fails naming the last count seen. */
export async function expectSessions(control: ControlClient, n: number, what: string): Promise<void> {
  let last = -1;
  const until = Date.now() + 5000;
  for (;;) {
    last = (await control.serverInfo({})).sessions;
    if (last === n) return;
    if (Date.now() > until) assert.fail(`${what}: the service counts ${last} open POP3 connections, expected exactly ${n}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
