/**
 * The SMTP listener's limits through real sockets from several loopback
 * addresses (127.0.0.x): connections in total and per client address (421
 * beyond either, settings read live), and the unknown-recipient throttle
 * that keeps RCPT from listing mailboxes quickly (slowed answers, 421 at the
 * hard limit, remembered across connections, reset by a delivered message).
 * The throttle's real schedule is checked through its pure function and,
 * for its first slowed answers, through the listener with smtplib; the rest
 * runs on a listener with short delays.
 */

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Settings } from '../../shared/contract.js';
import { clientAddressKey } from '../../electron/service/client-address.js';
import { defaultSettings } from '../../electron/service/config.js';
import { ConnectionSlots, LogOnce } from '../../electron/service/connection-slots.js';
import { createSmtpListener, type SmtpListener } from '../../electron/service/smtp/index.js';
import { DEFAULT_RECIPIENT_THROTTLE, RecipientThrottle, unknownRecipientDelayMs } from '../../electron/service/smtp/recipient-throttle.js';
import { openMailStore } from '../../electron/service/store/index.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { python } from '../helpers/python.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { eventually } from '../hostile/support.js';
import { capturingLogger } from '../tls/tls-support.js';

const MAILBOX = 'ann@example.com';
const HOST = 'mx.example.com';

let dir: TempDir;
let store: MailStore;

before(async () => {
  dir = await tempDir('winpop-smtp-limits-');
  store = await openMailStore(dir.path, { fsync: false });
  await store.addDomain('example.com');
  await store.addMailbox(MAILBOX, 'secret-password');
});
after(async () => {
  await dir?.remove();
});

/** Linux routes all of 127.0.0.0/8 to loopback; elsewhere these tests cannot pick their source address. */
async function loopbackAliases(t: TestContext): Promise<boolean> {
  const usable = await new Promise<boolean>((resolve) => {
    const s = connect({ port: 9, host: '127.0.0.1', localAddress: '127.0.0.2' });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'EADDRNOTAVAIL' && err.code !== 'EINVAL'));
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
  });
  if (usable) return true;
  const why = 'this system cannot connect from 127.0.0.2 (only Linux routes all of 127.0.0.0/8 to loopback)';
  if (process.env.CI === 'true') assert.fail(why);
  t.skip(why);
  return false;
}

