/**
 * The Directory authentication method (auth 2) against a real OpenLDAP:
 * a private slapd (e2e/helpers/slapd.ts) over ldaps:// and over StartTLS,
 * the whole service on loopback, and Python's poplib and smtplib as the
 * clients. Log-in, wrong password, unknown user, a locked mailbox, the
 * directory stopped and paused mid-run, a user removed from the directory,
 * injection in the log-in name, and the connection test's steps.
 */

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DirectoryPatch, SettingsPatch } from '../../shared/contract.js';
import { createDirectoryAuthority } from '../../electron/service/auth/directory-authority.js';
import { openDirectorySecret } from '../../electron/service/auth/directory-secret.js';
import { DEFAULT_DIRECTORY_FILTER } from '../../electron/service/auth/ldap-filter.js';
import { startService, type ServiceHost } from '../../electron/service/host.js';
import { winpop } from '../helpers/processes.js';
import { popFetchAll, smtpSend } from '../helpers/python.js';
import { BASE_DN, SERVICE_DN, SERVICE_PASSWORD, startSlapd, USERS, type Slapd } from '../helpers/slapd.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { underCi, which } from '../helpers/tools.js';
import { capturingLogger } from '../tls/tls-support.js';

const [ALICE, BOB, CAROL, DAVE] = USERS as [(typeof USERS)[number], (typeof USERS)[number], (typeof USERS)[number], (typeof USERS)[number]];
/** A mailbox of the store whose user is not in the directory. */
const STRANGER = 'stranger@example.com';

let slapd: Slapd | null = null;
let missing: string | null = null;

before(async () => {
  for (const [program, pkg] of [['slapd', 'slapd'], ['slapadd', 'slapd'], ['openssl', 'openssl'], ['python3', 'python3']] as const) {
    if ((await which(program)) === null && (await which(path.join('/usr/sbin', program))) === null) missing = `${program} is not installed (apt-get install ${pkg})`;
  }
  if (missing !== null) {
    if (underCi()) throw new Error(`${missing}; under CI=true the directory tests must run (.ci/setup installs it).`);
    return;
  }
  slapd = await startSlapd();
});

after(async () => {
  await slapd?.close();
});

/** The running slapd, or the test skipped with the reason (a failure under CI, in before()). */
function directory(ctx: TestContext): Slapd | null {
  if (slapd === null) ctx.skip(missing ?? 'slapd did not start');
  return slapd;
}

interface Running {
  readonly host: ServiceHost;
  readonly logs: ReturnType<typeof capturingLogger>;
  stop(): Promise<void>;
}

/** The service on free ports with the Directory method set through the admin API, the domain example.com and a mailbox (no password) for every directory user and for STRANGER. */
async function serviceWith(dir: Slapd, directory: DirectoryPatch, patch: SettingsPatch = {}): Promise<Running> {
  const temp: TempDir = await tempDir('winpop-directory-');
  const logs = capturingLogger();
  const host = await startService({ mailroot: path.join(temp.path, 'mail'), configPath: path.join(temp.path, 'config.json'), pop3Port: 0, smtpPort: 0, pop3sPort: 0, control: false, log: logs.log });
  try {
    await host.admin.setSettings({ patch: { auth: 2, directory: { baseDn: BASE_DN, caFile: dir.caFile, timeoutSeconds: 2, cacheTtlSeconds: 0, ...directory }, ...patch } });
    await host.admin.addDomain({ domain: 'example.com' });
    for (const user of USERS) await host.admin.addMailbox({ address: user.mail });
    await host.admin.addMailbox({ address: STRANGER });
  } catch (err) {
    await host.stop();
    await temp.remove();
    throw err;
  }
  return {
    host,
    logs,
    stop: async () => {
      await host.stop();
      await temp.remove();
    },
  };
}

/** poplib's log-in: `+OK` when it logged in (and fetched), else the server's answer. */
async function login(host: ServiceHost, user: string, password: string): Promise<string> {
  const out = await popFetchAll(host.pop3Port as number, user, password);
  return 'error' in out ? out.error : '+OK';
}

