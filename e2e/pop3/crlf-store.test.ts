/**
 * New mail is kept in CRLF wire form (RETR sends the file as read, only
 * dot-stuffed); mail an older store wrote with LF line ends, and other
 * Maildir writers' files with either line end, are converted as before.
 * One mailbox holding all of them is read byte for byte by real clients
 * (Python's poplib, curl), with LIST and STAT equal to what RETR sends.
 * poplib turns any line end into CRLF, so where bare LFs could slip through
 * (the streamed 50 MB message) curl, which keeps them, is the judge.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { requireTool } from '../helpers/tools.js';
import { run, seedMailbox, useStoreAndServer } from './support.js';

/** Logs in, then STAT, LIST and every RETR: each body's length, SHA-256 and (when small) the bytes, dot-stuffing removed by poplib. */
const POPLIB_SCRIPT = String.raw`
import base64, hashlib, json, poplib, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = poplib.POP3('127.0.0.1', port, timeout=120)
p.user(user)
p.pass_(password)
out = {'stat': list(p.stat())}
resp, lines, _ = p.list()
out['list'] = [int(l.split()[1]) for l in lines]
out['retr'] = []
for n in range(1, out['stat'][0] + 1):
    resp, lines, octets = p.retr(n)
    body = b'\r\n'.join(lines) + b'\r\n'
    out['retr'].append({'length': len(body), 'sha256': hashlib.sha256(body).hexdigest(), 'bytes': base64.b64encode(body).decode() if len(body) < 65536 else None})
p.quit()
print(json.dumps(out))
`;

interface PoplibRead {
  stat: number[];
  list: number[];
  retr: { length: number; sha256: string; bytes: string | null }[];
}

