/**
 * Parallel connections do not multiply guesses: a password check runs one at
 * a time per mailbox and per client address, each attempt waits out the
 * penalty in its turn, and a refused attempt is never hashed. The owner of a
 * mailbox, logging in from where they did before, is not held up by
 * strangers hammering their mailbox name.
 *
 * What ran when is read from the service's own log (a check's start and end,
 * at the "maximum" level) and from the password workers' count of hashes.
 * Clients are told apart by their loopback source address (127.0.0.x).
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REPLY } from '../../electron/service/pop3/responses.js';
import { passwordPoolStats } from '../../electron/service/store/passwords.js';
import { makeStore, RawClient, seedMailbox, startServer, waitFor, type TestServer, type TestStore } from '../pop3/support.js';
import { capturingLogger } from '../tls/tls-support.js';

/** The field `name=value` of a log line. */
function field(line: string, name: string): string {
  return new RegExp(` ${name}=(\\S+)`).exec(line)?.[1] ?? '';
}

/** Most checks in flight at once, per key (mailbox, or client address), from the check start and finish lines. */
function peakInFlight(lines: readonly string[], key: (line: string) => string): Map<string, number> {
  const now = new Map<string, number>();
  const peak = new Map<string, number>();
  for (const line of lines) {
    const k = key(line);
    if (line.includes('pop3 login check started')) {
      const n = (now.get(k) ?? 0) + 1;
      now.set(k, n);
      peak.set(k, Math.max(peak.get(k) ?? 0, n));
    } else if (line.includes('pop3 login check finished')) {
      now.set(k, (now.get(k) ?? 0) - 1);
    }
  }
  return peak;
}

const clientOf = (line: string): string => field(line, 'remote').replace(/:\d+$/, '');

describe('twenty parallel guessers', () => {
  const logs = capturingLogger();
  const PENALTY_MS = 50;
  let t: TestStore;
  let srv: TestServer;

  before(async () => {
    t = await makeStore();
    await seedMailbox(t.store, 'victim@guess.example', 'the-real-password');
    srv = await startServer(t.store, {}, { penalty: { baseMs: PENALTY_MS, capMs: PENALTY_MS }, log: logs.log });
  });
  after(async () => {
    await srv?.stop();
    await t?.cleanup();
  });

  it('from five addresses on one mailbox: never two checks at once for the mailbox or an address, each after its penalty, one hash each', { timeout: 120_000 }, async () => {
    const ROUNDS = 2;
    const froms = ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15'];
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => RawClient.open(srv.port, froms[i % froms.length])));
    const mark = logs.lines.length;
    const hashedBefore = passwordPoolStats().derived;
    try {
      const answers = await Promise.all(
        clients.map(async (c, i) => {
          const got: string[] = [];
          for (let round = 0; round < ROUNDS; round++) {
            assert.match(await c.command('USER victim@guess.example'), /^\+OK/);
            c.send(`PASS guess-${i}-${round}\r\n`);
            // In line behind the others: a generous wait, this is not a speed test.
            got.push(await c.line(60_000));
          }
          return got;
        }),
      );
      for (const answer of answers.flat()) assert.equal(answer, REPLY.badCredentials);
    } finally {
      for (const c of clients) c.destroy();
    }

    const lines = logs.lines.slice(mark);
    const started = lines.filter((l) => l.includes('pop3 login check started'));
    const refused = lines.filter((l) => l.includes('pop3 login refused unchecked'));
    const delayed = lines.filter((l) => l.includes('pop3 login answer delayed'));
    console.log(`40 attempts: ${started.length} checked, ${refused.length} refused unchecked, ${delayed.length} waited a penalty first`);
    assert.equal(started.length + refused.length, 20 * ROUNDS, 'every attempt was either checked or refused');
    // Two checks at least, or "every check after the first waited its penalty" below would hold for none.
    assert.ok(started.length >= 2, `only ${started.length} of ${20 * ROUNDS} attempts were checked`);

    const byMailbox = peakInFlight(lines, (l) => field(l, 'mailbox'));
    assert.deepEqual([...byMailbox], [['victim@guess.example', 1]], 'one check at a time for the mailbox');
    const byClient = peakInFlight(lines, clientOf);
    assert.deepEqual([...byClient.values()].filter((n) => n > 1), [], `one check at a time per address: ${JSON.stringify([...byClient])}`);

    // Every check after the first waited the mailbox's penalty in its turn.
    assert.equal(delayed.length, started.length - 1);
    for (const line of delayed) assert.equal(Number(field(line, 'delayMs')), PENALTY_MS);
    // Each checked attempt hashed once; a refused one not at all.
    assert.equal(passwordPoolStats().derived - hashedBefore, started.length);
  });
});

describe('the owner of a hammered mailbox', () => {
  const logs = capturingLogger();
  let t: TestStore;
  let srv: TestServer;

  before(async () => {
    t = await makeStore();
    await seedMailbox(t.store, 'owner@guess.example', 'owner-password', ['Subject: hi\n\nhello\n']);
    srv = await startServer(t.store, {}, { penalty: { baseMs: 500, capMs: 500 }, log: logs.log });
  });
  after(async () => {
    await srv?.stop();
    await t?.cleanup();
  });

  it('logs in at once from where they logged in before, while strangers on other addresses keep guessing it', { timeout: 120_000 }, async () => {
    const first = await RawClient.login(srv.port, 'owner@guess.example', 'owner-password');
    assert.equal(await first.command('QUIT'), '+OK Bye.');
    await first.waitClosed();

    let hammering = true;
    const hammer = async (from: string, n: number): Promise<void> => {
      while (hammering) {
        const c = await RawClient.open(srv.port, from).catch(() => null);
        if (c === null) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        try {
          for (let i = 0; hammering && !c.isClosed; i++) {
            c.send(`USER owner@guess.example\r\nPASS stranger-${n}-${i}\r\n`);
            await c.line(60_000);
            await c.line(60_000);
          }
        } catch (err) {
          // Closed by the server (too many bad commands, or the test's end): connect again. Anything else, such as no answer in 60 s, is a failure.
          if (!c.isClosed) throw err;
        } finally {
          c.destroy();
        }
      }
    };
    const hammers = ['127.0.0.21', '127.0.0.22', '127.0.0.23'].flatMap((from, a) => Array.from({ length: 4 }, (_, k) => hammer(from, a * 4 + k)));
    try {
      await waitFor(() => logs.lines.filter((l) => l.includes('pop3 login failed') && l.includes('mailbox=owner@guess.example')).length >= 3, 'strangers to fail on the mailbox', 30_000);
      const mark = logs.lines.length;
      const owner = await RawClient.open(srv.port);
      assert.match(await owner.command('USER owner@guess.example'), /^\+OK/);
      owner.send('PASS owner-password\r\n');
      assert.match(await owner.line(60_000), /^\+OK Logged in; 1 message/);
      assert.equal(await owner.command('QUIT'), '+OK Bye.');

      const mine = logs.lines.slice(mark).filter((l) => clientOf(l) === '127.0.0.1');
      assert.ok(mine.some((l) => l.includes('pop3 login check started') && l.includes('knownOrigin=true')), mine.join(''));
      assert.deepEqual(mine.filter((l) => l.includes('pop3 login answer delayed')), [], "the owner did not wait the mailbox's penalty");
    } finally {
      hammering = false;
      await Promise.all(hammers);
    }
  });
});