async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after 60 s`);
    await sleep(200);
  }
}

const AUTH_ERROR = /^-ERR \[AUTH\]/;
const SYS_TEMP = /^-ERR \[SYS\/TEMP\]/;

describe('Directory log-in over ldaps:// (search anonymously, then bind)', () => {
  it('logs a directory user in with the directory password; a wrong password and an unknown user get the same answer', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const s = await serviceWith(dir, { urls: [dir.ldapsUrl] });
    try {
      assert.equal(await login(s.host, ALICE.mail, ALICE.password), '+OK');
      assert.equal(await login(s.host, BOB.mail.toUpperCase(), BOB.password), '+OK', 'the address is matched without regard to case');
      const wrong = await login(s.host, CAROL.mail, 'not-her-password');
      assert.match(wrong, AUTH_ERROR);
      assert.equal(await login(s.host, STRANGER, ALICE.password), wrong, 'a mailbox with no directory entry');
      assert.equal(await login(s.host, 'nobody@example.com', ALICE.password), wrong, 'neither a mailbox nor an entry');
      assert.equal(await login(s.host, ALICE.mail, BOB.password), wrong, "another user's password");
    } finally {
      await s.stop();
    }
  });

  it('makes mailboxes without a password and refuses to set one: passwords live in the directory', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const s = await serviceWith(dir, { urls: [dir.ldapsUrl] });
    try {
      await assert.rejects(s.host.admin.addMailbox({ address: 'new@example.com', password: 'x-password' }), /no password with the Directory/);
      await assert.rejects(s.host.admin.changePassword({ address: ALICE.mail, password: 'x-password' }), (err: Error & { code?: string }) => err.code === 'NOT_ALLOWED' && /live in the directory/.test(err.message));
      await assert.rejects(s.host.admin.setSettings({ patch: { auth: 3 } }), /only while no domain exists/);
      const settings = await s.host.admin.getSettings({});
      assert.equal(settings.auth, 2);
      assert.equal(JSON.stringify(settings).includes(SERVICE_PASSWORD), false);
    } finally {
      await s.stop();
    }
  });
});

describe('Directory log-in over StartTLS with a service account', () => {
  it('searches as the service account, binds as the user, and fails over from a dead first URL', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const dead = await closedPort();
    const s = await serviceWith(dir, { urls: [`ldaps://127.0.0.1:${dead}`, dir.ldapUrl], bindDn: SERVICE_DN }, { directoryBindPassword: SERVICE_PASSWORD });
    try {
      assert.equal(await login(s.host, ALICE.mail, ALICE.password), '+OK');
      assert.equal(await login(s.host, DAVE.mail, DAVE.password), '+OK');
      assert.match(await login(s.host, DAVE.mail, 'wrong'), AUTH_ERROR);
      // The secret is nowhere in the settings, the config file or the log.
      assert.equal(JSON.stringify(await s.host.admin.getSettings({})).includes(SERVICE_PASSWORD), false);
      assert.equal(s.logs.text().includes(SERVICE_PASSWORD), false);
    } finally {
      await s.stop();
    }
  });

  it('answers [SYS/TEMP] when the service account is refused, never another method', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const s = await serviceWith(dir, { urls: [dir.ldapUrl], bindDn: SERVICE_DN }, { directoryBindPassword: 'not-the-service-password' });
    try {
      assert.match(await login(s.host, ALICE.mail, ALICE.password), SYS_TEMP);
      assert.match(s.logs.text(), /service account .* was refused/);
      // The right password saved by another process (winpop on the same store, a worker): the next log-in uses it.
      await openDirectorySecret(s.host.mailroot).set(SERVICE_PASSWORD);
      assert.equal(await login(s.host, ALICE.mail, ALICE.password), '+OK');
    } finally {
      await s.stop();
    }
  });
});

describe('a locked mailbox of a directory user', () => {
  it('gets the lock text with the right password and the generic error with a wrong one', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const s = await serviceWith(dir, { urls: [dir.ldapsUrl] });
    try {
      const wrong = await login(s.host, BOB.mail, 'wrong');
      await s.host.admin.lock({ target: ALICE.mail, reason: 'left the company' });
      const locked = await login(s.host, ALICE.mail, ALICE.password);
      assert.match(locked, /^-ERR \[AUTH\] .*disabled by the administrator/);
      assert.notEqual(locked, wrong);
      assert.equal(await login(s.host, ALICE.mail, 'wrong'), wrong);
      await s.host.admin.unlock({ target: ALICE.mail });
      assert.equal(await login(s.host, ALICE.mail, ALICE.password), '+OK');
    } finally {
      await s.stop();
    }
  });
});

