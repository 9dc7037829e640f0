/**
 * Crashes: pop3svc is killed with SIGKILL in the middle of deliveries and in
 * the middle of a QUIT that applies deletions. Afterwards no acknowledged
 * message is lost, none is duplicated, none is partial, and deletions are
 * applied whole or not at all.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startPop3svc, winpop } from '../helpers/processes.js';
import { popFetchAll, python } from '../helpers/python.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

let dir: TempDir;
let mailroot: string;
let config: string;
const ADDRESS = 'crash@example.com';
const PASSWORD = 'pw-crash';

before(async () => {
  dir = await tempDir();
  mailroot = path.join(dir.path, 'mailroot');
  config = path.join(dir.path, 'config.json');
  assert.equal((await winpop(['--mailroot', mailroot, '--config', config, 'add', 'example.com'])).code, 0);
  assert.equal((await winpop(['--mailroot', mailroot, '--config', config, 'add', ADDRESS, '/createuser', PASSWORD])).code, 0);
});

after(async () => {
  await dir?.remove();
});

/** Each test message names itself and carries the checksum of its body, so a partial one is caught. */
const SENDER = `
import hashlib, json, random, smtplib, sys
port, first = int(sys.argv[1]), int(sys.argv[2])
s = smtplib.SMTP('127.0.0.1', port, timeout=10)
i = first
while True:
    body = ''.join('line %d of message %d %s\\r\\n' % (n, i, 'x' * random.randint(0, 900)) for n in range(random.randint(1, 200)))
    digest = hashlib.sha256(body.encode()).hexdigest()
    msg = 'Subject: crash-%d\\r\\nX-Body-SHA256: %s\\r\\n\\r\\n%s' % (i, digest, body)
    try:
        s.sendmail('load@example.org', ['${ADDRESS}'], msg)
    except Exception as e:
        print('STOP', type(e).__name__, flush=True)
        break
    print('ACK', i, flush=True)
    i += 1
`;

function bodyOk(message: string): { id: number; ok: boolean } {
  const id = Number(/Subject: crash-(\d+)/.exec(message)?.[1]);
  const digest = /X-Body-SHA256: ([0-9a-f]{64})/.exec(message)?.[1];
  // poplib hands back the lines without the final line end.
  const body = `${message.slice(message.indexOf('\r\n\r\n') + 4)}\r\n`;
  return { id, ok: digest !== undefined && digest === sha256(body) };
}

function sha256(text: string): string {
  return createHash('sha256').update(Buffer.from(text, 'latin1')).digest('hex');
}

test('SIGKILL during a stream of deliveries loses, duplicates and truncates nothing', async () => {
  const acked = new Set<number>();
  let next = 1;
  for (let round = 0; round < 4; round++) {
    const service = await startPop3svc(mailroot, config);
    const sender = spawn('python3', ['-u', '-c', SENDER, String(service.smtpPort), String(next)]);
    let out = '';
    sender.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const senderDone = new Promise((r) => sender.on('exit', r));
    // Kill once deliveries are under way (a busy machine takes a while to start the sender), at a random moment.
    const started = Date.now();
    while (!/^ACK /m.test(out) && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 700)));
    await service.kill();
    await senderDone;
    for (const m of out.matchAll(/^ACK (\d+)$/gm)) acked.add(Number(m[1]));
    next = Math.max(next, ...[...out.matchAll(/^ACK (\d+)$/gm)].map((m) => Number(m[1]) + 1)) + 1000;
  }
  assert.ok(acked.size > 0, 'some deliveries were acknowledged before the kills');

  const service = await startPop3svc(mailroot, config);
  try {
    const box = await popFetchAll(service.pop3Port, ADDRESS, PASSWORD, { delete: true });
    assert.ok(!('error' in box), JSON.stringify(box));
    const seen = box.messages.map(bodyOk);
    const partial = seen.filter((m) => !m.ok);
    assert.deepEqual(partial, [], 'no message is partial');
    const ids = seen.map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, 'no message is duplicated');
    const missing = [...acked].filter((id) => !ids.includes(id));
    assert.deepEqual(missing, [], 'every acknowledged message is there');
  } finally {
    await service.stop();
  }
});

test('SIGKILL during a QUIT that applies deletions: all deleted or none', async () => {
  const N = 300;
  for (let round = 0; round < 4; round++) {
    const service = await startPop3svc(mailroot, config);
    await python(
      `
import smtplib
with smtplib.SMTP('127.0.0.1', ARGS['port'], timeout=30) as s:
    for i in range(ARGS['n']):
        s.sendmail('load@example.org', ['${ADDRESS}'], 'Subject: keep-%d\\r\\n\\r\\nbody %d\\r\\n' % (i, i))
`,
      { port: service.smtpPort, n: N },
      120_000,
    );
    const quitter = spawn('python3', [
      '-u',
      '-c',
      `
import poplib, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=30)
p.user(sys.argv[2]); p.pass_(sys.argv[3])
count, _ = p.stat()
for i in range(count):
    p.dele(i + 1)
print('QUITTING', count, flush=True)
try:
    p.quit()
except Exception:
    pass
`,
      String(service.pop3Port),
      ADDRESS,
      PASSWORD,
    ]);
    const delay = Math.floor(Math.random() * 15);
    await new Promise<void>((resolve) => {
      quitter.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (d.includes('QUITTING')) setTimeout(resolve, delay);
      });
      quitter.on('exit', () => resolve());
    });
    await service.kill();
    quitter.kill();

    const again = await startPop3svc(mailroot, config);
    try {
      const box = await popFetchAll(again.pop3Port, ADDRESS, PASSWORD, { delete: true });
      assert.ok(!('error' in box), JSON.stringify(box));
      assert.ok(box.count === 0 || box.count === N, `round ${round} (kill after ${delay} ms): ${box.count} of ${N} left; deletions must be all or nothing`);
    } finally {
      await again.stop();
    }
  }
});
