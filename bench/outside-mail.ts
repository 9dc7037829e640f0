/**
 * Workload 9: a mailbox of 20,000 messages written by another program, as
 * an MTA delivering straight into Maildir leaves them: names without our
 * `,S=`/`,W=`, LF line ends (a quarter CRLF, every tenth without a final
 * line end), a fifth already in cur/ with `:2,S`. Log-in time, ours ÷
 * Dovecot, on identical files.
 *
 *   node dist/bench/outside-mail.js [--messages 20000] [--rounds 7] [--first-rounds 3] [--added 100] [--cpu-prof DIR]
 *
 * Each side has its own copies of the same files (Dovecot moves new/ to
 * cur/ on its first log-in, and builds its index files; our service writes
 * its size cache): `reader<2k>` for ours, `reader<2k+1>` for Dovecot, a
 * fresh pair for each first log-in. Timed: connect to the STAT reply
 * (greeting, USER, PASS, STAT), where both servers look at the whole
 * maildrop; then UIDL and LIST, checked for the message count. Rows: the
 * first log-in (nothing cached), repeat log-ins, the first log-in after each
 * arrival of `--added` more outside messages and a repeat after it, and ours
 * after a restart. Our own 20,000 messages (names with S= and W=) in the
 * last mailbox are the reference.
 * Both sides get a light password hash, so the figures are about the
 * maildrop, not the password check.
 */

import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { NOBODY_GID, NOBODY_UID, type BenchUser } from './lib/fixture.js';
import { startOurs } from './lib/ours.js';
import { setupPair } from './lib/pair.js';
import { Pop3Client } from './lib/pop3-client.js';
import { saveResult } from './lib/results.js';
import { median, options, runMain } from './lib/util.js';

const DOMAIN = 'outside.bench.test';

interface OutsideMessage {
  /** `new/<name>` or `cur/<name>:2,S`. */
  readonly file: string;
  readonly body: Buffer;
}

/** The i-th message as another program writes it; sizes 1–16 KiB, deterministic. */
function outsideMessage(i: number, total: number): OutsideMessage {
  const crlf = i % 4 === 3;
  const eol = crlf ? '\r\n' : '\n';
  const target = 1024 + Math.floor(((i * 7919) % total) / total * 15 * 1024);
  const lines = [`From: sender${i}@elsewhere.test`, `To: reader@${DOMAIN}`, `Subject: outside message ${i}`, `Message-ID: <${i}@elsewhere.test>`, ''];
  let size = lines.join(eol).length;
  for (let n = 0; size < target; n++) {
    const line = `${n % 40 === 39 ? '.' : ''}${n} a line of another program's message, written straight into the Maildir`;
    lines.push(line);
    size += line.length + eol.length;
  }
  let text = lines.join(eol);
  if (i % 10 !== 9) text += eol;
  const unique = `${1_764_000_000 + Math.floor(i / 50)}.P4242Q${i}.otherhost`;
  return { file: i % 5 === 4 ? `cur/${unique}:2,S` : `new/${unique}`, body: Buffer.from(text, 'latin1') };
}

/** The same message as our store writes it: LF on disk, S= and W= in the name, in new/. */
function ownFile(i: number, m: OutsideMessage): { file: string; body: Buffer } {
  let lf = m.body.toString('latin1').replace(/\r\n/g, '\n');
  const ends = lf.endsWith('\n');
  if (!ends) lf += '\n';
  const lines = lf.split('\n').length - 1;
  const body = Buffer.from(lf, 'latin1');
  return { file: `new/${1_764_000_000 + Math.floor(i / 50)}.M${String(i).padStart(6, '0')}P4242Q${i}R0.ourhost,S=${body.length},W=${body.length + lines}`, body };
}

async function writeMessages(box: string, files: readonly { file: string; body: Buffer }[]): Promise<void> {
  for (let at = 0; at < files.length; at += 200) {
    await Promise.all(files.slice(at, at + 200).map((f) => fsp.writeFile(path.join(box, f.file), f.body)));
  }
}

interface Timing {
  /** Connect to STAT reply. */
  readonly loginMs: number;
  /** UIDL and LIST after it. */
  readonly listMs: number;
  readonly messages: number;
  readonly octets: number;
}

