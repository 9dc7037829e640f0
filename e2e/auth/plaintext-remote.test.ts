/**
 * Passwords in the clear from other computers: refused by default, as in
 * Dovecot. A connection to the machine's own network address has a client
 * address that is not loopback, so the service sees "another computer":
 * there USER/PASS and AUTH PLAIN are refused with [AUTH] and the way to
 * encrypt, and CAPA does not offer them, until STLS (or on POP3S). Loopback
 * logs in without TLS as before. `plaintextRemote` allows the clear text
 * from everywhere, at once.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hasIpv6Loopback, nonLoopbackAddress, requireNonLoopbackAddress } from '../helpers/interfaces.js';
import { RawClient, run } from '../pop3/support.js';
import { startTestHost, type TestHost } from '../tls/tls-support.js';

const ADDRESS = 'remote@example.com';
const PASSWORD = 'Remote-pw-1';
const PLAIN_TOKEN = Buffer.from(`\0${ADDRESS}\0${PASSWORD}`).toString('base64');

/** poplib from the given address: what USER answered or raised. */
const POPLIB_USER = String.raw`
import json, poplib, sys
host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
p = poplib.POP3(host, port, timeout=10)
try:
    print(json.dumps({'ok': p.user(user).decode()}))
except poplib.error_proto as e:
    print(json.dumps({'error_proto': e.args[0].decode()}))
p.quit()
`;

describe('passwords without TLS from another computer', () => {
  let t: TestHost;
  let refusal: string;

  before(async () => {
    t = await startTestHost();
    await t.host.admin.addDomain({ domain: 'example.com' });
    await t.host.admin.addMailbox({ address: ADDRESS, password: PASSWORD });
    refusal = `-ERR [AUTH] Plain-text log-in from another computer refused, encryption required: use STLS or port ${t.host.pop3sPort} (POP3 over TLS).`;
  });
  after(async () => {
    await t?.stop();
  });

  async function capa(c: RawClient): Promise<string[]> {
    assert.equal(await c.command('CAPA'), '+OK Capability list follows');
    return c.lines();
  }

  it('over the network address: CAPA hides USER and SASL PLAIN, USER and AUTH PLAIN are refused naming STLS and POP3S', async (ctx) => {
    const remote = requireNonLoopbackAddress(ctx);
    if (remote === null) return;
    const c = await RawClient.open(t.host.pop3Port as number, undefined, remote);
    try {
      const offered = await capa(c);
      assert.ok(!offered.includes('USER') && !offered.includes('SASL PLAIN'), offered.join(', '));
      assert.ok(offered.includes('STLS'), offered.join(', '));
      assert.equal(await c.command(`USER ${ADDRESS}`), refusal);
      assert.equal(await c.command(`PASS ${PASSWORD}`), '-ERR Send USER with your full address (user@domain) before PASS.');
      assert.equal(await c.command(`AUTH PLAIN ${PLAIN_TOKEN}`), refusal);
      assert.equal(await c.command('STAT'), '-ERR Log in first with USER and PASS.');
    } finally {
      c.destroy();
    }
    assert.match(t.logs.text(), new RegExp(`pop3 connection opened remote=${remote.replace(/\./g, '\\.')}:`), 'the service saw the network address');
  });

  it('over the network address after STLS: offered and accepted, the certificate naming that address', async (ctx) => {
    const remote = requireNonLoopbackAddress(ctx);
    if (remote === null) return;
    const plain = await RawClient.open(t.host.pop3Port as number, undefined, remote);
    assert.equal(await plain.command('STLS'), '+OK Begin TLS negotiation');
    const c = await plain.startTls(t.ca, remote);
    try {
      const offered = await capa(c);
      assert.ok(offered.includes('USER') && offered.includes('SASL PLAIN'), offered.join(', '));
      assert.equal(await c.command(`USER ${ADDRESS}`), '+OK Now send your password with PASS.');
      assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK Logged in/);
      assert.equal(await c.command('QUIT'), '+OK Bye.');
    } finally {
      c.destroy();
    }
  });

  it('over the network address on POP3S: AUTH PLAIN logs in', async (ctx) => {
    const remote = requireNonLoopbackAddress(ctx);
    if (remote === null) return;
    const c = await RawClient.openTls(t.host.pop3sPort as number, t.ca, remote);
    try {
      assert.match(await c.command(`AUTH PLAIN ${PLAIN_TOKEN}`), /^\+OK Logged in/);
      assert.equal(await c.command('QUIT'), '+OK Bye.');
    } finally {
      c.destroy();
    }
  });

  it("Python's poplib over the network address is told why; over IPv6 too", async (ctx) => {
    const remote = requireNonLoopbackAddress(ctx);
    if (remote === null) return;
    for (const host of [remote, nonLoopbackAddress('IPv6')]) {
      if (host === null) continue;
      const r = await run('python3', ['-c', POPLIB_USER, host, String(t.host.pop3Port), ADDRESS]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { error_proto: refusal }, host);
    }
  });

  it('over loopback (127.0.0.1 and ::1): USER/PASS without TLS as before', async () => {
    for (const host of ['127.0.0.1', ...(hasIpv6Loopback() ? ['::1'] : [])]) {
      const c = await RawClient.open(t.host.pop3Port as number, undefined, host);
      try {
        assert.ok((await capa(c)).includes('USER'), host);
        assert.equal(await c.command(`USER ${ADDRESS}`), '+OK Now send your password with PASS.');
        assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK Logged in/, host);
        assert.equal(await c.command('QUIT'), '+OK Bye.');
      } finally {
        c.destroy();
      }
    }
  });

  it('plaintextRemote on: other computers log in without TLS, from the next command on; off again refuses again', async (ctx) => {
    const remote = requireNonLoopbackAddress(ctx);
    if (remote === null) return;
    await t.host.admin.setSettings({ patch: { plaintextRemote: true } });
    try {
      const c = await RawClient.open(t.host.pop3Port as number, undefined, remote);
      try {
        assert.ok((await capa(c)).includes('USER'));
        assert.equal(await c.command(`USER ${ADDRESS}`), '+OK Now send your password with PASS.');
        assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK Logged in/);
        assert.equal(await c.command('QUIT'), '+OK Bye.');
      } finally {
        c.destroy();
      }
    } finally {
      await t.host.admin.setSettings({ patch: { plaintextRemote: false } });
    }
    const again = await RawClient.open(t.host.pop3Port as number, undefined, remote);
    try {
      assert.equal(await again.command(`USER ${ADDRESS}`), refusal);
    } finally {
      again.destroy();
    }
  });

  it('sparequired still refuses loopback too, with the general wording', async () => {
    await t.host.admin.setSettings({ patch: { sparequired: true } });
    try {
      const c = await RawClient.open(t.host.pop3Port as number);
      try {
        assert.equal(await c.command(`USER ${ADDRESS}`), `-ERR [AUTH] Plain-text log-in refused, encryption required: use STLS or port ${t.host.pop3sPort} (POP3 over TLS).`);
      } finally {
        c.destroy();
      }
    } finally {
      await t.host.admin.setSettings({ patch: { sparequired: false } });
    }
  });
});
