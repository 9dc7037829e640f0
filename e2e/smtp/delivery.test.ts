/**
 * SMTP delivery through real clients (Python's smtplib, swaks) into a real
 * store in a temporary mail root.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { defaultSettings } from '../../electron/service/config.js';
import { silentLogger } from '../../electron/service/log.js';
import { createSmtpListener, type SmtpListener } from '../../electron/service/smtp/index.js';
import { openMailStore } from '../../electron/service/store/index.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { python } from '../helpers/python.js';
import { run } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { requireTool } from '../helpers/tools.js';

const LIMIT = 20_000;

let dir: TempDir;
let store: MailStore;
let smtp: SmtpListener;
let port: number;
let maxMessageBytes = LIMIT;

async function readStream(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('latin1');
}

/** Every message of a mailbox, as stored (CRLF line ends: POP3 wire form). */
async function messagesOf(address: string): Promise<string[]> {
  const drop = await store.openMaildrop(address);
  const out: string[] = [];
  for (const message of drop.messages) out.push(await readStream(drop.openMessage(message)));
  return out;
}

async function filesIn(folder: string): Promise<string[]> {
  return fs.readdir(folder).catch(() => []);
}

const mailboxFolder = (address: string, sub: 'tmp' | 'new'): string => {
  const [user, domain] = address.split('@') as [string, string];
  return path.join(dir.path, domain, user, sub);
};

interface SendOutcome {
  /** Per-recipient refusals from RCPT: [code, text]. */
  refused?: Record<string, [number, string]>;
  /** The failing reply, when the transaction failed as a whole. */
  code?: number;
  error?: string;
  stage?: string;
}

/**
 * Sends with smtplib. `declareSize: false` skips the SIZE= parameter (smtplib
 * adds it by itself), so the limit is met during DATA instead of at MAIL FROM.
 */
async function send(to: string[], message: string, options: { declareSize?: boolean } = {}): Promise<SendOutcome> {
  const [out] = await python<SendOutcome>(
    `
import smtplib
s = smtplib.SMTP('127.0.0.1', ARGS['port'], timeout=20)
s.ehlo('client.test')
msg = ARGS['message'].encode('latin-1')
try:
    if ARGS['declareSize']:
        refused = s.sendmail('sender@remote.test', ARGS['to'], msg)
        print(json.dumps({'refused': {k: [v[0], v[1].decode()] for k, v in refused.items()}}))
    else:
        code, text = s.mail('sender@remote.test')
        refused = {}
        for rcpt in ARGS['to']:
            c, t = s.rcpt(rcpt)
            if c >= 400:
                refused[rcpt] = [c, t.decode()]
        if len(refused) == len(ARGS['to']):
            print(json.dumps({'refused': refused, 'stage': 'rcpt'}))
        else:
            code, text = s.data(msg)
            if code >= 400:
                print(json.dumps({'code': code, 'error': text.decode(), 'stage': 'data', 'refused': refused}))
            else:
                print(json.dumps({'refused': refused}))
except smtplib.SMTPRecipientsRefused as e:
    print(json.dumps({'refused': {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}, 'stage': 'rcpt'}))
except smtplib.SMTPSenderRefused as e:
    print(json.dumps({'code': e.smtp_code, 'error': e.smtp_error.decode(), 'stage': 'mail'}))
except smtplib.SMTPDataError as e:
    print(json.dumps({'code': e.smtp_code, 'error': e.smtp_error.decode(), 'stage': 'data'}))
s.quit()
`,
    { port, to, message, declareSize: options.declareSize ?? true },
  );
  assert.ok(out, 'smtplib printed nothing');
  return out;
}

const simpleMessage = (subject: string, body = 'Hello.\r\n'): string =>
  `From: sender@remote.test\r\nTo: someone\r\nSubject: ${subject}\r\n\r\n${body}`;

