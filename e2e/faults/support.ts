/**
 * Real faults for the fault tests: a small tmpfs as the mail root (so the
 * disk really fills up, or really becomes read-only), and an SMTP client that
 * reports the server's reply code instead of throwing.
 */

import { execFile } from 'node:child_process';
import { mkdtemp, rm, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { python } from '../helpers/python.js';

export interface Tmpfs {
  /** The mount point. */
  readonly dir: string;
  remountReadOnly(): Promise<void>;
  remountWritable(): Promise<void>;
  /** Unmounts (lazily, should something still be open) and removes the mount point. */
  cleanup(): Promise<void>;
}

function sh(command: string, args: readonly string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 20_000 }, (err, _stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stderr: String(stderr).trim() || (err ? err.message : '') });
    });
  });
}

/**
 * Mounts a tmpfs of `size` (e.g. "2m"), or says why it cannot: the tests
 * that need it then skip with that reason.
 */
export async function mountTmpfs(size: string): Promise<Tmpfs | { skip: string }> {
  if (process.platform !== 'linux') return { skip: `a tmpfs mount needs Linux; this is ${process.platform}` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { skip: 'mounting a tmpfs needs root; run the tests as root to include the disk-full and read-only faults' };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'winpop-tmpfs-'));
  const mounted = await sh('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  if (mounted.code !== 0) {
    await rm(dir, { recursive: true, force: true });
    return { skip: `cannot mount a tmpfs here (${mounted.stderr}); the disk-full and read-only faults need one` };
  }
  const remount = async (mode: 'ro' | 'rw'): Promise<void> => {
    const r = await sh('mount', ['-o', `remount,${mode}`, dir]);
    if (r.code !== 0) throw new Error(`mount -o remount,${mode} ${dir} failed: ${r.stderr}`);
  };
  return {
    dir,
    remountReadOnly: () => remount('ro'),
    remountWritable: () => remount('rw'),
    async cleanup() {
      await sh('umount', ['-l', dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface SmtpOutcome {
  /** The reply code of the stage that failed, or 250 when the message was accepted. */
  readonly code: number;
  readonly text: string;
  readonly stage: 'rcpt' | 'data' | 'done' | 'connect';
}

/** Sends one message with Python's smtplib and reports how the server answered. */
export async function smtpTry(port: number, to: string, message: string): Promise<SmtpOutcome> {
  const [out] = await python<SmtpOutcome>(
    `
import smtplib
try:
    with smtplib.SMTP('127.0.0.1', ARGS['port'], timeout=20) as s:
        s.ehlo('faults.test')
        code, text = s.mail('sender@remote.example')
        code, text = s.rcpt(ARGS['to'])
        if code >= 400:
            print(json.dumps({'code': code, 'text': text.decode(), 'stage': 'rcpt'}))
            sys.exit(0)
        code, text = s.data(ARGS['message'].encode('latin-1'))
        print(json.dumps({'code': code, 'text': text.decode(), 'stage': 'done' if code == 250 else 'data'}))
except (OSError, smtplib.SMTPException) as e:
    print(json.dumps({'code': 0, 'text': str(e), 'stage': 'connect'}))
`,
    { port, to, message },
  );
  if (!out) throw new Error('smtplib printed nothing');
  return out;
}

/** Every file under `dir`, as paths relative to it. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const p = path.join(rel, entry.name);
      if (entry.isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  await walk('');
  return out.sort();
}

/** Leftovers a failed write must not leave: temp files, files in tmp/, expunge records. */
export async function leftovers(mailroot: string): Promise<string[]> {
  return (await filesUnder(mailroot)).filter((f) => /(^|\/)\.tmp-|\/tmp\/[^/]+$|\.winpop-expunge|\.staging-/.test(f));
}

/** Message files of a mailbox (new/ and cur/), by their Subject lines. */
export async function subjectsIn(mailroot: string, address: string): Promise<string[]> {
  const [mailbox, domain] = address.split('@') as [string, string];
  const subjects: string[] = [];
  for (const sub of ['new', 'cur']) {
    const dir = path.join(mailroot, domain, mailbox, sub);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const text = await readFile(path.join(dir, name), 'latin1');
      subjects.push(/^Subject: (.*)$/m.exec(text)?.[1] ?? '?');
    }
  }
  return subjects.sort();
}
