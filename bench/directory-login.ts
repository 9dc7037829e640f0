/**
 * The Directory method's password check against a private OpenLDAP (the
 * tests' slapd, e2e/helpers/slapd.ts), p50/p99 per outcome:
 *
 *   node dist/bench/directory-login.js [--samples 200]
 *
 * right password, wrong password, unknown user (an answer the client cannot
 * tell from a wrong password: this shows their times are of the same order),
 * and a right password remembered by the cache. Over StartTLS with the
 * service account, on reused pooled connections, as the service runs it.
 * Not part of run-all.sh (it needs slapd).
 */

import { performance } from 'node:perf_hooks';
import { createDirectoryAuthority } from '../electron/service/auth/directory-authority.js';
import { DEFAULT_DIRECTORY_FILTER } from '../electron/service/auth/ldap-filter.js';
import { parseAddress } from '../shared/names.js';
import { BASE_DN, SERVICE_DN, SERVICE_PASSWORD, startSlapd, USERS } from '../e2e/helpers/slapd.js';
import { median, onCleanup, options, percentile, printTable, round, runMain } from './lib/util.js';

async function main(): Promise<void> {
  const samples = options().num('samples', 200);
  const slapd = await startSlapd();
  onCleanup(() => slapd.close());
  const settings = { urls: [slapd.ldapUrl], baseDn: BASE_DN, filter: DEFAULT_DIRECTORY_FILTER, bindDn: SERVICE_DN, caFile: slapd.caFile, timeoutSeconds: 5 };
  const uncached = createDirectoryAuthority({ settings: { ...settings, cacheTtlSeconds: 0 }, bindPassword: SERVICE_PASSWORD });
  const cached = createDirectoryAuthority({ settings: { ...settings, cacheTtlSeconds: 60 }, bindPassword: SERVICE_PASSWORD });
  onCleanup(async () => {
    await uncached.close();
    await cached.close();
  });
  const user = USERS[0] as (typeof USERS)[number];
  const cases = [
    { name: 'right password', authority: uncached, address: user.mail, password: user.password, verdict: 'ok' },
    { name: 'wrong password', authority: uncached, address: user.mail, password: 'wrong-password', verdict: 'bad' },
    { name: 'unknown user', authority: uncached, address: 'nobody@example.com', password: user.password, verdict: 'bad' },
    { name: 'right password, cached', authority: cached, address: user.mail, password: user.password, verdict: 'ok' },
  ];
  const rows: (string | number)[][] = [['outcome', 'samples', 'p50 ms', 'p99 ms']];
  for (const c of cases) {
    const address = parseAddress(c.address);
    // Warm up: the pool's connection (TCP, StartTLS, service bind) is made once, not counted.
    await c.authority.verify(address, c.password);
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const start = performance.now();
      const v = await c.authority.verify(address, c.password);
      times.push(performance.now() - start);
      if (v.verdict !== c.verdict) throw new Error(`${c.name}: expected ${c.verdict}, got ${JSON.stringify(v)}`);
    }
    rows.push([c.name, samples, round(median(times)), round(percentile(times, 99))]);
  }
  printTable(rows);
}

runMain('directory-login', main, 300_000);
