/**
 * Another process working on the same store, as `winpop` does without a
 * service (recovery 'lazy'): the listing-snapshot tests run it with
 * `node STORE_CHILD <command> …` so that changes and listings really come
 * from separate processes.
 *
 *   deliver ROOT ADDRESS COUNT       delivers COUNT small messages, prints "done"
 *   churn ROOT DOMAIN MS FIRST COUNT SEED
 *                                    for MS ms: random locks, unlocks and deliveries among
 *                                    boxes FIRST… (COUNT of them), chosen from SEED; prints a count
 *   list-loop ROOT DOMAIN MS         for MS ms: a new store instance per listing
 *                                    (so each reads or writes the snapshot); prints a count
 *   open-maildrop ROOT ADDRESS       opens the maildrop (lazy recovery of the mailbox); prints "opened"
 */

import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { openMailStore } from '../../electron/service/store/index.js';
import { Random } from '../hostile/support.js';
import { boxName } from './listing-fixture.js';

/** This script, compiled, for `node STORE_CHILD …`. */
export const STORE_CHILD = fileURLToPath(import.meta.url);

const open = (root: string) => openMailStore(root, { fsync: false, recovery: 'lazy', create: false });
const message = (n: number): Readable => Readable.from([Buffer.from(`Subject: child ${process.pid} ${n}\r\n\r\nHello.\r\n`)]);

async function main(args: readonly string[]): Promise<void> {
  const [command, root = '', a = '', b = '', c = '', d = '', e = '0'] = args;
  switch (command) {
    case 'deliver': {
      const store = await open(root);
      for (let i = 0; i < Number(b); i++) await store.deliver(a, message(i));
      console.log('done');
      return;
    }
    case 'churn': {
      const store = await open(root);
      const end = Date.now() + Number(b);
      const [first, boxes] = [Number(c), Number(d)];
      const random = new Random(Number(e));
      let changes = 0;
      while (Date.now() < end) {
        const address = `${boxName(first + Math.floor(random.next() * boxes))}@${a}`;
        const roll = random.next();
        if (roll < 0.4) await store.deliver(address, message(changes));
        else await store.setMailboxLock(address, roll < 0.7 ? { by: 'churn', at: new Date().toISOString() } : null);
        changes += 1;
      }
      console.log(`changes ${changes}`);
      return;
    }
    case 'list-loop': {
      const end = Date.now() + Number(b);
      let listings = 0;
      while (Date.now() < end) {
        await (await open(root)).listMailboxes(a);
        listings += 1;
      }
      console.log(`listings ${listings}`);
      return;
    }
    case 'open-maildrop': {
      const store = await open(root);
      console.log('opening');
      await store.openMaildrop(a);
      console.log('opened');
      return;
    }
    default:
      throw new Error(`store-child: unknown command ${command ?? ''}`);
  }
}

if (process.argv[1] === STORE_CHILD) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
