/**
 * Runs a command on a real pseudo-terminal (Python's `pty` module) and types
 * into it, as a person at a terminal would: for prompts that read the
 * terminal itself, such as a password asked without echo.
 */

import { python } from './python.js';

/** Wait until the output since the last step matches `expect` (a Python regex), then type `send`. */
export interface PtyStep {
  readonly expect: string;
  readonly send: string;
}

export interface PtyResult {
  /** Everything the terminal showed (what the program wrote, and any echo of what was typed). */
  readonly output: string;
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: number | null;
  /** Why the steps stopped early (an expected text never came), or null. */
  readonly error: string | null;
}

const SCRIPT = `
import os, pty, re, select, time
deadline = time.time() + ARGS['timeout']
pid, fd = pty.fork()
if pid == 0:
    try:
        os.execv(ARGS['argv'][0], ARGS['argv'])
    finally:
        os._exit(127)
out = b''
def read_some():
    global out
    left = deadline - time.time()
    if left <= 0:
        return 'timed out'
    ready, _, _ = select.select([fd], [], [], left)
    if not ready:
        return 'timed out'
    try:
        data = os.read(fd, 4096)
    except OSError:
        return 'the program ended'
    if not data:
        return 'the program ended'
    out += data
    return None
error = None
pos = 0
for step in ARGS['steps']:
    pattern = re.compile(step['expect'].encode())
    while True:
        match = pattern.search(out, pos)
        if match:
            pos = match.end()
            break
        why = read_some()
        if why:
            error = 'waited for %r: %s' % (step['expect'], why)
            break
    if error:
        break
    os.write(fd, step['send'].encode())
ended = None
while ended is None:
    ended = read_some()
if ended == 'timed out':
    os.kill(pid, 9)
    error = error or 'the program did not end in time'
_, status = os.waitpid(pid, 0)
print(json.dumps({
    'output': out.decode('utf-8', 'replace'),
    'code': os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
    'signal': os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
    'error': error,
}))
`;

/** Runs `argv` on a new pseudo-terminal, answering its prompts with `steps`, until it ends. */
export async function runInPty(argv: readonly string[], steps: readonly PtyStep[], timeoutMs = 30_000): Promise<PtyResult> {
  const [result] = await python<PtyResult>(SCRIPT, { argv, steps, timeout: timeoutMs / 1000 }, timeoutMs + 10_000);
  if (!result) throw new Error('the pty driver printed nothing');
  return result;
}