/** A raw connection from `source`, opened until the server's first line; `greeting` is that line. */
async function openFrom(port: number, source: string): Promise<{ socket: Socket; greeting: string }> {
  const socket = connect({ port, host: '127.0.0.1', localAddress: source });
  socket.setEncoding('latin1');
  const greeting = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: string): void => {
      seen += chunk;
      const end = seen.indexOf('\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve(seen.slice(0, end));
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before a greeting; it said ${JSON.stringify(seen)}`)));
  });
  socket.on('error', () => undefined);
  return { socket, greeting };
}

/** Resolves when the server has closed `socket` (it reads whatever else comes). */
function closedByServer(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readableEnded || socket.destroyed) return resolve();
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
    socket.resume();
  });
}

type Step = ['mail', string] | ['rcpt', string] | ['data', string] | ['noop'];
interface StepOutcome {
  readonly step: Step;
  readonly code?: number;
  readonly text?: string;
  /** Wall time of the command and its answer, as the client measured it. */
  readonly seconds?: number;
  /** The server had closed the connection. */
  readonly closed?: boolean;
}

/**
 * One smtplib session from `source` running `steps`; the greeting's refusal
 * comes back as a single 'connect' outcome.
 */
async function dialogue(port: number, source: string, steps: Step[]): Promise<{ refused?: { code: number; text: string }; outcomes: StepOutcome[] }> {
  const lines = await python<{ refused?: { code: number; text: string } } & StepOutcome>(
    `
import smtplib, time
try:
    s = smtplib.SMTP('127.0.0.1', ARGS['port'], timeout=60, source_address=(ARGS['source'], 0))
except smtplib.SMTPConnectError as e:
    print(json.dumps({'refused': {'code': e.smtp_code, 'text': e.smtp_error.decode()}}))
    sys.exit(0)
s.ehlo('client.test')
for step in ARGS['steps']:
    start = time.monotonic()
    try:
        if step[0] == 'mail':
            code, text = s.mail(step[1])
        elif step[0] == 'rcpt':
            code, text = s.rcpt(step[1])
        elif step[0] == 'data':
            code, text = s.data(step[1].encode('latin-1'))
        else:
            code, text = s.noop()
    except smtplib.SMTPServerDisconnected:
        print(json.dumps({'step': step, 'closed': True}))
        break
    print(json.dumps({'step': step, 'code': code, 'text': text.decode(), 'seconds': time.monotonic() - start}))
try:
    s.quit()
except smtplib.SMTPServerDisconnected:
    pass
`,
    { port, source, steps },
    120_000,
  );
  const refused = lines[0]?.refused;
  return refused ? { refused, outcomes: [] } : { outcomes: lines };
}

const unknown = (n: number): Step[] => Array.from({ length: n }, (_, i): Step => ['rcpt', `nobody${i}@example.com`]);
const message = (subject: string): string => `From: sender@remote.test\r\nSubject: ${subject}\r\n\r\nHello.\r\n`;

describe('SMTP connection caps', () => {
  const settings: { -readonly [K in keyof Settings]: Settings[K] } = { ...defaultSettings(), smtpConnectionsPerAddress: 3, smtpMaxConnections: 5 };
  const logs = capturingLogger();
  let smtp: SmtpListener;
  let port: number;
  const held: Socket[] = [];

  before(async () => {
    smtp = createSmtpListener({ store, log: logs.log, settings: () => settings, hostname: HOST });
    ({ port } = await smtp.listen(0, '127.0.0.1'));
  });
  after(async () => {
    for (const s of held) s.destroy();
    await smtp?.close();
  });

  /** Opens `n` connections from `source` and keeps them; each must be greeted. */
  async function holdFrom(source: string, n: number): Promise<Socket[]> {
    const opened: Socket[] = [];
    for (let i = 0; i < n; i++) {
      const { socket, greeting } = await openFrom(port, source);
      held.push(socket);
      opened.push(socket);
      assert.match(greeting, /^220 /, `connection ${i + 1} from ${source}`);
    }
    return opened;
  }

  /** Quits `sockets` and waits until the listener has given their slots back (and those of finished dialogues). */
  async function release(sockets: Socket[]): Promise<void> {
    for (const s of sockets) {
      s.end('QUIT\r\n');
      await closedByServer(s);
    }
    const open = held.filter((s) => !s.destroyed && !s.readableEnded).length;
    await eventually(() => smtp.connectionCount() === open, `the listener to count ${open} open connections (it counts ${smtp.connectionCount()})`);
  }

  it('the connection over the per-address cap gets 421 4.7.0 and is closed; another address is served', async (t) => {
    if (!(await loopbackAliases(t))) return;
    const mine = await holdFrom('127.0.0.2', 3);

    const refused = await dialogue(port, '127.0.0.2', []);
    assert.deepEqual(refused.refused, { code: 421, text: `4.7.0 ${HOST} Too many connections from your address; try again later` });
    // A raw client sees the same, then the server closes.
    const raw = await openFrom(port, '127.0.0.2');
    assert.equal(raw.greeting, `421 4.7.0 ${HOST} Too many connections from your address; try again later`);
    await closedByServer(raw.socket);

    const other = await dialogue(port, '127.0.0.3', [['mail', 'sender@remote.test'], ['rcpt', MAILBOX], ['data', message('from another address')]]);
    assert.deepEqual(
      other.outcomes.map((o) => o.code),
      [250, 250, 250],
      JSON.stringify(other),
    );

    // One refusal line per address a minute, not one per connection.
    const lines = logs.lines.filter((l) => l.includes('smtp connections refused: 127.0.0.2 already holds 3'));
    assert.equal(lines.length, 1, logs.text());
    assert.match(lines[0] ?? '', /winpop set smtpperaddress N/);

    // A freed slot is usable again.
    await release(mine.slice(0, 1));
    await eventually(async () => {
      const again = await openFrom(port, '127.0.0.2');
      held.push(again.socket);
      return again.greeting.startsWith('220 ');
    }, 'a connection from 127.0.0.2 to be greeted after one of its three closed');
    await release(held.splice(0));
  });

  it('the connection over the total cap gets 421 4.3.2, whatever its address', async (t) => {
    if (!(await loopbackAliases(t))) return;
    await holdFrom('127.0.0.2', 3);
    await holdFrom('127.0.0.3', 2);
    const refused = await dialogue(port, '127.0.0.4', []);
    assert.deepEqual(refused.refused, { code: 421, text: `4.3.2 ${HOST} Too many connections to this server; try again later` });
    assert.match(logs.text(), /smtp connections refused: 5 are open, the most the server takes \(winpop set smtpmax N raises it\)/);
    await release(held.splice(0));
  });

  it('a changed cap applies to the next connection without a restart', async (t) => {
    if (!(await loopbackAliases(t))) return;
    await holdFrom('127.0.0.2', 3);
    assert.match((await openFrom(port, '127.0.0.2')).greeting, /^421 4\.7\.0 /);
    settings.smtpConnectionsPerAddress = 4;
    await holdFrom('127.0.0.2', 1);
    await holdFrom('127.0.0.3', 1);
    // Five open now: the total cap (5) is reached; raising it lets one more in.
    assert.match((await openFrom(port, '127.0.0.4')).greeting, /^421 4\.3\.2 /);
    settings.smtpMaxConnections = 6;
    await holdFrom('127.0.0.4', 1);
    await release(held.splice(0));
  });
});

describe('the unknown-recipient throttle', () => {
  it('answers three unknown recipients at once, then waits 1 s, doubling to 15 s; the 20th on a connection closes it', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 19].map((n) => unknownRecipientDelayMs(n)),
      [0, 0, 0, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000],
    );
    const throttle = new RecipientThrottle();
    const verdicts = Array.from({ length: 20 }, () => throttle.unknown('192.0.2.1', 'c1'));
    assert.deepEqual(
      verdicts.map((v) => v.close),
      [...new Array<boolean>(19).fill(false), true],
    );
    assert.equal(DEFAULT_RECIPIENT_THROTTLE.hardLimit, 20);
  });

  it('remembers an address across connections, forgets it when quiet, clears it on delivery, and stays bounded', () => {
    let now = 1_000_000;
    const throttle = new RecipientThrottle({ forgetAfterMs: 60_000, maxEntries: 100 }, () => now);
    for (let i = 0; i < 5; i++) throttle.unknown('192.0.2.1', 'c1');
    throttle.closed('c1');
    // A new connection from the same address starts where the last one stopped; another address does not.
    assert.equal(throttle.unknown('192.0.2.1', 'c2').delayMs, 4000);
    assert.equal(throttle.unknown('192.0.2.9', 'c3').delayMs, 0);
    // A delivered message clears the connection's and the address's counts.
    throttle.delivered('192.0.2.1', 'c2');
    assert.equal(throttle.unknown('192.0.2.1', 'c2').unknowns, 1);
    // Quiet for longer than forgetAfterMs: forgotten.
    for (let i = 0; i < 5; i++) throttle.unknown('192.0.2.1', 'c4');
    throttle.closed('c4');
    now += 61_000;
    assert.equal(throttle.unknown('192.0.2.1', 'c5').unknowns, 1);
    // Many addresses: bounded, and the busiest one (touched last) is kept.
    for (let i = 0; i < 10_000; i++) {
      throttle.unknown(`10.${i >> 8}.${i & 255}.1`, `f${i}`);
      throttle.closed(`f${i}`);
      throttle.unknown('192.0.2.66', 'flood');
    }
    assert.ok(throttle.size <= 100, `size ${throttle.size}`);
    assert.equal(throttle.unknown('192.0.2.66', 'fresh').delayMs, 15_000);
  });

  it('counts IPv4-mapped IPv6 as IPv4 and IPv6 by its /64', () => {
    assert.equal(clientAddressKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(clientAddressKey('192.0.2.7'), '192.0.2.7');
    assert.equal(clientAddressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(clientAddressKey('2001:DB8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(clientAddressKey('2001:db8:1:3::1'), '2001:db8:1:3::/64');
    assert.equal(clientAddressKey('fe80::1%eth0'), 'fe80::/64');
    assert.equal(clientAddressKey('64:ff9b::192.0.2.1'), '64:ff9b::/64');
    const slots = new ConnectionSlots();
    const limits = { total: 10, perAddress: 2 };
    assert.equal(slots.take(clientAddressKey('2001:db8:1:2::1'), limits), 'ok');
    assert.equal(slots.take(clientAddressKey('2001:db8:1:2::2'), limits), 'ok');
    assert.equal(slots.take(clientAddressKey('2001:db8:1:2::3'), limits), 'address');
    assert.equal(slots.take(clientAddressKey('2001:db8:1:9::3'), limits), 'ok');
  });

  it('lets a refusal log line through once per key a minute', () => {
    let now = 0;
    const once = new LogOnce(60_000, 10, () => now);
    assert.deepEqual([once.due('a'), once.due('a'), once.due('b')], [true, false, true]);
    now += 59_000;
    assert.equal(once.due('a'), false);
    now += 2000;
    assert.equal(once.due('a'), true);
  });

  describe('through the listener, with its real schedule', () => {
    let smtp: SmtpListener;
    let port: number;
    before(async () => {
      smtp = createSmtpListener({ store, log: capturingLogger().log, settings: () => defaultSettings(), hostname: HOST });
      ({ port } = await smtp.listen(0, '127.0.0.1'));
    });
    after(async () => {
      await smtp?.close();
    });

    it('the 4th unknown recipient in a row waits at least 1 s and the 5th at least 2 s; a real one is still accepted', async (t) => {
      if (!(await loopbackAliases(t))) return;
      const { outcomes } = await dialogue(port, '127.0.0.7', [['mail', 'sender@remote.test'], ...unknown(5), ['rcpt', MAILBOX]]);
      const answers = outcomes.slice(1);
      assert.deepEqual(
        answers.map((o) => `${o.code} ${o.text?.slice(0, 5)}`),
        [...new Array<string>(5).fill('550 5.1.1'), '250 Accep'],
        JSON.stringify(outcomes),
      );
      // Lower bounds only: nothing here asserts that anything is fast.
      assert.ok((answers[3]?.seconds ?? 0) >= 0.9, `4th unknown answered after ${answers[3]?.seconds} s`);
      assert.ok((answers[4]?.seconds ?? 0) >= 1.9, `5th unknown answered after ${answers[4]?.seconds} s`);
    });
  });

  describe('through the listener, with short delays', () => {
    // Two answered at once, then 300 ms doubling to 600 ms; the 5th on a connection closes it.
    const SHORT = { softLimit: 2, baseMs: 300, capMs: 600, hardLimit: 5 };
    const logs = capturingLogger();
    let smtp: SmtpListener;
    let port: number;
    before(async () => {
      smtp = createSmtpListener({ store, log: logs.log, settings: () => defaultSettings(), hostname: HOST, recipientThrottle: SHORT });
      ({ port } = await smtp.listen(0, '127.0.0.1'));
    });
    after(async () => {
      await smtp?.close();
    });

    it('closes the connection with 421 4.7.0 at the hard limit', async (t) => {
      if (!(await loopbackAliases(t))) return;
      const { outcomes } = await dialogue(port, '127.0.0.8', [['mail', 'sender@remote.test'], ...unknown(5), ['noop']]);
      const answers = outcomes.slice(1);
      assert.deepEqual(
        answers.slice(0, 4).map((o) => `${o.code} ${o.text?.slice(0, 5)}`),
        new Array<string>(4).fill('550 5.1.1'),
        JSON.stringify(outcomes),
      );
      assert.ok((answers[2]?.seconds ?? 0) >= 0.27, `3rd unknown answered after ${answers[2]?.seconds} s`);
      assert.equal(answers[4]?.code, 421);
      assert.equal(answers[4]?.text, `4.7.0 ${HOST} Too many unknown recipients; closing the connection, try again later`);
      assert.equal(answers[5]?.closed, true, 'the connection is closed after the 421');
      assert.match(logs.text(), /smtp connection closed: too many unknown recipients.* remote=127\.0\.0\.8/);
    });

    it('a new connection from that address is slowed at once, still delivers to a real mailbox, and the delivery clears the count', async (t) => {
      if (!(await loopbackAliases(t))) return;
      const source = '127.0.0.9';
      const first = await dialogue(port, source, [['mail', 'sender@remote.test'], ...unknown(5)]);
      assert.equal(first.outcomes.at(-1)?.code, 421, JSON.stringify(first));

      const before = (await store.openMaildrop(MAILBOX)).messages.length;
      const { outcomes } = await dialogue(port, source, [
        ['mail', 'sender@remote.test'],
        ['rcpt', 'nobody-again@example.com'],
        ['rcpt', MAILBOX],
        ['data', message('after the throttle')],
        // Without the reset, the 4th of these would be this connection's 5th unknown and get 421.
        ['mail', 'sender@remote.test'],
        ...unknown(4),
      ]);
      assert.deepEqual(
        outcomes.map((o) => o.code),
        [250, 550, 250, 250, 250, 550, 550, 550, 550],
        JSON.stringify(outcomes),
      );
      // The address's count carried over: its first unknown on the new connection already waits the cap.
      assert.ok((outcomes[1]?.seconds ?? 0) >= 0.54, `first unknown on the new connection answered after ${outcomes[1]?.seconds} s`);
      assert.equal((await store.openMaildrop(MAILBOX)).messages.length, before + 1);
    });
  });
});
