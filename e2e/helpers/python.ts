/**
 * Drives Python's real mail clients (poplib, smtplib) from a test.
 *
 * Each script prints one JSON line per result, so a test can assert on what
 * the client saw, byte for byte (bytes travel as latin-1 strings).
 */

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { run } from './processes.js';

/** Runs a Python script with JSON arguments in `ARGS`; resolves to its parsed JSON output lines. */
export async function python<T = unknown>(script: string, args: unknown, timeoutMs = 30_000): Promise<T[]> {
  const result = await run('python3', ['-c', `import json, sys\nARGS = json.loads(sys.argv[1])\n${script}`, JSON.stringify(args)], { timeoutMs });
  if (result.code !== 0) throw new Error(`python exited with ${result.code}:\n${result.stderr}\n${result.stdout}`);
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** Sends one message with smtplib; resolves to the refused recipients (empty when all accepted). */
export async function smtpSend(port: number, from: string, to: readonly string[], message: string): Promise<Record<string, [number, string]>> {
  const [out] = await python<{ refused?: Record<string, [number, string]>; error?: string; code?: number }>(
    `
import smtplib
try:
    with smtplib.SMTP('127.0.0.1', ARGS['port'], timeout=20) as s:
        refused = s.sendmail(ARGS['from'], ARGS['to'], ARGS['message'].encode('latin-1'))
    print(json.dumps({'refused': {k: [v[0], v[1].decode()] for k, v in refused.items()}}))
except smtplib.SMTPRecipientsRefused as e:
    print(json.dumps({'refused': {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}}))
except smtplib.SMTPResponseException as e:
    print(json.dumps({'error': e.smtp_error.decode(), 'code': e.smtp_code}))
`,
    { port, from, to, message },
  );
  if (!out || out.error) throw new Error(`SMTP refused the message: ${out?.code} ${out?.error}`);
  return out.refused ?? {};
}

export interface PopMailbox {
  readonly count: number;
  readonly size: number;
  readonly uidls: string[];
  readonly messages: string[];
}

/** Logs in with poplib and fetches everything; `error` holds the server's answer when log-in fails. */
export async function popFetchAll(port: number, user: string, password: string, options: { delete?: boolean } = {}): Promise<PopMailbox | { error: string }> {
  const [out] = await python<PopMailbox | { error: string }>(
    `
import poplib
p = poplib.POP3('127.0.0.1', ARGS['port'], timeout=20)
try:
    p.user(ARGS['user'])
    p.pass_(ARGS['password'])
except poplib.error_proto as e:
    print(json.dumps({'error': e.args[0].decode('latin-1')}))
    sys.exit(0)
count, size = p.stat()
uidls = [line.decode().split(' ', 1)[1] for line in p.uidl()[1]]
messages = [b'\\r\\n'.join(p.retr(i + 1)[1]).decode('latin-1') for i in range(count)]
if ARGS.get('delete'):
    for i in range(count):
        p.dele(i + 1)
p.quit()
print(json.dumps({'count': count, 'size': size, 'uidls': uidls, 'messages': messages}))
`,
    { port, user, password, delete: options.delete ?? false },
  );
  if (!out) throw new Error('poplib printed nothing');
  return out;
}

/**
 * A POP3 session held open by a live poplib client: it logs in, then waits for
 * commands on stdin ("noop", "dele N", "quit") and prints the outcome of each.
 */
export interface OpenSession {
  /** Resolves to the log-in outcome: "+OK …" or the server's error. */
  readonly loggedIn: Promise<string>;
  send(command: string): Promise<string>;
  close(): void;
}

export function openPopSession(port: number, user: string, password: string): OpenSession {
  const child: ChildProcessWithoutNullStreams = spawn('python3', [
    '-u',
    '-c',
    `
import json, poplib, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=20)
try:
    p.user(sys.argv[2])
    print(json.dumps(p.pass_(sys.argv[3]).decode('latin-1')))
except poplib.error_proto as e:
    print(json.dumps(e.args[0].decode('latin-1')))
    sys.exit(0)
for line in sys.stdin:
    cmd = line.split()
    try:
        if cmd[0] == 'noop':
            r = p.noop()
        elif cmd[0] == 'dele':
            r = p.dele(int(cmd[1]))
        elif cmd[0] == 'stat':
            r = ('+OK %d %d' % p.stat()).encode()
        elif cmd[0] == 'quit':
            r = p.quit()
        print(json.dumps(r.decode('latin-1')))
    except Exception as e:
        print(json.dumps('CLOSED ' + type(e).__name__ + ': ' + str(e)))
`,
    String(port),
    user,
    password,
  ]);
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, nl)) as string;
      buffer = buffer.slice(nl + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  const next = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const ready = lines.shift();
      if (ready !== undefined) return resolve(ready);
      const timer = setTimeout(() => reject(new Error('the POP3 client gave no answer in 20 s')), 20_000);
      waiters.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  return {
    loggedIn: next(),
    send(command) {
      child.stdin.write(`${command}\n`);
      return next();
    },
    close() {
      child.stdin.end();
      child.kill();
    },
  };
}

/** A Python script running as a child process, each JSON line it prints collected as it comes. */
export interface PythonLines<T> {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every line printed so far, parsed; blank lines are skipped. */
  readonly lines: T[];
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Its exit code, after 'close' rather than 'exit': every line it printed has been read by then. */
  readonly exited: Promise<number | null>;
}

/** Starts `python3 -u -c script ...args` and collects its JSON output lines while it runs. */
export function pythonLines<T = unknown[]>(script: string, args: readonly string[]): PythonLines<T> {
  const child = spawn('python3', ['-u', '-c', script, ...args]);
  const lines: T[] = [];
  let buffer = '';
  let errors = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) lines.push(JSON.parse(line) as T);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (errors += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, lines, stderr: () => errors, exited };
}
