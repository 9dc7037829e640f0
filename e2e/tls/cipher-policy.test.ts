/**
 * The one TLS policy on every TLS port of the service (POP3S, POP3 STLS,
 * SMTP STARTTLS), checked with `openssl s_client`: on TLS 1.2 only ECDHE
 * with AEAD ciphers, chosen in the server's order; TLS 1.3 as is; TLS 1.0
 * and 1.1 refused by version.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { run } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { removeDir, startTestHost, type TestHost } from './tls-support.js';

interface Handshake {
  /** The negotiated protocol and cipher; null when the handshake failed. */
  readonly protocol: string | null;
  readonly cipher: string | null;
  /** Everything s_client printed, for the failure message. */
  readonly output: string;
}

let openssl: string | null = null;

/** Finds openssl for the test: a failure under CI=true when missing, a skip with the reason elsewhere. */
async function needOpenssl(t: TestContext): Promise<boolean> {
  openssl = await requireTool(t, 'openssl', 'openssl');
  return openssl !== null;
}

describe('the TLS policy, through openssl s_client', () => {
  let t: TestHost;
  let endpoints: { name: string; args: string[] }[];

  before(async () => {
    t = await startTestHost();
    const { pop3Port, pop3sPort, smtpPort } = t.host;
    assert.ok(pop3Port !== null && pop3sPort !== null && smtpPort !== null, JSON.stringify(t.host.info().listeners));
    endpoints = [
      { name: 'POP3S', args: ['-connect', `127.0.0.1:${pop3sPort}`] },
      { name: 'POP3 STLS', args: ['-connect', `127.0.0.1:${pop3Port}`, '-starttls', 'pop3'] },
      { name: 'SMTP STARTTLS', args: ['-connect', `127.0.0.1:${smtpPort}`, '-starttls', 'smtp'] },
    ];
  });
  after(async () => {
    await t?.stop();
    if (t) await removeDir(t.dir);
  });

  /** One handshake with the given client options; s_client ends at once (its input is empty). */
  async function handshake(args: string[], options: string[]): Promise<Handshake> {
    const result = await run(openssl as string, ['s_client', ...args, '-servername', 'localhost', ...options], { timeoutMs: 20_000 });
    const output = `${result.stdout}${result.stderr}`;
    const made = /^New, (\S+), Cipher is (\S+)/m.exec(output);
    const ok = made !== null && made[2] !== '(NONE)';
    return { protocol: ok ? (made?.[1] ?? null) : null, cipher: ok ? (made?.[2] ?? null) : null, output };
  }

  for (const [suite, why] of [
    ['AES256-SHA', 'RSA key exchange (no forward secrecy), CBC'],
    ['AES128-GCM-SHA256', 'RSA key exchange (no forward secrecy), even with AEAD'],
    ['ECDHE-RSA-AES128-SHA', 'ECDHE but CBC'],
    ['ECDHE-RSA-AES256-SHA384', 'ECDHE but CBC'],
  ] as const) {
    it(`refuses ${suite} on TLS 1.2 (${why})`, async (ctx) => {
      if (!(await needOpenssl(ctx))) return;
      for (const { name, args } of endpoints) {
        const h = await handshake(args, ['-tls1_2', '-cipher', suite]);
        assert.equal(h.cipher, null, `${name} accepted ${suite}:\n${h.output}`);
        assert.match(h.output, /alert handshake failure/, `${name}: refused for another reason than the cipher:\n${h.output}`);
      }
    });
  }

  for (const suite of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
    it(`accepts ${suite} on TLS 1.2`, async (ctx) => {
      if (!(await needOpenssl(ctx))) return;
      for (const { name, args } of endpoints) {
        const h = await handshake(args, ['-tls1_2', '-cipher', suite]);
        assert.deepEqual([h.protocol, h.cipher], ['TLSv1.2', suite], `${name}:\n${h.output}`);
      }
    });
  }

  it("picks the server's first choice, not the client's, among allowed TLS 1.2 suites", async (ctx) => {
    if (!(await needOpenssl(ctx))) return;
    for (const { name, args } of endpoints) {
      const h = await handshake(args, ['-tls1_2', '-cipher', 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256']);
      assert.equal(h.cipher, 'ECDHE-RSA-AES128-GCM-SHA256', `${name}:\n${h.output}`);
    }
  });

  it('accepts TLS 1.3', async (ctx) => {
    if (!(await needOpenssl(ctx))) return;
    for (const { name, args } of endpoints) {
      const h = await handshake(args, ['-tls1_3']);
      assert.equal(h.protocol, 'TLSv1.3', `${name}:\n${h.output}`);
      assert.match(h.cipher ?? '', /^TLS_/);
    }
  });

  for (const [flag, version] of [
    ['-tls1', 'TLS 1.0'],
    ['-tls1_1', 'TLS 1.1'],
  ] as const) {
    it(`refuses ${version} by its version`, async (ctx) => {
      if (!(await needOpenssl(ctx))) return;
      for (const { name, args } of endpoints) {
        // SECLEVEL=0 lets this client offer the old version at all, so the refusal is the server's.
        const h = await handshake(args, [flag, '-cipher', 'DEFAULT@SECLEVEL=0']);
        assert.equal(h.protocol, null, `${name} spoke ${version}:\n${h.output}`);
        assert.match(h.output, /alert protocol version/, `${name}: ${version} must be refused as a version, not fail later in the handshake:\n${h.output}`);
      }
    });
  }
});
