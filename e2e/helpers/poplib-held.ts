/**
 * A POP3 connection of Python's poplib held open on command: plain, with
 * STLS, or POP3S; logged in or not yet. Between commands it waits on the
 * socket, so it reports the moment the server closes the connection and the
 * line the server sent unasked before it; the test polls for that.
 */

import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const HELD = String.raw`
import json, poplib, select, ssl, sys, os
port, mode = int(sys.argv[1]), sys.argv[2]
def say(**fields):
    sys.stdout.write(json.dumps(fields) + '\n')
    sys.stdout.flush()
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
if mode == 'pop3s':
    p = poplib.POP3_SSL('127.0.0.1', port, timeout=20, context=context)
else:
    p = poplib.POP3('127.0.0.1', port, timeout=20)
    if mode == 'stls':
        p.stls(context=context)
say(ready=p.sock.getsockname()[1])
sock = p.sock
unasked = b''
pending = b''
while True:
    ready, _, _ = select.select([sock, 0], [], [])
    if sock in ready:
        # Not blocking: over TLS the socket is also readable for records that carry no data (TLS 1.3 session tickets).
        sock.setblocking(False)
        try:
            data = sock.recv(65536)
        except (ssl.SSLWantReadError, BlockingIOError):
            data = None
        except (OSError, ssl.SSLError) as e:
            say(closed=unasked.decode('latin-1'), error=type(e).__name__)
            break
        finally:
            sock.settimeout(20)
        if data is None:
            pass
        elif data == b'':
            say(closed=unasked.decode('latin-1'))
            break
        else:
            unasked += data
    if 0 in ready:
        chunk = os.read(0, 4096)
        if chunk == b'':
            break
        pending += chunk
        while b'\n' in pending:
            line, pending = pending.split(b'\n', 1)
            cmd = line.decode().split(' ')
            try:
                if cmd[0] == 'login':
                    p.user(cmd[1])
                    r = p.pass_(cmd[2])
                elif cmd[0] == 'dele':
                    r = p.dele(int(cmd[1]))
                elif cmd[0] == 'noop':
                    r = p.noop()
                elif cmd[0] == 'quit':
                    r = p.quit()
                say(reply=r.decode('latin-1'))
            except Exception as e:
                say(reply='FAILED ' + type(e).__name__ + ': ' + str(e))
`;

export type HeldMode = 'plain' | 'stls' | 'pop3s';

export interface HeldPopSession {
  /** Resolves to the client's own port once greeted (and, with STLS, encrypted): the server names it `127.0.0.1:<port>`. */
  readonly ready: Promise<number>;
  /** performance.now() when poplib saw the server close the connection; null while open. */
  closedAt: number | null;
  /** What the server sent unasked before it closed (once closed). */
  unasked: string | null;
  /** login ADDRESS PASSWORD, dele N, noop, quit: poplib's answer, or "FAILED …". */
  send(command: string): Promise<string>;
  close(): Promise<void>;
}

/** Connects with poplib and holds the connection until `close`. */
export function holdPopSession(port: number, mode: HeldMode): HeldPopSession {
  const child = spawn('python3', ['-u', '-c', HELD, String(port), mode], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let resolveReady: (port: number) => void = () => undefined;
  let rejectReady: (err: Error) => void = () => undefined;
  const ready = new Promise<number>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const replies: ((line: string) => void)[] = [];
  const session: HeldPopSession = {
    ready,
    closedAt: null,
    unasked: null,
    send(command) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`poplib gave no answer to ${command.split(' ')[0]} in 20 s\n${stderr}`)), 20_000);
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
      const line = JSON.parse(buffer.slice(0, nl)) as { ready?: number; reply?: string; closed?: string };
      buffer = buffer.slice(nl + 1);
      if (line.ready !== undefined) resolveReady(line.ready);
      else if (line.reply !== undefined) replies.shift()?.(line.reply);
      else if (line.closed !== undefined) {
        session.closedAt = performance.now();
        session.unasked = line.closed;
      }
    }
  });
  void exited.then(() => rejectReady(new Error(`poplib ended before it was connected:\n${stderr}`)));
  return session;
}