/** What POP3 must send for a stored message (before stuffing): CRLF line ends, a lone CR kept, a final CRLF when missing. */
function wire(message: string | Buffer): Buffer {
  const text = Buffer.from(message).toString('latin1').replace(/\r?\n/g, '\r\n');
  return Buffer.from(text.endsWith('\r\n') || text === '' ? text : `${text}\r\n`, 'latin1');
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A file name as an older version of this store wrote it (its own format, LF on disk, S= differing from W=). */
function olderStoreName(seconds: number, n: number, content: string): string {
  return `${seconds}.M000001P4242Q${n}R00112233445566${String(n).padStart(2, '0')}.oldhost,S=${Buffer.byteLength(content)},W=${wire(content).length}`;
}

async function poplibRead(port: number, user: string, password: string): Promise<PoplibRead> {
  const result = await run('python3', ['-c', POPLIB_SCRIPT, String(port), user, password], { timeoutMs: 180_000 });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as PoplibRead;
}

describe('POP3 over a store of CRLF and LF messages', () => {
  const fx = useStoreAndServer();
  const folder = (address: string, sub: string): string => {
    const [name, domain] = address.split('@') as [string, string];
    return path.join(fx.t.root, domain, name, sub);
  };

  it('stores new mail as it goes on the wire: a CR before a CRLF and a lone CR kept, dot lines intact, byte-exact through poplib', async () => {
    const message = 'Subject: carriage returns\r\n\r\nbefore\r\r\n.dot line\r\n..two dots\r\nlone\rcr\r\n.\r\nlast line without end';
    await seedMailbox(fx.t.store, 'exact@crlf.example', 'exact-pw', [message]);
    const [file] = await readdir(folder('exact@crlf.example', 'new'));
    const onDisk = await readFile(path.join(folder('exact@crlf.example', 'new'), file as string));
    const expected = wire(message);
    assert.deepEqual(onDisk, expected, 'the file holds the wire form');
    assert.match(file as string, new RegExp(`,S=${expected.length},W=${expected.length}$`));

    const read = await poplibRead(fx.srv.port, 'exact@crlf.example', 'exact-pw');
    assert.deepEqual(read.stat, [1, expected.length]);
    assert.deepEqual(read.list, [expected.length]);
    assert.equal(Buffer.from(read.retr[0]?.bytes ?? '', 'base64').toString('latin1'), expected.toString('latin1'));
  });

  it("one mailbox of an older store's LF files, new CRLF mail and other writers' files (CRLF and LF), byte-exact through poplib and curl", async (ctx) => {
    const address = 'mixed@crlf.example';
    // Delivered now: CRLF on disk whatever came in.
    const fresh = ['Subject: new, sent with LF\n\n.dot\nbody\n', 'Subject: new, sent with CRLF\r\n\r\n..\r\n.\r\nend\r\n'];
    await seedMailbox(fx.t.store, address, 'mixed-pw', fresh);
    // Older store's files (LF, sizes in the name), listed first by their earlier time.
    const older = ['Subject: older store\n\n.leading dot\nmiddle\n.\nend\n', 'Subject: older, no final LF\n\nlone\rcr\n.x'];
    for (const [i, content] of older.entries()) await writeFile(path.join(folder(address, 'new'), olderStoreName(1_000_000_000 + i, i + 1, content)), content);
    // Other Maildir writers, after the new mail: CRLF without sizes (as Dovecot's mail_save_crlf), and LF with flags in cur/.
    const outside: [string, string][] = [
      ['new/4000000000.M1P2.otherhost', 'Subject: other writer, CRLF\r\n\r\n.starts with a dot\r\nplain\r\n'],
      ['cur/4000000001.M1P3.otherhost:2,S', 'Subject: other writer, LF\n\n.dot\nno end'],
    ];
    for (const [file, content] of outside) await writeFile(path.join(folder(address, ''), file), content);
    const expected = [...older, ...fresh, ...outside.map(([, c]) => c)].map(wire);

    const read = await poplibRead(fx.srv.port, address, 'mixed-pw');
    assert.deepEqual(read.list, expected.map((e) => e.length), 'LIST: the octets RETR sends');
    assert.deepEqual(read.stat, [expected.length, expected.reduce((sum, e) => sum + e.length, 0)]);
    read.retr.forEach((r, i) => assert.equal(Buffer.from(r.bytes ?? '', 'base64').toString('latin1'), expected[i]?.toString('latin1'), `message ${i + 1}`));

    const curl = await requireTool(ctx, 'curl', 'curl');
    if (curl === null) return;
    for (const [i, e] of expected.entries()) {
      const got = await run(curl, ['-sS', '--max-time', '10', '-u', `${address}:mixed-pw`, `pop3://127.0.0.1:${fx.srv.port}/${i + 1}`]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout, e.toString('latin1'), `curl, message ${i + 1}`);
    }
  });

  it('a 50 MB message, new (CRLF) and as an older store kept it (LF), byte-exact through curl', async (ctx) => {
    const curl = await requireTool(ctx, 'curl', 'curl');
    if (curl === null) return;
    const address = 'large@crlf.example';
    await seedMailbox(fx.t.store, address, 'large-pw');
    // About 530,000 lines of 100 octets with CRLF: just over 50 MiB; every 997th line starts with a dot.
    const lines: string[] = ['Subject: fifty megabytes', ''];
    for (let i = 0; lines.length < 530_000; i++) lines.push(`${i % 997 === 0 ? '.' : 'L'}${String(i).padStart(9, '0')} ${'y'.repeat(87)}`);
    const lf = `${lines.join('\n')}\n`;
    await writeFile(path.join(folder(address, 'new'), olderStoreName(1_000_000_000, 1, lf)), lf);
    await fx.t.store.deliver(address, Readable.from([Buffer.from(lf)]));
    const expected = wire(lf);
    assert.ok(expected.length > 50 * 2 ** 20, 'the fixture is over 50 MiB');

    // curl writes what it received, dot-stuffing removed, line ends untouched (poplib would turn a bare LF into CRLF).
    const auth = ['-sS', '--max-time', '120', '-u', `${address}:large-pw`];
    const list = await run(curl, [...auth, `pop3://127.0.0.1:${fx.srv.port}/`]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, `1 ${expected.length}\r\n2 ${expected.length}\r\n`);
    for (const n of [1, 2]) {
      const got = await run(curl, [...auth, `pop3://127.0.0.1:${fx.srv.port}/${n}`], { timeoutMs: 180_000 });
      assert.equal(got.code, 0, got.stderr);
      const body = Buffer.from(got.stdout, 'latin1');
      assert.equal(body.length, expected.length, `message ${n}: length`);
      assert.equal(sha256(body), sha256(expected), `message ${n}: content`);
    }
  });
});
