/**
 * Workload 5: SMTP delivery with fsync on, 8 concurrent senders, messages/s.
 * Side by side: Dovecot's LMTP (the same work: receive, write, fsync, make
 * visible in the Maildir) into the same Maildirs.
 *
 *   node dist/bench/smtp-delivery.js [--rounds 5] [--per-sender 100] [--kib 4]
 *
 * Each sender keeps one connection and sends one transaction after another
 * (MAIL, RCPT, DATA, message, ".", each reply awaited) to its own mailbox.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { makeMessage } from './lib/fixture.js';
import { closedLoop, type LoadRun } from './lib/load.js';
import { setupPair } from './lib/pair.js';
import { saveResult } from './lib/results.js';
import { dotStuff, SmtpSender } from './lib/smtp-client.js';
import { median, options, runMain } from './lib/util.js';

const SENDERS = 8;
const DOMAIN = 'smtp.bench.test';

async function countMessages(mailroot: string, users: readonly { address: string }[]): Promise<number> {
  let n = 0;
  for (const u of users) {
    const [name] = u.address.split('@');
    for (const sub of ['new', 'cur']) n += (await fsp.readdir(path.join(mailroot, DOMAIN, name ?? '', sub)).catch(() => [])).length;
  }
  return n;
}

async function main(): Promise<void> {
  const started = Date.now();
  const opt = options();
  const rounds = opt.num('rounds', 5);
  const perSender = opt.num('per-sender', 100);
  const kib = opt.num('kib', 4);
  const body = dotStuff(makeMessage(7, kib * 1024));
  const pair = await setupPair({ lmtp: true, groups: [{ domain: DOMAIN, prefix: 'rcpt', count: SENDERS, light: true }] });
  const users = pair.groups.get('rcpt') ?? [];
  const lmtpPort = pair.dovecot.lmtpPort;
  if (lmtpPort === null) throw new Error('Dovecot LMTP did not start');

  const run = async (port: number, lmtp: boolean, cpu: () => number): Promise<LoadRun> => {
    const senders = await Promise.all(users.map(() => SmtpSender.open(port, lmtp)));
    try {
      return await closedLoop(
        SENDERS,
        perSender,
        async (client) => {
          const sender = senders[client];
          const to = users[client]?.address;
          if (!sender || !to) throw new Error('no sender');
          await sender.send('load@bench.client.test', to, body);
        },
        cpu,
      );
    } finally {
      await Promise.all(senders.map((s) => s.quit()));
    }
  };

  // Warm-up: connections, JIT, Dovecot's first index files.
  await run(pair.ours.smtpPort, false, pair.oursCpu);
  await run(lmtpPort, true, pair.dovecotCpu);
  const ours: LoadRun[] = [];
  const dovecot: LoadRun[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['ours', 'dovecot'] as const) : (['dovecot', 'ours'] as const);
    for (const side of order) {
      const result = side === 'ours' ? await run(pair.ours.smtpPort, false, pair.oursCpu) : await run(lmtpPort, true, pair.dovecotCpu);
      if (result.errors.length > 0) throw new Error(`${side}: ${result.errors.length} deliveries failed, first: ${result.errors[0]}`);
      (side === 'ours' ? ours : dovecot).push(result);
    }
    console.log(
      `round ${r + 1}: ours SMTP ${ours[r]?.perSecond.toFixed(0)}/s (CPU ${ours[r]?.serverCpu.toFixed(2)} s, other work ${ours[r]?.otherCpu.toFixed(1)} s), Dovecot LMTP ${dovecot[r]?.perSecond.toFixed(0)}/s (CPU ${dovecot[r]?.serverCpu.toFixed(2)} s, other work ${dovecot[r]?.otherCpu.toFixed(1)} s)`,
    );
  }
  const expected = (rounds + 1) * 2 * SENDERS * perSender;
  const stored = await countMessages(pair.mailroot, users);
  if (stored !== expected) throw new Error(`${stored} messages in the Maildirs, expected ${expected}`);

  const o = median(ours.map((r) => r.perSecond));
  const d = median(dovecot.map((r) => r.perSecond));
  const ratio = median(ours.map((r, i) => r.perSecond / (dovecot[i]?.perSecond ?? Number.NaN)));
  const cpuMs = (runs: LoadRun[]): string => median(runs.map((r) => (r.serverCpu / r.jobs) * 1000)).toFixed(2);
  await saveResult(
    {
      name: 'smtp-delivery',
      title: `SMTP delivery, fsync on, ${SENDERS} senders, ${kib} KiB messages`,
      command: `node dist/bench/smtp-delivery.js --rounds ${rounds} --per-sender ${perSender} --kib ${kib}`,
      table: [
        ['ours SMTP msg/s', 'Dovecot LMTP msg/s', 'ours ÷ Dovecot', 'ours CPU ms/msg', 'Dovecot CPU ms/msg'],
        [o.toFixed(0), d.toFixed(0), ratio.toFixed(2), cpuMs(ours), cpuMs(dovecot)],
      ],
      targets: [{ what: 'SMTP delivery, fsync on, 8 senders', target: '≥ 500 msg/s', value: `${o.toFixed(0)} msg/s`, met: o >= 500 }],
      notes: [
        `Medians over ${rounds} rounds of ${SENDERS}×${perSender} messages per side, alternating which goes first; every delivery checked (250 reply; ${stored} files in the Maildirs at the end, as expected).`,
        'Ours: pop3svc\'s SMTP listener, fsync on (the default): file and new/ directory. Dovecot: LMTP (Dovecot has no SMTP server of its own), mail_fsync = optimized (its default: fsync of the mail file).',
        'The store is on ext4 (virtio disk); fsync cost depends on the disk.',
      ],
      raw: { ours, dovecot },
    },
    started,
  );
}

runMain('smtp-delivery', main, 3 * 60_000);
