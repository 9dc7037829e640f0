/**
 * The Directory authentication method (LDAP) on worker processes: chosen
 * through the running service's control channel, it reaches every worker
 * (settings pushed by the primary, the service account's password read from
 * its file), and users log in on both workers with their directory password.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { watchPopSession, type WatchedPopSession } from '../helpers/poplib-watch.js';
import { BASE_DN, SERVICE_DN, SERVICE_PASSWORD, startSlapd, USERS, type Slapd } from '../helpers/slapd.js';
import { underCi, which } from '../helpers/tools.js';
import { startWorkerService, until, type WorkerService } from './support.js';

let slapd: Slapd | null = null;
let missing: string | null = null;
let s: WorkerService | undefined;
const sessions: WatchedPopSession[] = [];

before(async () => {
  for (const program of ['slapd', 'slapadd']) {
    if ((await which(program)) === null && (await which(path.join('/usr/sbin', program))) === null) missing = `${program} is not installed (apt-get install slapd)`;
  }
  if (missing !== null) {
    if (underCi()) throw new Error(`${missing}; under CI=true the directory tests must run (.ci/setup installs it).`);
    return;
  }
  slapd = await startSlapd();
  s = await startWorkerService(0);
});

after(async () => {
  await Promise.all(sessions.map((x) => x.close()));
  await s?.close();
  await slapd?.close();
});

test('users of the directory log in on both workers once the Directory method is chosen through the service', async (t: TestContext) => {
  if (slapd === null || s === undefined) return t.skip(missing ?? 'slapd did not start');
  const service = s;
  await service.control.setSettings({
    patch: { auth: 2, directory: { urls: [slapd.ldapUrl], baseDn: BASE_DN, caFile: slapd.caFile, bindDn: SERVICE_DN, timeoutSeconds: 5, cacheTtlSeconds: 0 }, directoryBindPassword: SERVICE_PASSWORD },
  });
  await service.control.addDomain({ domain: 'example.com' });
  for (const user of USERS) await service.control.addMailbox({ address: user.mail });
  for (const user of USERS) {
    if ((await service.workers()).every((w) => w.sessions > 0)) break;
    const session = watchPopSession(service.svc.pop3Port, user.mail, user.password);
    sessions.push(session);
    assert.match(await session.loggedIn, /^\+OK/, `${user.mail} logs in with the directory's password`);
    await until(async () => (await service.workers()).reduce((n, w) => n + w.sessions, 0) === sessions.length, () => 'the session counted');
  }
  assert.ok((await service.workers()).every((w) => w.sessions > 0), `log-ins on both workers: ${JSON.stringify(await service.workers())}`);
  const wrong = watchPopSession(service.svc.pop3Port, (USERS[0] as { mail: string }).mail, 'not-the-password');
  sessions.push(wrong);
  assert.match(await wrong.loggedIn, /^-ERR/, 'a wrong password is refused');
});
