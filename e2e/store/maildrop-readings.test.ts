/**
 * A maildrop reading is reused while new/ and cur/ keep their stamps, and
 * only what changed is read again (store maildrop-listing.ts), in memory
 * and from the size cache after a restart. This churns one mailbox the ways
 * other programs and the store itself change it — mail arriving in new/
 * (newer and older than what is there), arriving in cur/ with flags, moved
 * from new/ to cur/, flagged, deleted, delivered by the store, expunged by a
 * POP3 session, the store restarted — and after every step compares what a
 * session is given with the disk, read here independently: the files in
 * delivery order, each message's octets on the wire, UIDLs that stay the
 * same for the same message, and the listing's counts and bytes.
 *
 * Folders are "settled" after each step by setting their mtimes to a value
 * of their own, far in the past, only where the step changed them: a
 * reading is reused only for folders still for a while, and waiting 50 ms
 * per step would do the same more slowly. Random choices come from a
 * printed seed (OUTSIDE_CHURN_SEED replays one; OUTSIDE_CHURN_STEPS makes
 * the run longer).
 */

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { openMailStore, type MailStore } from '../../electron/service/store/index.js';
import { countFrom, Random, seedFrom } from '../hostile/support.js';
import { popWireForm } from '../helpers/pop3-wire.js';
import { tempDir } from '../helpers/temp.js';

const ADDRESS = 'churn@example.com';

/** The name's unique part, as UIDLs are made (before the first comma and before the Maildir info). */
const uniqueOf = (name: string): string => name.split(/[:;!]2,/)[0]?.split(',')[0] ?? name;

interface Seen {
  readonly file: string;
  readonly size: number;
  readonly uidl: string;
}

