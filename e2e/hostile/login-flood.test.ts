/**
 * A flood of wrong passwords does not starve the service: while a hundred
 * loopback addresses (127.0.1.x) send `USER <random name>` / `PASS wrong` in
 * a loop to a real pop3svc, a user whose password was verified before logs
 * in and downloads twenty messages, a user who never logged in before logs
 * in, and the service keeps serving.
 *
 * Every attempt of the flood costs a real scrypt (unknown names spend a dummy
 * one). Both sessions must complete while the flood still runs; the flood
 * stops when they have, or after FLOOD_LIMIT_MS. The times are printed, not
 * asserted: the targets are in bench/login-flood.ts.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RawClient } from '../pop3/support.js';
import { Random, seedFrom, startService, type TestService } from './support.js';

const FLOOD_ADDRESSES = 100;
const CONNECTIONS_PER_ADDRESS = 2;
/** The flood has answered this many attempts before the measured sessions start. */
const FLOOD_WARM_ATTEMPTS = 150;
const FLOOD_LIMIT_MS = 90_000;
/** Generous: a line may wait while the service is loaded; the flood limit is what bounds the test. */
const LINE_MS = FLOOD_LIMIT_MS;
const MESSAGES = 20;
const CACHED = { address: 'cached@flood.example', password: 'cached-password' };
const FIRST = { address: 'first@flood.example', password: 'first-password' };

let service: TestService;

before(async () => {
  service = await startService({
    // Errors only: the flood's failures would fill the captured output.
    settings: { logging: 1 },
    mailboxes: [CACHED, FIRST],
    messages: (address) => (address === CACHED.address ? Array.from({ length: MESSAGES }, (_, i) => `Subject: message ${i + 1}\n\n${'a line of the body\n'.repeat(200)}`) : []),
  });
});
after(async () => {
  await service?.cleanup();
});

/** Log-in, STAT, RETR of every message, QUIT; resolves with the milliseconds it took. */
async function session(port: number, user: { address: string; password: string }, retrieve: boolean, open = new Set<RawClient>()): Promise<number> {
  const started = Date.now();
  const c = await RawClient.connect(port);
  open.add(c);
  try {
    assert.match(await c.line(LINE_MS), /^\+OK/);
    c.send(`USER ${user.address}\r\n`);
    assert.match(await c.line(LINE_MS), /^\+OK/);
    c.send(`PASS ${user.password}\r\n`);
    assert.match(await c.line(LINE_MS), /^\+OK Logged in/);
    if (retrieve) {
      for (let i = 1; i <= MESSAGES; i++) {
        c.send(`RETR ${i}\r\n`);
        assert.match(await c.line(LINE_MS), /^\+OK \d+ octets/);
        assert.match((await c.multiline(LINE_MS)).toString('latin1'), /^Subject: message \d+\r\n\r\n(a line of the body\r\n){200}$/);
      }
    }
    c.send('QUIT\r\n');
    assert.equal(await c.line(LINE_MS), '+OK Bye.');
    return Date.now() - started;
  } finally {
    open.delete(c);
    c.destroy();
  }
}

/** Connections from many addresses, each sending a random name and a wrong password until stopped. */
class Flood {
  answered = 0;
  refusedConnections = 0;
  private stopped = false;
  private readonly open = new Set<RawClient>();
  private readonly loops: Promise<void>[] = [];
  readonly startedAt = Date.now();

  constructor(
    private readonly port: number,
    private readonly random: Random,
  ) {
    for (let a = 1; a <= FLOOD_ADDRESSES; a++) {
      for (let k = 0; k < CONNECTIONS_PER_ADDRESS; k++) this.loops.push(this.loop(`127.0.1.${a}`));
    }
  }

  get running(): boolean {
    return !this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.open) c.destroy();
    await Promise.all(this.loops);
  }

  private async loop(from: string): Promise<void> {
    while (!this.stopped) {
      let c: RawClient;
      try {
        c = await RawClient.connect(this.port, from);
      } catch {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      this.open.add(c);
      try {
        if (!(await c.line(LINE_MS)).startsWith('+OK')) {
          this.refusedConnections++;
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        while (!this.stopped) {
          c.send(`USER ${this.random.int(0, 2 ** 31).toString(36)}@nobody.example\r\nPASS wrong\r\n`);
          await c.line(LINE_MS);
          await c.line(LINE_MS);
          this.answered++;
        }
      } catch {
        // Closed: by the server (too many bad commands, the log-in timeout) or by stop().
      } finally {
        this.open.delete(c);
        c.destroy();
      }
    }
  }
}

test('under a flood of wrong passwords from 100 addresses, a cached session and a first log-in complete and the service keeps serving', { timeout: FLOOD_LIMIT_MS + 120_000 }, async () => {
  const port = service.svc.pop3Port;
  // The first log-in verifies the password (scrypt) and caches it; the next is a cached session.
  const quietFirst = await session(port, CACHED, false);
  const quietCached = await session(port, CACHED, true);
  console.log(`quiet: first log-in ${quietFirst} ms, cached session (log-in + ${MESSAGES} RETR) ${quietCached} ms`);

  const flood = new Flood(port, new Random(seedFrom('LOGIN_FLOOD_SEED', 'login flood names')));
  let limitTimer: NodeJS.Timeout | undefined;
  const limit = new Promise<'limit'>((resolve) => {
    limitTimer = setTimeout(() => resolve('limit'), FLOOD_LIMIT_MS);
  });
  let outcome: { cached: number; first: number } | 'limit';
  const measuring = new Set<RawClient>();
  try {
    const warm = (async (): Promise<void> => {
      while (flood.answered < FLOOD_WARM_ATTEMPTS) await new Promise((r) => setTimeout(r, 50));
    })();
    const measured = (async () => {
      await warm;
      console.log(`flood: ${flood.answered} attempts answered in ${Date.now() - flood.startedAt} ms before the measured sessions`);
      const [cached, first] = await Promise.all([session(port, CACHED, true, measuring), session(port, FIRST, false, measuring)]);
      return { cached, first };
    })();
    outcome = await Promise.race([measured, limit]);
    // Past the limit, the sessions still waiting are given up (their failure is the assertion below).
    measured.catch(() => undefined);
    const seconds = (Date.now() - flood.startedAt) / 1000;
    console.log(`flood: ${flood.answered} attempts answered in ${seconds.toFixed(1)} s (${(flood.answered / seconds).toFixed(1)}/s), ${flood.refusedConnections} connections refused`);
    // Still flooding: both completed under it.
    assert.notEqual(outcome, 'limit', `the sessions did not complete within ${FLOOD_LIMIT_MS / 1000} s of flooding`);
    assert.ok(flood.running);
  } finally {
    clearTimeout(limitTimer);
    for (const c of measuring) c.destroy();
    await flood.stop();
  }
  if (outcome !== 'limit') console.log(`flooded: cached session ${outcome.cached} ms (quiet ${quietCached} ms), first log-in ${outcome.first} ms (quiet ${quietFirst} ms)`);

  assert.equal(service.svc.process.exitCode, null, 'the service is still running');
  const after = await session(port, FIRST, false);
  console.log(`after the flood: a log-in ${after} ms`);
});
