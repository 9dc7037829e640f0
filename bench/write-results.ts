/**
 * Rebuilds the measured part of bench/RESULTS.md from the last saved run of
 * each benchmark (bench/results/<name>.json). Text outside the generated
 * block (findings, profiles, proposals) is kept as it is.
 *
 *   node dist/bench/write-results.js
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { RESULTS_DIR, type BenchResult } from './lib/results.js';
import { REPO_ROOT } from './lib/util.js';

const FILE = path.join(REPO_ROOT, 'bench', 'RESULTS.md');
const BEGIN = '<!-- generated:begin (node dist/bench/write-results.js rewrites this block) -->';
const END = '<!-- generated:end -->';
const ORDER = ['pop3-sessions', 'retr-large', 'lock-latency', 'lock-login-race', 'smtp-delivery', 'idle-connections', 'login-flood', 'big-domain-list', 'startup', 'outside-mail', 'console-scale', 'console-live-updates'];

const cell = (text: string): string => text.replace(/\|/g, '\\|');

function table(rows: readonly (readonly string[])[]): string {
  const [head, ...body] = rows;
  if (!head) return '';
  return [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** The benchmarks that carry issue 13's targets against Dovecot tuned. */
const ANCHOR_BENCHES = ['pop3-sessions', 'retr-large', 'lock-latency'];

/**
 * RESULTS.md's first table: issue 13's targets, ours against Dovecot tuned
 * as the issue's anchor states, each marked met or not as measured.
 */
function anchorTable(results: readonly BenchResult[]): string[] {
  const rows: string[][] = [['benchmark', 'figure', 'target', 'ours', 'Dovecot tuned', 'ours ÷ Dovecot', 'met']];
  for (const name of ANCHOR_BENCHES) {
    const r = results.find((x) => x.name === name);
    const anchored = r?.targets.filter((t) => t.anchor === true) ?? [];
    if (anchored.length === 0) {
      rows.push([name, 'not measured against Dovecot tuned yet', '', '', '', '', '**not measured**']);
      continue;
    }
    for (const t of anchored) rows.push([name, t.what, t.target, t.ours ?? '', t.dovecot ?? '', t.dovecot === 'no lock' ? '' : t.value, t.met ? 'met' : '**not met**']);
  }
  const dates = ANCHOR_BENCHES.map((n) => results.find((x) => x.name === n)?.date.slice(0, 16)).filter((d) => d !== undefined);
  return [
    '## Issue 13: ours against Dovecot tuned',
    'Dovecot 2.3 from Debian as issue 13\'s anchor states: pop3-login `service_count = 0`, `process_min_avail = 2`; pop3 `service_count = 100`, `process_min_avail = 4`; SHA512-CRYPT passwords; auth cache on; `pop3_uidl_format = %f`; fsync defaults (bench/lib/dovecot.ts). Same mail files, same client, one server at a time, alternating. ' +
      'Medians; ratios ours ÷ Dovecot. **The load client runs on the same 2 CPUs as the server**: what it uses is not available to either server, so sessions/s is capped for both; CPU per session is the server\'s own cost. ' +
      `Measured with \`bash bench/run-all.sh pop3-sessions retr-large lock-latency\`${dates.length > 0 ? ` (${dates.sort()[0]} to ${dates.sort()[dates.length - 1]} UTC)` : ''}; details in the sections below.`,
    '',
    table(rows),
  ];
}

async function main(): Promise<void> {
  const files = (await fsp.readdir(RESULTS_DIR).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
  const results: BenchResult[] = [];
  for (const f of files) results.push(JSON.parse(await fsp.readFile(path.join(RESULTS_DIR, f), 'utf8')) as BenchResult);
  results.sort((a, b) => (ORDER.indexOf(a.name) + 100) % 100 - (ORDER.indexOf(b.name) + 100) % 100);
  if (results.length === 0) {
    console.log('no results in bench/results/ yet: run bash bench/run-all.sh');
    return;
  }
  const latest = results.reduce((a, b) => (a.date > b.date ? a : b));
  const m = latest.machine;
  const out: string[] = [];
  out.push(BEGIN);
  out.push(...anchorTable(results));
  out.push('');
  out.push('## Machine');
  out.push(
    `${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB memory, ${m.kernel}; Node ${m.node}; Dovecot ${m.dovecot ?? 'not installed'}. ` +
      'Load clients run on the same CPUs as the servers. The machine is shared with other work (test runs): each benchmark raises itself, ' +
      'pop3svc and Dovecot to nice -10 (and their autogroups, so both servers are scheduled alike); the CPU that other work still took during each run is in bench/results/*.json. Runs from ' +
      `${results.map((r) => r.date).sort()[0]?.slice(0, 16)} to ${latest.date.slice(0, 16)} UTC.`,
  );
  out.push('');
  out.push('## Targets');
  out.push(
    table([
      ['benchmark', 'figure', 'target', 'measured', 'met'],
      ...results.flatMap((r) => r.targets.filter((t) => t.anchor !== true).map((t) => [r.name, t.what, t.target, t.value, t.met ? 'yes' : '**no**'])),
    ]),
  );
  for (const r of results) {
    out.push('');
    out.push(`## ${r.title}`);
    out.push(`\`${r.command}\` — ${r.date.slice(0, 16)} UTC, ${r.seconds} s`);
    out.push('');
    // An empty row separates tables.
    const tables: string[][][] = [[]];
    for (const row of r.table) {
      if (row.length === 0) tables.push([]);
      else (tables[tables.length - 1] as string[][]).push([...row]);
    }
    out.push(tables.filter((t) => t.length > 0).map(table).join('\n\n'));
    out.push('');
    for (const n of r.notes) out.push(`- ${n}`);
  }
  out.push(END);
  const block = out.join('\n');

  const existing = await fsp.readFile(FILE, 'utf8').catch(() => null);
  let text: string;
  if (existing && existing.includes(BEGIN) && existing.includes(END)) {
    text = existing.slice(0, existing.indexOf(BEGIN)) + block + existing.slice(existing.indexOf(END) + END.length);
  } else {
    text = `# Benchmarks: our POP3 service and Dovecot\n\nRun all: \`bash bench/run-all.sh\` (builds, runs each benchmark, rewrites the block below). One: \`node dist/bench/<name>.js\`.\n\n${block}\n\n## Findings\n\n(none yet)\n`;
  }
  await fsp.writeFile(FILE, text);
  console.log(`wrote bench/RESULTS.md from ${results.length} results`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
