/**
 * A logged-in session of Python's poplib that watches its own connection:
 * between commands it waits on the socket, so it reports the moment the
 * server closes the connection (and any line the server sent unasked),
 * without being asked. The test polls `closedAt` instead of sleeping.
 */

import { POPLIB_HOLD_LOOP, POPLIB_PRELUDE, startPoplibHold } from './poplib-hold.js';

const WATCHER =
  POPLIB_PRELUDE +
  String.raw`
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = poplib.POP3('127.0.0.1', port, timeout=20)
try:
    p.user(user)
    say(login=p.pass_(password).decode('latin-1'))
except poplib.error_proto as e:
    say(login=e.args[0].decode('latin-1'))
    sys.exit(0)
FAILED = 'CLOSED'
def answer(line):
    cmd = line.split()
    if cmd[0] == 'noop':
        return p.noop()
    if cmd[0] == 'stat':
        return ('+OK %d %d' % p.stat()).encode()
    if cmd[0] == 'dele':
        return p.dele(int(cmd[1]))
    if cmd[0] == 'quit':
        return p.quit()
    raise ValueError('unknown command ' + cmd[0])
` +
  POPLIB_HOLD_LOOP;

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

/** Starts poplib, logs in as `address`, and watches the connection until `close`. */
export function watchPopSession(port: number, address: string, password: string): WatchedPopSession {
  const { hold, opened } = startPoplibHold<string>(WATCHER, [String(port), address, password], 'login', `poplib (${address})`, 'it logged in');
  return Object.assign(hold, { address, loggedIn: opened });
}
