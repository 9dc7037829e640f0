/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with
 * the most self time, self time by file, and total (inclusive) time of the
 * project's own functions.
 *
 *   node dist/bench/cpuprofile-top.js FILE.cpuprofile [--top 25]
 *
 * To profile pop3svc under load: any POP3 benchmark with `--cpu-prof DIR`
 * (the profile is written when the service stops), e.g.
 *   node dist/bench/pop3-sessions.js --rounds 10 --argon-rounds 0 --clients 16 --only ours --cpu-prof DIR
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { options } from './lib/util.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url ? path.basename(url.replace(/^file:\/\//, '')) : '';
  return `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
}

function fileOf(node: ProfileNode): string {
  const url = node.callFrame.url;
  if (!url) return node.callFrame.functionName.startsWith('(') ? node.callFrame.functionName : '(native)';
  const m = /\/dist\/(.*)$/.exec(url) ?? /node_modules\/(.*)$/.exec(url);
  return m ? (m[0].startsWith('/dist') ? m[1] ?? url : `node_modules/${m[1]}`) : url.replace(/^file:\/\//, '');
}

function main(): void {
  const opt = options();
  const file = process.argv[2];
  if (!file || file.startsWith('--')) {
    console.error('usage: node dist/bench/cpuprofile-top.js FILE.cpuprofile [--top 25]');
    process.exitCode = 2;
    return;
  }
  const top = opt.num('top', 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const pct = (t: number): string => `${((t / busy) * 100).toFixed(1).padStart(5)}%`;
  const ms = (t: number): string => `${(t / 1000).toFixed(0).padStart(6)} ms`;
  console.log(`${file}\nsampled ${ms(total)}, idle ${ms(idle)}, busy ${ms(busy)} (percentages are of busy time)\n`);

  const bySelf = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id);
    if (!n || n.callFrame.functionName === '(idle)') continue;
    bySelf.set(label(n), (bySelf.get(label(n)) ?? 0) + t);
    byFile.set(fileOf(n), (byFile.get(fileOf(n)) ?? 0) + t);
  }
  console.log('top self time:');
  for (const [name, t] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)} ${pct(t)}  ${name}`);
  console.log('\nself time by file:');
  for (const [name, t] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)} ${pct(t)}  ${name}`);

  // Inclusive time of the project's own functions (each sample counted once per function on its stack).
  const inclusive = new Map<string, number>();
  for (const [id, t] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n || !/\/dist\/(electron|shared)\//.test(n.callFrame.url)) continue;
      const name = label(n);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + t);
    }
  }
  console.log('\nproject functions, total time (self + callees):');
  for (const [name, t] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)} ${pct(t)}  ${name}`);
}

main();
