/**
 * One of several processes changing locks on a store that no service runs,
 * as `winpop` does then: the admin operations straight on the store
 * (openAdmin, store-only). The cross-process lock race test runs it with
 *
 *   node LOCK_CHILD MAILROOT CONFIG NAME SEED COUNT PASSWORD TARGET…
 *
 * COUNT random calls, one after another: lock or unlock of a random target,
 * and now and then a password change of a mailbox target (to PASSWORD).
 * Prints one JSON line per call: an Outcome (lock-history.ts), or
 * `{ "changePassword": target, "ok": … }`.
 */

import { fileURLToPath } from 'node:url';
import { openAdmin } from '../../electron/service/admin/open-admin.js';
import { toErrorShape } from '../../shared/errors.js';
import { Random } from '../hostile/support.js';

/** This script, compiled, for `node LOCK_CHILD …`. */
export const LOCK_CHILD = fileURLToPath(import.meta.url);

async function main(args: readonly string[]): Promise<void> {
  const [mailroot = '', config = '', name = '', seed = '0', count = '0', password = '', ...targets] = args;
  const admin = await openAdmin({ mailroot, configPath: config, actor: name });
  if (admin.mode !== 'store-only') throw new Error(`expected to work on the store directly, but a service answers for ${mailroot}`);
  const random = new Random(Number(seed));
  const out = (line: unknown): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
  for (let call = 1; call <= Number(count); call++) {
    const target = random.pick(targets);
    const roll = random.next();
    if (roll < 0.1 && target.includes('@')) {
      try {
        await admin.api.changePassword({ address: target, password });
        out({ changePassword: target, ok: true });
      } catch (err) {
        out({ changePassword: target, ok: false, error: toErrorShape(err) });
      }
      continue;
    }
    const op = roll < 0.55 ? 'lock' : 'unlock';
    const base = { call, via: name, op, target };
    try {
      out({ ...base, result: op === 'lock' ? await admin.api.lock({ target, reason: `${name} ${call}` }) : await admin.api.unlock({ target }) });
    } catch (err) {
      out({ ...base, error: toErrorShape(err) });
    }
  }
  admin.close();
}

if (process.argv[1] === LOCK_CHILD) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