describe('a directory that stops, hangs or never answers', () => {
  it('answers [SYS/TEMP] while slapd is stopped, keeps accepting mail over SMTP, and logs in again once it is back', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const s = await serviceWith(dir, { urls: [dir.ldapsUrl] });
    try {
      assert.equal(await login(s.host, ALICE.mail, ALICE.password), '+OK');
      await dir.stop();
      try {
        assert.match(await login(s.host, ALICE.mail, ALICE.password), SYS_TEMP);
        assert.match(await login(s.host, BOB.mail, 'wrong'), SYS_TEMP, 'a wrong password cannot be told either');
        assert.deepEqual(await smtpSend(s.host.smtpPort as number, 'sender@elsewhere.test', [ALICE.mail], 'Subject: while the directory is down\n\nDelivered.\n'), {});
      } finally {
        await dir.start();
      }
      const out = await until('log-in after slapd came back', () => popFetchAll(s.host.pop3Port as number, ALICE.mail, ALICE.password), (o) => !('error' in o));
      assert.ok(!('error' in out) && out.count === 1 && /while the directory is down/.test(out.messages[0] ?? ''));
    } finally {
      await s.stop();
    }
  });

  it('answers [SYS/TEMP] within its timeout when slapd hangs (SIGSTOP), and recovers when it resumes', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const s = await serviceWith(dir, { urls: [dir.ldapsUrl], timeoutSeconds: 1 });
    try {
      assert.equal(await login(s.host, ALICE.mail, ALICE.password), '+OK');
      dir.pause();
      try {
        // poplib waits 20 s: a log-in that hung on the directory would fail here instead of answering.
        assert.match(await login(s.host, ALICE.mail, ALICE.password), SYS_TEMP);
        assert.match(await login(s.host, BOB.mail, BOB.password), SYS_TEMP);
      } finally {
        dir.resume();
      }
      await until('log-in after slapd resumed', () => login(s.host, ALICE.mail, ALICE.password), (r) => r === '+OK');
    } finally {
      await s.stop();
    }
  });

  it('answers [SYS/TEMP] when the directory accepts connections and never says a word', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const silent = await silentListener();
    const s = await serviceWith(dir, { urls: [`ldaps://127.0.0.1:${silent.port}`], timeoutSeconds: 1 });
    try {
      assert.match(await login(s.host, ALICE.mail, ALICE.password), SYS_TEMP);
      const starttls = await s.host.admin.setSettings({ patch: { directory: { urls: [`ldap://127.0.0.1:${silent.port}`] } } });
      assert.deepEqual(starttls.directory.urls, [`ldap://127.0.0.1:${silent.port}`]);
      assert.match(await login(s.host, ALICE.mail, ALICE.password), SYS_TEMP);
      assert.ok(silent.accepted() >= 2, 'the service did connect');
    } finally {
      await s.stop();
      await silent.close();
    }
  });
});

describe('the verified-password cache of the directory', () => {
  it('refuses a user removed from the directory once the cache TTL has passed', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const temp = { uid: 'erin', mail: 'erin@example.com', password: 'erin-pw-5' };
    await dir.addUser(temp);
    const s = await serviceWith(dir, { urls: [dir.ldapsUrl], cacheTtlSeconds: 2 });
    try {
      await s.host.admin.addMailbox({ address: temp.mail });
      assert.equal(await login(s.host, temp.mail, temp.password), '+OK');
      await dir.removeUser(temp.uid);
      const refused = await until('refusal of the removed user', () => login(s.host, temp.mail, temp.password), (r) => r !== '+OK');
      assert.match(refused, AUTH_ERROR);
    } finally {
      await s.stop();
    }
  });
});

