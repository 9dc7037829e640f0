/**
 * live: mail events fetch the domain list again at most every few seconds
 * (its totals cost the service a look at every mailbox's folders), while
 * any other change to the list fetches it at once. Against a stand-in for
 * `window.winpop` that counts calls, on Node's mocked clock.
 */

import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import type { AdminEvent, DomainSummary } from '../../../shared/contract.js';
import { applyEvents } from '../../src/state/live.js';

let listings = 0;
/** Each test's clock starts well after the last one's: live.ts remembers when it last fetched. */
let clock = 1_000_000;

beforeEach(() => {
  listings = 0;
  const domains: DomainSummary[] = [{ name: 'example.com', mailboxes: 1, messages: 0, bytes: 0, lock: null }];
  (globalThis as { window?: unknown }).window = {
    winpop: {
      listDomains: async () => {
        listings += 1;
        return domains;
      },
    },
  };
  clock += 1_000_000;
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: clock });
});

afterEach(() => {
  mock.timers.reset();
});

const mail = (n: number): AdminEvent => ({ type: 'mailArrived', address: 'ann@example.com', messages: n, bytes: n * 100 });
/** Lets the fetch's promise settle. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

test('a stream of mail events fetches the domain list once, then once more when the interval has passed', async () => {
  applyEvents([mail(1)]);
  await settle();
  assert.equal(listings, 1, 'the first mail fetches the list at once');
  for (let n = 2; n <= 20; n++) {
    mock.timers.tick(100);
    applyEvents([mail(n)]);
    await settle();
  }
  assert.equal(listings, 1, 'nineteen more batches in 1.9 s fetch nothing yet');
  mock.timers.tick(1_100);
  await settle();
  assert.equal(listings, 2, 'one fetch when the interval is over, with everything that came meanwhile');
  mock.timers.tick(10_000);
  await settle();
  assert.equal(listings, 2, 'and nothing after, with no more mail');
});

test('any other change of the list fetches it at once, mail waiting or not', async () => {
  applyEvents([mail(1)]);
  await settle();
  mock.timers.tick(100);
  applyEvents([mail(2)]);
  await settle();
  assert.equal(listings, 1);
  applyEvents([{ type: 'mailboxAdded', address: 'bob@example.com' }]);
  await settle();
  assert.equal(listings, 2, 'a mailbox added is shown at once');
  mock.timers.tick(5_000);
  await settle();
  assert.equal(listings, 2, 'the mail waiting was in that fetch');
});