before(async () => {
  dir = await tempDir('winpop-smtp-');
  store = await openMailStore(dir.path, { fsync: false });
  await store.addDomain('example.com');
  await store.addDomain('locked.test');
  for (const address of ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@locked.test']) {
    await store.addMailbox(address, 'secret-password');
  }
  smtp = createSmtpListener({ store, log: silentLogger, settings: () => ({ ...defaultSettings(), maxMessageBytes }), hostname: 'mx.example.com' });
  ({ port } = await smtp.listen(0, '127.0.0.1'));
});

after(async () => {
  await smtp?.close();
  await dir?.remove();
});

describe('SMTP delivery', () => {
  test('one recipient: stored with a Received: trace on top', async () => {
    const out = await send(['alice@example.com'], simpleMessage('one'));
    assert.deepEqual(out, { refused: {} });
    const [stored, ...more] = await messagesOf('alice@example.com');
    assert.equal(more.length, 0);
    assert.ok(stored);
    assert.match(stored, /^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.com with ESMTP id \S+\r\n\tfor <alice@example\.com>; \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n/);
    assert.ok(stored.endsWith('From: sender@remote.test\r\nTo: someone\r\nSubject: one\r\n\r\nHello.\r\n'), stored);
  });

  test('several recipients (any case) each get one copy; the spool is left empty', async () => {
    const out = await send(['bob@example.com', 'Carol@EXAMPLE.com'], simpleMessage('several'));
    assert.deepEqual(out, { refused: {} });
    for (const address of ['bob@example.com', 'carol@example.com']) {
      const messages = await messagesOf(address);
      assert.equal(messages.length, 1, address);
      assert.match(messages[0] ?? '', new RegExp(`for <${address}>;`));
      assert.match(messages[0] ?? '', /Subject: several\r\n\r\nHello\.\r\n$/);
    }
    assert.deepEqual(await filesIn(path.join(dir.path, '.winpop', 'spool')), []);
  });

  test('a locked mailbox, and a mailbox of a locked domain, still receive mail', async () => {
    const lock = { by: 'test', at: new Date().toISOString(), reason: 'testing' };
    await store.setMailboxLock('alice@example.com', lock);
    await store.setDomainLock('locked.test', lock);
    const before = (await messagesOf('alice@example.com')).length;
    const out = await send(['alice@example.com', 'dave@locked.test'], simpleMessage('while locked'));
    assert.deepEqual(out, { refused: {} });
    assert.ok(await store.isLocked('alice@example.com'));
    assert.equal((await messagesOf('alice@example.com')).length, before + 1);
    assert.match((await messagesOf('dave@locked.test'))[0] ?? '', /Subject: while locked/);
    await store.setMailboxLock('alice@example.com', null);
    await store.setDomainLock('locked.test', null);
  });

  test('an unknown mailbox of a hosted domain gets 550 5.1.1', async () => {
    const out = await send(['nobody@example.com'], simpleMessage('unknown'));
    assert.equal(out.stage, 'rcpt');
    const [code, text] = out.refused?.['nobody@example.com'] ?? [];
    assert.equal(code, 550);
    assert.match(text ?? '', /^5\.1\.1 .*no such mailbox/);
  });

  test('a name that cannot be a mailbox is refused without touching the disk', async () => {
    for (const rcpt of ['a+b@example.com', 'con@example.com']) {
      const out = await send([rcpt], simpleMessage('bad name'));
      const [code, text] = out.refused?.[rcpt] ?? [];
      assert.equal(code, 550, rcpt);
      assert.match(text ?? '', /^5\.1\.1 /, rcpt);
    }
    // A path in the address is already a syntax error to the SMTP parser.
    const out = await send(['../../etc@example.com'], simpleMessage('path'));
    const [code, text] = out.refused?.['../../etc@example.com'] ?? [];
    assert.equal(code, 501, `refused with ${code} ${text}`);
    assert.match(text ?? '', /Bad recipient address syntax/);
    assert.deepEqual(await filesIn(path.join(dir.path, 'etc')), []);
  });

  test('a foreign domain gets 550 5.7.1: the server never relays', async () => {
    const out = await send(['someone@elsewhere.test', 'x@[127.0.0.1]'], simpleMessage('relay'));
    assert.equal(out.stage, 'rcpt');
    for (const rcpt of ['someone@elsewhere.test', 'x@[127.0.0.1]']) {
      const [code, text] = out.refused?.[rcpt] ?? [];
      assert.equal(code, 550, rcpt);
      assert.match(text ?? '', /^5\.7\.1 .*relaying denied/, rcpt);
    }
  });

  test('a mix of good and bad recipients: the good ones get the mail', async () => {
    const before = (await messagesOf('bob@example.com')).length;
    const out = await send(['bob@example.com', 'ghost@example.com', 'a@elsewhere.test'], simpleMessage('mixed'));
    assert.deepEqual(Object.keys(out.refused ?? {}).sort(), ['a@elsewhere.test', 'ghost@example.com']);
    assert.equal(out.code, undefined);
    assert.equal((await messagesOf('bob@example.com')).length, before + 1);
  });

  test('EHLO advertises SIZE from the current settings; a declared oversize is refused at MAIL FROM', async () => {
    maxMessageBytes = 12_345;
    try {
      const [features] = await python<{ size: string }>(
        `
import smtplib
s = smtplib.SMTP('127.0.0.1', ARGS['port'], timeout=20)
s.ehlo('client.test')
print(json.dumps({'size': s.esmtp_features.get('size', '')}))
s.quit()
`,
        { port },
      );
      assert.equal(features?.size, '12345');
      const out = await send(['alice@example.com'], simpleMessage('declared', 'x'.repeat(13_000)));
      assert.equal(out.stage, 'mail');
      assert.equal(out.code, 552);
    } finally {
      maxMessageBytes = LIMIT;
    }
  });

  test('an undeclared message over the limit gets 552 5.3.4 and nothing is stored, for one or several recipients', async () => {
    const big = simpleMessage('too big', `${'y'.repeat(99)}\r\n`.repeat(300));
    for (const to of [['alice@example.com'], ['alice@example.com', 'bob@example.com']]) {
      const before = await Promise.all(to.map(async (a) => (await messagesOf(a)).length));
      const out = await send(to, big, { declareSize: false });
      assert.equal(out.stage, 'data');
      assert.equal(out.code, 552);
      assert.match(out.error ?? '', /^5\.3\.4 .*at most 20000 bytes/);
      const afterCounts = await Promise.all(to.map(async (a) => (await messagesOf(a)).length));
      assert.deepEqual(afterCounts, before);
      for (const a of to) assert.deepEqual(await filesIn(mailboxFolder(a, 'tmp')), [], `${a} tmp/`);
    }
    assert.deepEqual(await filesIn(path.join(dir.path, '.winpop', 'spool')), []);
    // The session stays usable: the same connection can send a small message next.
    const [next] = await python<{ first: number; second: number }>(
      `
import smtplib
s = smtplib.SMTP('127.0.0.1', ARGS['port'], timeout=20)
s.ehlo('client.test')
s.mail('sender@remote.test'); s.rcpt('alice@example.com')
first, _ = s.data(ARGS['big'].encode('latin-1'))
s.mail('sender@remote.test'); s.rcpt('alice@example.com')
second, _ = s.data(b'Subject: after\\r\\n\\r\\nsmall\\r\\n')
s.quit()
print(json.dumps({'first': first, 'second': second}))
`,
      { port, big },
    );
    assert.deepEqual(next, { first: 552, second: 250 });
  });

  test('lines starting with dots arrive intact', async () => {
    const body = '.leading dot\r\n..two dots\r\n.\r\n. space\r\nend\r\n';
    const out = await send(['bob@example.com'], simpleMessage('dots', body));
    assert.deepEqual(out, { refused: {} });
    const messages = await messagesOf('bob@example.com');
    const last = messages.find((m) => m.includes('Subject: dots'));
    assert.ok(last?.endsWith('Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n. space\r\nend\r\n'), last);
  });

  test('binary (8-bit) content is stored byte for byte', async () => {
    let body = '';
    for (let i = 0x80; i <= 0xff; i++) body += String.fromCharCode(i);
    const out = await send(['carol@example.com'], simpleMessage('8bit', `${body}\r\n`));
    assert.deepEqual(out, { refused: {} });
    const stored = (await messagesOf('carol@example.com')).find((m) => m.includes('Subject: 8bit'));
    assert.ok(stored?.endsWith(`Subject: 8bit\r\n\r\n${body}\r\n`));
  });

  test('a store failure answers 451 4.3.0 and leaves nothing; the next delivery works', async () => {
    const tmp = mailboxFolder('carol@example.com', 'tmp');
    const before = (await messagesOf('carol@example.com')).length;
    // A file where the Maildir's tmp/ folder should be: every write into it fails.
    await fs.rm(tmp, { recursive: true });
    await fs.writeFile(tmp, 'in the way');
    try {
      const out = await send(['carol@example.com'], simpleMessage('store broken'));
      assert.equal(out.stage, 'data');
      assert.equal(out.code, 451);
      assert.match(out.error ?? '', /^4\.3\.0 /);
    } finally {
      await fs.rm(tmp);
      await fs.mkdir(tmp);
    }
    assert.equal((await messagesOf('carol@example.com')).length, before);
    assert.deepEqual(await send(['carol@example.com'], simpleMessage('store fixed')), { refused: {} });
    assert.equal((await messagesOf('carol@example.com')).length, before + 1);
  });

  test('a client that hangs up mid-message leaves nothing behind; others are still served', async () => {
    const before = (await messagesOf('alice@example.com')).length;
    await python(
      `
import socket
s = socket.create_connection(('127.0.0.1', ARGS['port']), timeout=20)
f = s.makefile('rb')
def reply():
    line = f.readline()
    while line[3:4] == b'-':
        line = f.readline()
    return line
reply()
for cmd in [b'EHLO client.test', b'MAIL FROM:<sender@remote.test>', b'RCPT TO:<alice@example.com>', b'DATA']:
    s.sendall(cmd + b'\\r\\n')
    reply()
s.sendall(b'Subject: cut\\r\\n\\r\\n' + b'z' * 5000)
s.close()
print(json.dumps('closed'))
`,
      { port },
    );
    assert.deepEqual(await send(['alice@example.com'], simpleMessage('after hang-up')), { refused: {} });
    const messages = await messagesOf('alice@example.com');
    assert.equal(messages.length, before + 1);
    assert.ok(!messages.some((m) => m.includes('Subject: cut')));
    // The aborted copy's tmp file is removed once the store sees the error.
    for (let i = 0; i < 100 && (await filesIn(mailboxFolder('alice@example.com', 'tmp'))).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(await filesIn(mailboxFolder('alice@example.com', 'tmp')), []);
  });

  test('swaks delivers to a mailbox', async (t) => {
    const swaks = await requireTool(t, 'swaks', 'swaks');
    if (swaks === null) return;
    const result = await run(swaks, [
      '--server', `127.0.0.1:${port}`,
      '--to', 'bob@example.com',
      '--from', 'swaks@remote.test',
      '--helo', 'swaks.test',
      '--header', 'Subject: from swaks',
      '--body', 'Sent by swaks.',
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /<- {2}250 2\.0\.0 Delivered to 1 mailbox/);
    const stored = (await messagesOf('bob@example.com')).find((m) => m.includes('Subject: from swaks'));
    assert.ok(stored?.includes('Sent by swaks.'));
    assert.match(stored ?? '', /^Received: from swaks\.test /);
  });

  test('swaks to a foreign domain is refused with 5.7.1', async (t) => {
    const swaks = await requireTool(t, 'swaks', 'swaks');
    if (swaks === null) return;
    const result = await run(swaks, ['--server', `127.0.0.1:${port}`, '--to', 'x@elsewhere.test', '--from', 'swaks@remote.test']);
    // 24: swaks' exit status for "every recipient was refused at RCPT", not a failure elsewhere in the session.
    assert.equal(result.code, 24, result.stdout + result.stderr);
    assert.match(result.stdout, /<\*\* 550 5\.7\.1 /);
  });
});
