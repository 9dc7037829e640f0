/**
 * What the helpers that hold a poplib session open (`poplib-held.ts`,
 * `poplib-watch.ts`) share: the Python loop that waits on the socket and on
 * stdin at once, so it reports the moment the server closes the connection
 * and the line the server sent unasked before it; and the Node side that
 * starts the script, sends it commands and reads its JSON lines.
 */

import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/** Python: the modules the loop needs, and `say(**fields)`, which prints one JSON line. */
export const POPLIB_PRELUDE = String.raw`
import json, os, poplib, select, ssl, sys
def say(**fields):
    sys.stdout.write(json.dumps(fields) + '\n')
    sys.stdout.flush()
`;

/**
 * Python, for the end of a script that has connected `p` and defined
 * `answer(line)` (a command line in, poplib's reply bytes out) and `FAILED`
 * (what the reply to a command that raised starts with).
 */
export const POPLIB_HOLD_LOOP = String.raw`
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
            try:
                say(reply=answer(line.decode()).decode('latin-1'))
            except Exception as e:
                say(reply=FAILED + ' ' + type(e).__name__ + ': ' + str(e))
`;

/** A poplib session held open by a script built on `POPLIB_HOLD_LOOP`. */
export interface PoplibHold {
  /** performance.now() when poplib saw the server close the connection; null while open. */
  closedAt: number | null;
  /** What the server sent unasked before it closed (once closed). */
  unasked: string | null;
  /** Sends one command line and resolves to poplib's answer. */
  send(command: string): Promise<string>;
  /** Ends the Python process and waits for it. */
  close(): Promise<void>;
}

export interface PoplibHoldStart<T> {
  readonly hold: PoplibHold;
  /** The value of the field `opening` of the line the script says once connected; rejects if it ends before. */
  readonly opened: Promise<T>;
}

/**
 * Starts a poplib script with its arguments. `who` names it in errors
 * ("poplib", "poplib (alice@example.com)"); `before` says what it had not
 * done yet when it ended too early ("it was connected").
 */
export function startPoplibHold<T>(script: string, args: readonly string[], opening: string, who: string, before: string): PoplibHoldStart<T> {
  const child = spawn('python3', ['-u', '-c', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let resolveOpened: (value: T) => void = () => undefined;
  let rejectOpened: (err: Error) => void = () => undefined;
  const opened = new Promise<T>((resolve, reject) => {
    resolveOpened = resolve;
    rejectOpened = reject;
  });
  const replies: ((line: string) => void)[] = [];
  const hold: PoplibHold = {
    closedAt: null,
    unasked: null,
    send(command) {
      return new Promise((resolve, reject) => {
        // The command's first word only: a log-in's password stays out of the error.
        const timer = setTimeout(() => reject(new Error(`${who} gave no answer to ${command.split(' ')[0]} in 20 s\n${stderr}`)), 20_000);
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
      const line = JSON.parse(buffer.slice(0, nl)) as { reply?: string; closed?: string; [field: string]: unknown };
      buffer = buffer.slice(nl + 1);
      if (line[opening] !== undefined) resolveOpened(line[opening] as T);
      else if (line.reply !== undefined) replies.shift()?.(line.reply);
      else if (line.closed !== undefined) {
        hold.closedAt = performance.now();
        hold.unasked = line.closed;
      }
    }
  });
  void exited.then(() => rejectOpened(new Error(`${who} ended before ${before}:\n${stderr}`)));
  return { hold, opened };
}