async function session(port: number, address: string, password: string): Promise<Timing> {
  const t0 = performance.now();
  const { client } = await Pop3Client.connect(port);
  try {
    for (const line of [`USER ${address}`, `PASS ${password}`]) {
      const reply = await client.command(line);
      if (!reply.startsWith('+OK')) throw new Error(`${line.split(' ')[0]}: ${reply}`);
    }
    const stat = await client.command('STAT');
    const loginMs = performance.now() - t0;
    const m = /^\+OK (\d+) (\d+)/.exec(stat);
    if (!m) throw new Error(`STAT: ${stat}`);
    const t1 = performance.now();
    const uidl = await client.multi('UIDL', true);
    const list = await client.multi('LIST', true);
    const listMs = performance.now() - t1;
    const count = (text: string | undefined): number => (text ?? '').split('\r\n').filter((l) => /^\d+ /.test(l)).length;
    if (count(uidl.text) !== Number(m[1]) || count(list.text) !== Number(m[1])) throw new Error(`UIDL/LIST do not list ${m[1]} messages`);
    await client.quit();
    return { loginMs, listMs, messages: Number(m[1]), octets: Number(m[2]) };
  } finally {
    client.destroy();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const opt = options();
  const count = opt.num('messages', 20_000);
  const rounds = opt.num('rounds', 7);
  const added = opt.num('added', 100);
  // --cpu-prof DIR: profile pop3svc (written when it stops).
  const profDir = opt.get('cpu-prof');
  const firstRounds = opt.num('first-rounds', 3);
  // Each first log-in needs a mailbox nobody has opened: reader<2k> for ours, reader<2k+1> for Dovecot; the last one holds our own mail.
  const pair = await setupPair({
    groups: [{ domain: DOMAIN, prefix: 'reader', count: 2 * firstRounds + 1, light: true }],
    ...(profDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] } : {}),
  });
  const users = pair.groups.get('reader') ?? [];
  const own = users[2 * firstRounds];
  if (!own) throw new Error('no users');
  const user = (i: number): BenchUser => users[i] as BenchUser;
  const boxOf = (address: string): string => path.join(pair.mailroot, DOMAIN, address.split('@')[0] as string);

  const t0 = Date.now();
  const messages = Array.from({ length: count }, (_, i) => outsideMessage(i, count));
  for (let i = 0; i < 2 * firstRounds; i++) await writeMessages(boxOf(user(i).address), messages);
  await writeMessages(boxOf(own.address), messages.map((m, i) => ownFile(i, m)));
  const chown = (): void => {
    execFileSync('chown', ['-R', `${NOBODY_UID}:${NOBODY_GID}`, path.join(pair.mailroot, DOMAIN)]);
  };
  chown();
  console.log(`wrote ${count} outside messages into ${2 * firstRounds} mailboxes, and ${count} of our own, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const side = {
    ours: (k = 0): Promise<Timing> => session(pair.ours.pop3Port, user(2 * k).address, user(2 * k).password),
    dovecot: (k = 0): Promise<Timing> => session(pair.dovecot.pop3Port, user(2 * k + 1).address, user(2 * k + 1).password),
  };
  const rows: string[][] = [['log-in', 'ours ms (connect to STAT)', 'Dovecot ms', 'ours ÷ Dovecot (time)', 'ours UIDL+LIST ms', 'Dovecot UIDL+LIST ms']];
  const raw: Record<string, unknown> = {};
  const row = (label: string, o: Timing[], d: Timing[]): number => {
    const om = median(o.map((t) => t.loginMs));
    const dm = median(d.map((t) => t.loginMs));
    rows.push([label, om.toFixed(0), dm.toFixed(0), (om / dm).toFixed(2), median(o.map((t) => t.listMs)).toFixed(0), median(d.map((t) => t.listMs)).toFixed(0)]);
    raw[label] = { ours: o, dovecot: d };
    console.log(`${label}: ours ${om.toFixed(0)} ms, Dovecot ${dm.toFixed(0)} ms`);
    return om / dm;
  };
  const check = (o: Timing, d: Timing, expected: number): void => {
    if (o.messages !== expected || d.messages !== expected) throw new Error(`STAT: ours ${o.messages}, Dovecot ${d.messages}, expected ${expected}`);
  };
  /** One log-in on each side, alternating which goes first. */
  const both = async (r: number, expected: number, k = 0): Promise<{ o: Timing; d: Timing }> => {
    const got: { o?: Timing; d?: Timing } = {};
    for (const s of r % 2 === 0 ? (['ours', 'dovecot'] as const) : (['dovecot', 'ours'] as const)) {
      if (s === 'ours') got.o = await side.ours(k);
      else got.d = await side.dovecot(k);
    }
    const { o, d } = got as { o: Timing; d: Timing };
    check(o, d, expected);
    return { o, d };
  };
  const repeat = async (expected: number): Promise<{ o: Timing[]; d: Timing[] }> => {
    const o: Timing[] = [];
    const d: Timing[] = [];
    for (let r = 0; r < rounds; r++) {
      const one = await both(r, expected);
      o.push(one.o);
      d.push(one.d);
    }
    return { o, d };
  };

  // First log-in: nothing cached on either side (Dovecot has no index yet, we have no size cache); a fresh pair of mailboxes each round.
  const first = { o: [] as Timing[], d: [] as Timing[] };
  for (let k = 0; k < firstRounds; k++) {
    const one = await both(k, count, k);
    first.o.push(one.o);
    first.d.push(one.d);
  }
  const [firstOurs, firstDove] = [first.o[0] as Timing, first.d[0] as Timing];
  const octetNote = firstOurs.octets === firstDove.octets
    ? `STAT octets agree: ${firstOurs.octets}.`
    : `STAT octets differ: ours ${firstOurs.octets}, Dovecot ${firstDove.octets} (ours counts the CRLF it sends after a last line without a line end, RFC 1939).`;
  const firstRatio = row('first (nothing cached)', first.o, first.d);

  const again = await repeat(count);
  const repeatRatio = row('repeat', again.o, again.d);

  // New mail, a little at a time: the first log-in after each arrival, then a repeat.
  const afterFirst = { o: [] as Timing[], d: [] as Timing[] };
  const afterRepeat = { o: [] as Timing[], d: [] as Timing[] };
  let total = count;
  for (let r = 0; r < rounds; r++) {
    const more = Array.from({ length: added }, (_, i) => outsideMessage(total + i, total + added));
    total += added;
    await writeMessages(boxOf(user(0).address), more);
    await writeMessages(boxOf(user(1).address), more);
    chown();
    const f = await both(r, total);
    afterFirst.o.push(f.o);
    afterFirst.d.push(f.d);
    const a = await both(r + 1, total);
    afterRepeat.o.push(a.o);
    afterRepeat.d.push(a.d);
  }
  const afterRatio = row(`first after ${added} more arrived`, afterFirst.o, afterFirst.d);
  row(`repeat after ${added} more`, afterRepeat.o, afterRepeat.d);

  // A restart: the size cache is on disk, the service's memory is new.
  await pair.ours.stop();
  const restarted = await startOurs({ mailroot: pair.mailroot });
  const afterRestart: Timing[] = [];
  for (let r = 0; r < Math.min(rounds, 3); r++) afterRestart.push(await session(restarted.pop3Port, user(0).address, user(0).password));
  const restartMs = median(afterRestart.map((t) => t.loginMs));
  rows.push(['ours after a restart (size cache on disk)', restartMs.toFixed(0), '', '', median(afterRestart.map((t) => t.listMs)).toFixed(0), '']);
  const ownRuns: Timing[] = [];
  for (let r = 0; r < rounds; r++) ownRuns.push(await session(restarted.pop3Port, own.address, own.password));
  rows.push([`ours, the same ${count} messages delivered by our store (S=, W= in the names), repeat`, median(ownRuns.map((t) => t.loginMs)).toFixed(0), '', '', median(ownRuns.map((t) => t.listMs)).toFixed(0), '']);
  raw.afterRestart = afterRestart;
  raw.own = ownRuns;
  await restarted.stop();

  await saveResult(
    {
      name: 'outside-mail',
      title: `Log-in to a mailbox of ${count} messages written by another program`,
      command: `node dist/bench/outside-mail.js --messages ${count} --rounds ${rounds} --first-rounds ${firstRounds} --added ${added}`,
      table: rows,
      targets: [
        { what: `log-in to ${count} outside-written messages, repeat: time ours ÷ Dovecot`, target: '≤ 1', value: repeatRatio.toFixed(2), met: repeatRatio <= 1 },
        { what: `log-in to ${count} outside-written messages, first: time ours ÷ Dovecot`, target: '≤ 1', value: firstRatio.toFixed(2), met: firstRatio <= 1 },
        { what: `log-in to ${count} outside-written messages, first after ${added} more arrived: time ours ÷ Dovecot`, target: '≤ 1', value: afterRatio.toFixed(2), met: afterRatio <= 1 },
      ],
      notes: [
        `Messages 1–16 KiB, names \`<secs>.P4242Q<n>.otherhost\` (no S=, no W=): three quarters LF, a quarter CRLF, every tenth without a final line end, every fifth in cur/ with \`:2,S\`; each server reads its own copy of the same files (warm page cache).`,
        `Timed from connect to the STAT reply (greeting, USER, PASS, STAT); UIDL and LIST after it, both checked for the message count. Medians of ${rounds} rounds (first log-ins: ${firstRounds}, each on mailboxes nobody opened), alternating which server goes first; after each arrival of ${added} more messages, the first log-in and one repeat.`,
        'Light password hashes on both sides (scrypt ln=4; Argon2id 16 KiB, t=1), so the figures are the maildrop, not the password check.',
        'Dovecot as in the other benchmarks (dovecot.ts), `pop3_no_flag_updates = yes`; its first log-in builds its index files and moves new/ to cur/.',
        octetNote,
      ],
      raw,
    },
    started,
  );
}

runMain('outside-mail', main, 8 * 60_000);
