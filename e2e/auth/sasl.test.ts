/**
 * SASL AUTH PLAIN (RFC 5034, RFC 4616) on the POP3 listener: with an initial
 * response and with a "+ " continuation, cancelled with "*", and with every
 * kind of bad response; through Python's poplib, curl and a raw socket.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireTool } from '../helpers/tools.js';
import { makeStore, RawClient, run, seedMailbox, startServer, wireForm, type TestServer, type TestStore } from '../pop3/support.js';

const ADDRESS = 'sasl@example.com';
const PASSWORD = 'pässwörd with spaces';
const MESSAGE = 'Subject: sasl\n\nLogged in with AUTH PLAIN.\n';
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const plain = (authzid: string, user: string, password: string): string => b64(`${authzid}\0${user}\0${password}`);

const POPLIB_AUTH = String.raw`
import base64, json, poplib, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = poplib.POP3('127.0.0.1', port, timeout=10)
out = {'sasl': p.capa().get('SASL')}
token = base64.b64encode(b'\0' + user.encode() + b'\0' + password.encode()).decode()
out['auth'] = p._shortcmd('AUTH PLAIN ' + token).decode()
out['stat'] = list(p.stat())
resp, lines, _ = p.retr(1)
out['retr'] = base64.b64encode(b'\r\n'.join(lines) + b'\r\n').decode()
out['quit'] = p.quit().decode()
print(json.dumps(out))
`;

describe('AUTH PLAIN', () => {
  let t: TestStore;
  let srv: TestServer;

  before(async () => {
    t = await makeStore();
    await seedMailbox(t.store, ADDRESS, PASSWORD, [MESSAGE]);
    srv = await startServer(t.store);
  });
  after(async () => {
    await srv?.stop();
    await t?.cleanup();
  });

  it('Python poplib logs in with an initial response and reads its mail', async () => {
    const result = await run('python3', ['-c', POPLIB_AUTH, String(srv.port), ADDRESS, PASSWORD]);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as { sasl: string[]; auth: string; stat: number[]; retr: string; quit: string };
    assert.deepEqual(out.sasl, ['PLAIN']);
    assert.match(out.auth, /^\+OK Logged in; 1 message/);
    assert.deepEqual(out.stat, [1, wireForm(MESSAGE).length]);
    assert.deepEqual(Buffer.from(out.retr, 'base64'), wireForm(MESSAGE));
    assert.match(out.quit, /^\+OK/);
  });

  it('curl logs in through SASL PLAIN (the continuation form) because CAPA offers it', async (ctx) => {
    const curl = await requireTool(ctx, 'curl', 'curl');
    if (curl === null) return;
    const result = await run(curl, ['-sS', '-v', '--max-time', '10', '-u', `${ADDRESS}:${PASSWORD}`, `pop3://127.0.0.1:${srv.port}/1`]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^> AUTH PLAIN\r?$/m, 'curl chose AUTH PLAIN');
    assert.match(result.stderr, /^< \+ ?\r?$/m, 'the server sent the empty challenge');
    assert.doesNotMatch(result.stderr, /^> USER /m);
    assert.equal(result.stdout, wireForm(MESSAGE).toString());

    const wrong = await run(curl, ['-sS', '--max-time', '10', '-u', `${ADDRESS}:not-it`, `pop3://127.0.0.1:${srv.port}/`]);
    // 67: CURLE_LOGIN_DENIED, the password refused, not some other failure on the way.
    assert.equal(wrong.code, 67, wrong.stderr);
    assert.match(wrong.stderr, /Login denied/);
  });

  it('answers "+ " to AUTH PLAIN alone and takes the next line as the response', async () => {
    const c = await RawClient.open(srv.port);
    assert.equal(await c.command('AUTH PLAIN'), '+ ');
    assert.match(await c.command(plain('', ADDRESS, PASSWORD)), /^\+OK Logged in; 1 message/);
    assert.match(await c.command('STAT'), /^\+OK 1 /);
    assert.equal(await c.command('AUTH PLAIN'), '-ERR Already logged in; this command is only valid before log-in.');
    await c.command('QUIT');
  });

  it('cancels on "*", and the connection can still log in', async () => {
    const c = await RawClient.open(srv.port);
    assert.equal(await c.command('AUTH PLAIN'), '+ ');
    assert.equal(await c.command('*'), '-ERR Authentication cancelled.');
    // After the exchange, lines are commands again: "*" was not one, and this is.
    assert.match(await c.command(`USER ${ADDRESS}`), /^\+OK/);
    assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK Logged in/);
    await c.command('QUIT');
  });

  it('accepts an authorization identity equal to the user, and refuses acting as someone else', async () => {
    const c = await RawClient.open(srv.port);
    assert.equal(await c.command(`AUTH PLAIN ${plain('other@example.com', ADDRESS, PASSWORD)}`), '-ERR [AUTH] Logging in as another user is not allowed; leave the authorization identity empty.');
    assert.match(await c.command(`AUTH PLAIN ${plain('SASL@Example.COM', ADDRESS, PASSWORD)}`), /^\+OK Logged in/);
    await c.command('QUIT');
  });

  it('refuses malformed responses, unknown mechanisms and wrong passwords with clear answers', async () => {
    const c = await RawClient.open(srv.port);
    assert.equal(await c.command('AUTH'), '+OK SASL mechanisms follow');
    assert.deepEqual(await c.lines(), ['PLAIN']);
    assert.equal(await c.command('AUTH CRAM-MD5'), '-ERR Unsupported SASL mechanism; this server offers AUTH PLAIN.');
    assert.equal(await c.command('AUTH PLAIN not*base64'), '-ERR The AUTH PLAIN response is not valid base64; send base64 of "\\0user@domain\\0password".');
    assert.equal(await c.command('AUTH PLAIN ='), '-ERR The AUTH PLAIN message must be "authzid NUL user NUL password" (authzid may be empty).');
    assert.equal(await c.command(`AUTH PLAIN ${b64(`${ADDRESS}\0${PASSWORD}`)}`), '-ERR The AUTH PLAIN message must be "authzid NUL user NUL password" (authzid may be empty).');
    assert.equal(await c.command(`AUTH PLAIN ${plain('', ADDRESS, '')}`), '-ERR The AUTH PLAIN message needs a user name and a password.');
    assert.equal(await c.command(`AUTH PLAIN ${Buffer.from([0, 0x61, 0, 0xff, 0xfe]).toString('base64')}`), '-ERR The AUTH PLAIN message is not valid UTF-8.');
    assert.equal(await c.command('AUTH PLAIN a b'), '-ERR Wrong arguments for AUTH; usage: AUTH PLAIN [initial-response]');
    // A good command in between keeps the bad-command counter from closing the connection.
    assert.equal(await c.command('CAPA'), '+OK Capability list follows');
    await c.lines();
    assert.equal(await c.command(`AUTH PLAIN ${plain('', ADDRESS, 'wrong')}`), '-ERR [AUTH] Invalid user name or password.');
    assert.equal(await c.command(`AUTH PLAIN ${plain('', 'nobody@example.com', PASSWORD)}`), '-ERR [AUTH] Invalid user name or password.');
    assert.match(await c.command(`AUTH PLAIN ${plain('', ADDRESS, PASSWORD)}`), /^\+OK Logged in/);
    await c.command('QUIT');
  });
});