describe('LDAP injection in the log-in name', () => {
  it('refuses *, )( and NUL in a POP3 log-in name', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const s = await serviceWith(dir, { urls: [dir.ldapsUrl], filter: '(|(mail={address})(uid={user}))' });
    try {
      const wrong = await login(s.host, CAROL.mail, 'wrong');
      for (const name of ['*@example.com', 'a*@example.com', 'x)(uid=alice@example.com', 'alice\\00@example.com', '*']) {
        assert.equal(await login(s.host, name, ALICE.password), wrong, name);
      }
    } finally {
      await s.stop();
    }
  });

  it('escapes the values in the filter, so that no name can match another entry (RFC 4515)', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const settings = { urls: [dir.ldapsUrl], baseDn: BASE_DN, bindDn: null, caFile: dir.caFile, timeoutSeconds: 5, cacheTtlSeconds: 0 };
    const byUser = createDirectoryAuthority({ settings: { ...settings, filter: '(|(uid={user})(mail={address}))' }, bindPassword: null });
    const byMail = createDirectoryAuthority({ settings: { ...settings, filter: '(mail={user}@example.com)' }, bindPassword: null });
    try {
      // Names the store would refuse, given to the authority directly: unescaped, each would find alice's entry.
      const as = (mailbox: string): { mailbox: string; domain: string; address: string } => ({ mailbox, domain: 'example.com', address: `${mailbox}@example.com` });
      assert.deepEqual(await byMail.verify(as('al*'), ALICE.password), { verdict: 'bad', detail: 'no directory entry matches' });
      assert.deepEqual(await byUser.verify(as('nobody)(uid=alice'), ALICE.password), { verdict: 'bad', detail: 'no directory entry matches' });
      assert.deepEqual(await byUser.verify(as('alice\0'), ALICE.password), { verdict: 'bad', detail: 'no directory entry matches' });
      assert.deepEqual(await byUser.verify(as('*'), ALICE.password), { verdict: 'bad', detail: 'no directory entry matches' });
      // The same authorities do find alice by her own name.
      assert.deepEqual(await byMail.verify(as('alice'), ALICE.password), { verdict: 'ok' });
      assert.deepEqual(await byUser.verify(as('alice'), ALICE.password), { verdict: 'ok' });
    } finally {
      await byUser.close();
      await byMail.close();
    }
  });

  it('uses a default filter that finds OpenLDAP users by mail', () => {
    assert.equal(DEFAULT_DIRECTORY_FILTER, '(|(mail={address})(userPrincipalName={address}))');
  });
});

describe('testDirectory: the connection test says which step failed', () => {
  it('passes every step with good settings, and names TCP, TLS, bind and search failures', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const s = await serviceWith(dir, { urls: [dir.ldapsUrl] });
    const dead = await closedPort();
    try {
      const good = await s.host.admin.testDirectory({ directory: { urls: [dir.ldapsUrl, dir.ldapUrl], bindDn: SERVICE_DN }, bindPassword: SERVICE_PASSWORD, address: ALICE.mail });
      assert.equal(good.ok, true, good.message);
      assert.deepEqual(good.steps.map((st) => `${st.step}:${st.ok}`), ['tcp:true', 'tls:true', 'bind:true', 'search:true', 'tcp:true', 'tls:true', 'bind:true', 'search:true']);
      assert.match(good.steps[3]?.detail ?? '', /uid=alice,ou=people,dc=example,dc=com/);

      const tcp = await s.host.admin.testDirectory({ directory: { urls: [`ldaps://127.0.0.1:${dead}`] } });
      assert.equal(tcp.ok, false);
      assert.deepEqual(tcp.steps.map((st) => `${st.step}:${st.ok}`), ['tcp:false']);
      assert.match(tcp.message, /^TCP connection failed .*ECONNREFUSED/);

      for (const url of [dir.ldapsUrl, dir.ldapUrl]) {
        const tls = await s.host.admin.testDirectory({ directory: { urls: [url], caFile: null } });
        assert.deepEqual(tls.steps.map((st) => `${st.step}:${st.ok}`), ['tcp:true', 'tls:false'], url);
        assert.match(tls.message, /^TLS failed .*certificate/i, url);
      }

      const bind = await s.host.admin.testDirectory({ directory: { bindDn: SERVICE_DN }, bindPassword: 'wrong' });
      assert.deepEqual(bind.steps.map((st) => `${st.step}:${st.ok}`), ['tcp:true', 'tls:true', 'bind:false']);
      assert.match(bind.message, /^bind failed .*wrong DN or password/);

      const base = await s.host.admin.testDirectory({ directory: { baseDn: 'dc=nowhere,dc=test' } });
      assert.deepEqual(base.steps.map((st) => `${st.step}:${st.ok}`), ['tcp:true', 'tls:true', 'bind:true', 'search:false']);
      assert.match(base.message, /^search failed .*dc=nowhere,dc=test/);

      const nobody = await s.host.admin.testDirectory({ address: 'nobody@example.com' });
      assert.equal(nobody.ok, false);
      assert.match(nobody.message, /no entry under dc=example,dc=com matches/);
    } finally {
      await s.stop();
    }
  });
});

