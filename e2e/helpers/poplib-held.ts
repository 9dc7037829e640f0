/**
 * A POP3 connection of Python's poplib held open on command: plain, with
 * STLS, or POP3S; logged in or not yet. Between commands it waits on the
 * socket, so it reports the moment the server closes the connection and the
 * line the server sent unasked before it; the test polls for that.
 */

import { POPLIB_HOLD_LOOP, POPLIB_PRELUDE, startPoplibHold } from './poplib-hold.js';

const HELD =
  POPLIB_PRELUDE +
  String.raw`
port, mode = int(sys.argv[1]), sys.argv[2]
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
FAILED = 'FAILED'
def answer(line):
    cmd = line.split(' ')
    if cmd[0] == 'login':
        p.user(cmd[1])
        return p.pass_(cmd[2])
    if cmd[0] == 'dele':
        return p.dele(int(cmd[1]))
    if cmd[0] == 'noop':
        return p.noop()
    if cmd[0] == 'quit':
        return p.quit()
    raise ValueError('unknown command ' + cmd[0])
` +
  POPLIB_HOLD_LOOP;

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
  const { hold, opened } = startPoplibHold<number>(HELD, [String(port), mode], 'ready', 'poplib', 'it was connected');
  return Object.assign(hold, { ready: opened });
}