/** What the disk says a session must see, in delivery order. */
async function fromDisk(box: string): Promise<{ file: string; size: number; unique: string; bytes: number }[]> {
  const out: { file: string; name: string; size: number; unique: string; bytes: number }[] = [];
  for (const sub of ['new', 'cur']) {
    for (const name of await fsp.readdir(path.join(box, sub))) {
      if (name.startsWith('.')) continue;
      const body = await fsp.readFile(path.join(box, sub, name));
      out.push({ file: `${sub}/${name}`, name, size: popWireForm(body).length, unique: uniqueOf(name), bytes: body.length });
    }
  }
  const seconds = (n: string): number => Number(/^(\d+)/.exec(n)?.[1] ?? 0);
  return out.sort((a, b) => seconds(a.name) - seconds(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

test('maildrop readings follow every change, in memory and from the size cache', async () => {
  const random = new Random(seedFrom('OUTSIDE_CHURN_SEED', 'maildrop churn'));
  const steps = countFrom('OUTSIDE_CHURN_STEPS', 120);
  const dir = await tempDir('winpop-churn-');
  const root = path.join(dir.path, 'mail');
  let store: MailStore = await openMailStore(root, { fsync: false });
  try {
    await store.addDomain('example.com');
    await store.addMailbox(ADDRESS, 'churn-pw');
    const box = path.join(root, 'example.com', 'churn');
    /** UIDL each unique part was first given: a message keeps it. */
    const uidls = new Map<string, string>();
    /** Each folder's own past mtime, set after a step that changed it. */
    const settledAt = new Map<string, number>();
    let fake = Date.now() / 1000 - 10 * 86_400;
    let counter = 0;
    const settle = async (): Promise<void> => {
      for (const sub of ['new', 'cur']) {
        const folder = path.join(box, sub);
        const { mtimeMs } = await fsp.stat(folder);
        if (settledAt.get(sub) === mtimeMs) continue;
        fake += 1;
        await fsp.utimes(folder, fake, fake);
        settledAt.set(sub, (await fsp.stat(folder)).mtimeMs);
      }
    };
    const body = (): string => {
      const eol = random.chance(0.3) ? '\r\n' : '\n';
      const lines = Array.from({ length: random.int(1, 30) }, (_, i) => `${random.chance(0.1) ? '.' : ''}line ${i} ${'x'.repeat(random.int(0, 60))}`);
      return `Subject: churn ${counter}${eol}${eol}${lines.join(eol)}${random.chance(0.8) ? eol : ''}`;
    };
    /** A name as another program makes it; seconds mostly after what is there, sometimes before. */
    const outsideName = (): string => `${1_800_000_000 + (random.chance(0.85) ? counter : random.int(0, counter))}.P9Q${++counter}.otherhost`;
    const pickFile = async (sub: 'new' | 'cur'): Promise<string | null> => {
      const names = (await fsp.readdir(path.join(box, sub))).filter((n) => !n.startsWith('.'));
      return names.length === 0 ? null : random.pick(names.sort());
    };

    const ops: Record<string, () => Promise<void>> = {
      arrive: async () => {
        for (let n = random.int(1, 4); n > 0; n--) await fsp.writeFile(path.join(box, 'new', outsideName()), body());
      },
      arriveSeen: async () => fsp.writeFile(path.join(box, 'cur', `${outsideName()}:2,S`), body()),
      move: async () => {
        const name = await pickFile('new');
        if (name) await fsp.rename(path.join(box, 'new', name), path.join(box, 'cur', `${name}:2,S`));
      },
      flag: async () => {
        const name = await pickFile('cur');
        if (name?.endsWith(':2,S')) await fsp.rename(path.join(box, 'cur', name), path.join(box, 'cur', name.replace(/:2,S$/, ':2,RS')));
      },
      remove: async () => {
        const sub = random.chance(0.5) ? 'new' : 'cur';
        const name = await pickFile(sub);
        if (name) await fsp.rm(path.join(box, sub, name));
      },
      deliver: async () => {
        await store.deliver(ADDRESS, Readable.from([Buffer.from(body())]));
      },
      expunge: async () => {
        const drop = await store.openMaildrop(ADDRESS);
        if (drop.messages.length > 0) await drop.expunge([random.pick(drop.messages)]);
      },
      restart: async () => {
        await store.close();
        store = await openMailStore(root, { fsync: false });
      },
    };
    const weights: [string, number][] = [['arrive', 6], ['arriveSeen', 2], ['move', 3], ['flag', 2], ['remove', 3], ['deliver', 3], ['expunge', 2], ['restart', 1]];
    const choose = (): string => {
      let r = random.int(1, weights.reduce((n, [, w]) => n + w, 0));
      for (const [op, w] of weights) if ((r -= w) <= 0) return op;
      return 'arrive';
    };

    for (let step = 0; step < steps; step++) {
      const op = choose();
      await (ops[op] as () => Promise<void>)();
      await settle();
      const want = await fromDisk(box);
      // Twice: the first session reads what changed, the second takes the reading as it is.
      for (const round of ['after the change', 'again']) {
        const drop = await store.openMaildrop(ADDRESS);
        const got: Seen[] = drop.messages.map((m) => ({ file: m.file, size: m.size, uidl: m.uidl }));
        const where = `step ${step} (${op}), ${round}`;
        assert.deepEqual(got.map((m) => m.file), want.map((w) => w.file), `${where}: the files, in delivery order`);
        assert.deepEqual(got.map((m) => m.size), want.map((w) => w.size), `${where}: the octets on the wire`);
        got.forEach((m, i) => {
          const unique = (want[i] as { unique: string }).unique;
          const first = uidls.get(unique) ?? m.uidl;
          uidls.set(unique, first);
          assert.equal(m.uidl, first, `${where}: ${m.file} keeps its UIDL`);
        });
        assert.equal(new Set(got.map((m) => m.uidl)).size, got.length, `${where}: UIDLs are distinct`);
      }
      const listed = await store.getMailbox(ADDRESS);
      assert.deepEqual({ messages: listed.messages, bytes: listed.bytes }, { messages: want.length, bytes: want.reduce((n, w) => n + w.bytes, 0) }, `step ${step} (${op}): the listing`);
    }
  } finally {
    await store.close();
    await dir.remove();
  }
});
