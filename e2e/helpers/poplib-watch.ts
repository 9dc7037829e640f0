/**
 * A logged-in session of Python's poplib that watches its own connection:
 * between commands it waits on the socket, so it reports the moment the
 * server closes the connection (and any line the server sent unasked),
 * without being asked. The test polls `closedAt` instead of sleeping.
 */

import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const WATCHER = String.raw`
import json, poplib, select, sys, os
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def say(**fields):
    sys.stdout.write(json.dumps(fields) + '\n')
    sys.stdout.flush()
p = poplib.POP3('127.0.0.1', port, timeout=20)
try:
    p.user(user)
    say(login=p.pass_(password).decode('latin-1'))
except poplib.error_proto as e:
    say(login=e.args[0].decode('latin-1'))
    sys.exit(0)
sock = p.sock
unasked = b''
pending = b''
while True:
    ready, _, _ = select.select([sock, 0], [], [])
    if sock in ready:
        try:
            data = sock.recv(65536)
        except OSError as e:
            say(closed=unasked.decode('latin-1'), error=type(e).__name__)
            break
        if data == b'':
            say(closed=unasked.decode('latin-1'))
            break
        unasked += data
    if 0 in ready:
        chunk = os.read(0, 4096)
        if chunk == b'':
            break
        pending += chunk
        while b'\n' in pending:
            line, pending = pending.split(b'\n', 1)
            cmd = line.decode().split()
            try:
                if cmd[0] == 'noop':
                    r = p.noop()
                elif cmd[0] == 'stat':
                    r = ('+OK %d %d' % p.stat()).encode()
                elif cmd[0] == 'dele':
                    r = p.dele(int(cmd[1]))
                elif cmd[0] == 'quit':
                    r = p.quit()
                say(reply=r.decode('latin-1'))
            except Exception as e:
                say(reply='CLOSED ' + type(e).__name__ + ': ' + str(e))
`;

export interface WatchedPopSession {
  readonly address: string;
  /** The answer to PASS: "+OK …" or the server's error. */
  readonly loggedIn: Promise<string>;
  /** performance.now() when the client reported its connection closed by the server; null while open. */
  closedAt: number | null;
  /** What the server sent unasked before it closed the connection (when closed). */
  unasked: string | null;
  /** Sends a command (noop, stat, dele N, quit) through poplib and resolves to its answer. */
  send(command: string): Promise<string>;
  /** Ends the Python process and waits for it. */
  close(): Promise<void>;
}

interface Line {
  readonly login?: string;
  readonly reply?: string;
  readonly closed?: string;
}

/** Starts poplib, logs in as `address`, and watches the connection until `close`. */
export function watchPopSession(port: number, address: string, password: string): WatchedPopSession {
  const child = spawn('python3', ['-u', '-c', WATCHER, String(port), address, password], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let resolveLogin: (line: string) => void = () => undefined;
  let rejectLogin: (err: Error) => void = () => undefined;
  const loggedIn = new Promise<string>((resolve, reject) => {
    resolveLogin = resolve;
    rejectLogin = reject;
  });
  const replies: ((line: string) => void)[] = [];
  const session: WatchedPopSession = {
    address,
    loggedIn,
    closedAt: null,
    unasked: null,
    send(command) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`poplib (${address}) gave no answer to ${command} in 20 s\n${stderr}`)), 20_000);
        replies.push((line) => {
          clearTimeout(timer);
          resolve(line);
        });
        child.stdin.write(`${command}\n`);
      });
    },
    async close() {
      child.stdin.end();
      child.kill();
      await exited;
    },
  };
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, nl)) as Line;
      buffer = buffer.slice(nl + 1);
      if (line.login !== undefined) resolveLogin(line.login);
      else if (line.reply !== undefined) replies.shift()?.(line.reply);
      else if (line.closed !== undefined) {
        session.closedAt = performance.now();
        session.unasked = line.closed;
      }
    }
  });
  void exited.then(() => rejectLogin(new Error(`poplib (${address}) ended before it logged in:\n${stderr}`)));
  return session;
}
