/**
 * A message for several recipients is stored all or nothing: when one copy
 * cannot be stored the client gets 451 and no mailbox keeps the message, so
 * its resend gives every recipient exactly one copy.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultSettings } from '../../electron/service/config.js';
import { silentLogger } from '../../electron/service/log.js';
import { createSmtpListener, type SmtpListener } from '../../electron/service/smtp/index.js';
import { openMailStore } from '../../electron/service/store/index.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { python } from '../helpers/python.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const RECIPIENTS = ['ann@example.com', 'ben@example.com', 'cat@example.com'];

let dir: TempDir;
let store: MailStore;
let smtp: SmtpListener;
let port: number;

const folder = (address: string, sub: 'tmp' | 'new' | 'cur' | ''): string => {
  const [user, domain] = address.split('@') as [string, string];
  return path.join(dir.path, domain, user, sub);
};

/** Subjects of the messages in a mailbox, read through the store as POP3 would. */
async function subjectsOf(address: string): Promise<string[]> {
  const drop = await store.openMaildrop(address);
  const out: string[] = [];
  for (const m of drop.messages) {
    const chunks: Buffer[] = [];
    for await (const c of drop.openMessage(m)) chunks.push(Buffer.from(c as Uint8Array));
    out.push(/^Subject: (.*)$/m.exec(Buffer.concat(chunks).toString('latin1'))?.[1] ?? '?');
  }
  return out;
}

/** Files anywhere in the mailboxes' tmp/ folders, and in the SMTP spool. */
async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const address of RECIPIENTS) {
    for (const name of await fs.readdir(folder(address, 'tmp')).catch(() => [])) found.push(`${address} tmp/${name}`);
  }
  for (const name of await fs.readdir(path.join(dir.path, '.winpop', 'spool')).catch(() => [])) found.push(`spool/${name}`);
  return found;
}

/** Sends with smtplib; the DATA reply (or the error) as [code, text], plus per-recipient refusals. */
async function send(subject: string, to = RECIPIENTS): Promise<{ code: number; text: string; refused: Record<string, number> }> {
  const [out] = await python<{ code: number; text: string; refused: Record<string, number> }>(
    `
import smtplib
s = smtplib.SMTP('127.0.0.1', ARGS['port'], timeout=20)
s.ehlo('client.test')
s.mail('sender@remote.test')
refused = {}
for rcpt in ARGS['to']:
    c, t = s.rcpt(rcpt)
    if c >= 400:
        refused[rcpt] = c
if len(refused) == len(ARGS['to']):
    print(json.dumps({'code': 0, 'text': 'no recipient accepted', 'refused': refused}))
else:
    code, text = s.data(ARGS['message'].encode('latin-1'))
    print(json.dumps({'code': code, 'text': text.decode(), 'refused': refused}))
s.quit()
`,
    { port, to, message: `From: sender@remote.test\r\nSubject: ${subject}\r\n\r\nHello.\r\n` },
  );
  assert.ok(out, 'smtplib printed nothing');
  return out;
}

/**
 * A raw SMTP dialogue that runs `between` after every RCPT was accepted and
 * before DATA; resolves to the reply to the message's final dot.
 */
async function sendWithPause(subject: string, between: () => Promise<void>): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  let buffered = '';
  const waiters: ((line: string) => void)[] = [];
  const lines: string[] = [];
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let at: number;
    while ((at = buffered.indexOf('\r\n')) >= 0) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 2);
      if (/^\d{3}-/.test(line)) continue; // continuation of a multi-line reply
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const reply = (): Promise<string> => {
    const ready = lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => waiters.push(resolve));
  };
  const say = async (line: string): Promise<string> => {
    socket.write(`${line}\r\n`);
    return reply();
  };
  try {
    assert.match(await reply(), /^220 /);
    assert.match(await say('EHLO client.test'), /^250 /);
    assert.match(await say('MAIL FROM:<sender@remote.test>'), /^250 /);
    for (const rcpt of RECIPIENTS) assert.match(await say(`RCPT TO:<${rcpt}>`), /^250 /);
    await between();
    assert.match(await say('DATA'), /^354 /);
    const answer = await say(`From: sender@remote.test\r\nSubject: ${subject}\r\n\r\nHello.\r\n.`);
    await say('QUIT');
    return answer;
  } finally {
    socket.destroy();
  }
}

before(async () => {
  dir = await tempDir('winpop-smtp-multi-');
  store = await openMailStore(dir.path, { fsync: true });
  await store.addDomain('example.com');
  for (const address of RECIPIENTS) await store.addMailbox(address, 'secret-password');
  smtp = createSmtpListener({ store, log: silentLogger, settings: () => ({ ...defaultSettings(), maxMessageBytes: 100_000 }), hostname: 'mx.example.com' });
  ({ port } = await smtp.listen(0, '127.0.0.1'));
});

after(async () => {
  await smtp?.close();
  await dir?.remove();
});

describe('SMTP to several recipients, all or nothing', () => {
  test("one mailbox's tmp/ cannot be written: 451, no mailbox has the message; after repair the resend gives one copy each", async () => {
    // A file where ben's tmp/ folder belongs stops root as well as anyone else.
    const tmp = folder('ben@example.com', 'tmp');
    await fs.rename(tmp, `${tmp}.aside`);
    await fs.writeFile(tmp, 'in the way');
    const failed = await send('first try');
    assert.equal(failed.code, 451, failed.text);
    assert.match(failed.text, /^4\.3\.0 .*nothing was kept/);
    for (const address of RECIPIENTS) assert.deepEqual(await subjectsOf(address), [], address);
    await fs.rm(tmp);
    await fs.rename(`${tmp}.aside`, tmp);
    assert.deepEqual(await leftovers(), []);

    const resent = await send('first try');
    assert.equal(resent.code, 250, resent.text);
    for (const address of RECIPIENTS) assert.deepEqual(await subjectsOf(address), ['first try'], address);
    const listed = Object.fromEntries((await store.listMailboxes('example.com')).map((m) => [m.name, m.messages]));
    assert.deepEqual(listed, { ann: 1, ben: 1, cat: 1 });
    assert.deepEqual(await leftovers(), []);
  });

  test('a mailbox deleted between RCPT and DATA: 451 with nothing stored; the retry gets 550 for it and delivers the rest', async () => {
    const answer = await sendWithPause('second', () => store.deleteMailbox('cat@example.com'));
    assert.match(answer, /^451 4\.3\.0 /);
    assert.deepEqual(await subjectsOf('ann@example.com'), ['first try']);
    assert.deepEqual(await subjectsOf('ben@example.com'), ['first try']);
    assert.deepEqual(await leftovers(), []);

    const retry = await send('second');
    assert.deepEqual(retry.refused, { 'cat@example.com': 550 });
    assert.equal(retry.code, 250, retry.text);
    assert.deepEqual(await subjectsOf('ann@example.com'), ['first try', 'second']);
    assert.deepEqual(await subjectsOf('ben@example.com'), ['first try', 'second']);
    assert.deepEqual(await leftovers(), []);
  });
});