describe('winpop set and get for the Directory method', () => {
  it('sets every directory setting, keeps the service password out of the config, and the service then logs directory users in', async (ctx) => {
    const dir = directory(ctx);
    if (dir === null) return;
    const temp = await tempDir('winpop-directory-cli-');
    const mailroot = path.join(temp.path, 'mail');
    const config = path.join(temp.path, 'config.json');
    const cli = (args: readonly string[], input?: string) => winpop(['--mailroot', mailroot, '--config', config, ...args], input === undefined ? {} : { input });
    let host: ServiceHost | null = null;
    try {
      let r = await cli(['set', 'auth', '2']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /needs the directory's URL and base DN first: winpop set ldapurls/);
      r = await cli(['set', 'ldapurls', 'http://dc1.example.com']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is not a directory URL: use ldaps:\/\/host\[:port\] or ldap:\/\/host\[:port\]/);
      r = await cli(['set', 'ldapfilter', '(mail=alice@example.com)']);
      assert.match(r.stderr, /must name the log-in with \{address\}, \{user\} or \{domain\}/);
      r = await cli(['set', 'ldapbindpassword', SERVICE_PASSWORD]);
      assert.equal(r.code, 2, 'never from the command line');
      for (const args of [['ldapurls', 'ldaps://127.0.0.1:1', dir.ldapUrl], ['ldapbase', BASE_DN], ['ldapbinddn', SERVICE_DN], ['ldapcafile', dir.caFile], ['ldaptimeout', '3'], ['ldapcachettl', '30'], ['auth', '2']]) {
        r = await cli(['set', ...args]);
        assert.equal(r.code, 0, `set ${args.join(' ')}: ${r.stderr}`);
      }
      r = await cli(['set', 'ldapbindpassword', '-'], SERVICE_PASSWORD);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.includes(SERVICE_PASSWORD), false);
      assert.equal((await cli(['get', 'ldapurls'])).stdout, `ldaps://127.0.0.1:1 ${dir.ldapUrl}\n`);
      assert.equal((await cli(['get', 'ldapbinddn'])).stdout, `${SERVICE_DN}\n`);
      assert.equal((await cli(['get', 'ldapfilter'])).stdout, `${DEFAULT_DIRECTORY_FILTER}\n`);
      assert.equal((await cli(['get', 'auth'])).stdout, '2 Directory (LDAP, Active Directory)\n');
      assert.equal((await cli(['get', 'ldapbindpassword'])).code, 2);
      r = await cli(['testldap', ALICE.mail]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^FAIL tcp +ldaps:\/\/127\.0\.0\.1:1: cannot connect/m);
      assert.match(r.stdout, /^ok +search +ldap:\/\/127\.0\.0\.1:\d+: alice@example\.com is uid=alice,ou=people,dc=example,dc=com\.$/m);
      assert.equal((await readFile(config, 'utf8')).includes(SERVICE_PASSWORD), false, 'the config file never holds it');
      assert.equal((await cli(['add', 'example.com'])).code, 0);
      r = await cli(['add', ALICE.mail]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /added; its user logs in with the password kept by the Directory/);
      r = await cli(['changepwd', ALICE.mail, '-'], 'x-password');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /change the password of alice@example.com there/);

      host = await startService({ mailroot, configPath: config, pop3Port: 0, smtpPort: 0, pop3sPort: 0, control: false, log: capturingLogger().log });
      assert.equal(await login(host, ALICE.mail, ALICE.password), '+OK');
    } finally {
      await host?.stop();
      await temp.remove();
    }
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP listener that accepts and never answers: a directory that is up and stuck. */
async function silentListener(): Promise<{ port: number; accepted(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
