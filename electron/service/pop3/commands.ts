/**
 * The POP3 commands (RFC 1939, CAPA from RFC 2449): parsing and answers.
 *
 * Each command names the states it is valid in; the dispatcher rejects it in
 * any other.
 */

import { processCounters } from '../observe/counters.js';
import { ExpungePendingError } from '../store/types.js';
import { authCommand } from './auth.js';
import { capabilities } from './capabilities.js';
import { passCommand } from './login.js';
import { REPLY, usageError } from './responses.js';
import type { Pop3Session, SessionState } from './session.js';

interface Command {
  readonly states: readonly SessionState[];
  /** `rest` is everything after the first space, exactly as sent. */
  run(session: Pop3Session, rest: string): void | Promise<void>;
}

const AUTH: readonly SessionState[] = ['authorization'];
const TRANS: readonly SessionState[] = ['transaction'];
const ANY: readonly SessionState[] = ['authorization', 'transaction'];

/** Keywords are printable ASCII; anything else is garbage, not a command. */
const KEYWORD = /^[\x21-\x7e]{1,32}$/;

/** Runs one command line; returns the keyword for the log (or "?" when unknown). */
export async function dispatch(session: Pop3Session, line: Buffer): Promise<string> {
  const text = line.toString('utf8');
  if (text.trim() === '') {
    session.reject(REPLY.emptyCommand);
    return '?';
  }
  const space = text.indexOf(' ');
  const keyword = (space < 0 ? text : text.slice(0, space)).toUpperCase();
  const rest = space < 0 ? '' : text.slice(space + 1);
  const command = KEYWORD.test(keyword) ? COMMANDS.get(keyword) : undefined;
  if (command === undefined) {
    session.reject(REPLY.unknownCommand);
    return '?';
  }
  if (!command.states.includes(session.state)) {
    session.reject(session.state === 'authorization' ? REPLY.loginFirst : REPLY.alreadyLoggedIn);
    return keyword;
  }
  await command.run(session, rest);
  return keyword;
}

/** Splits arguments on spaces; extra spaces are forgiven. */
function args(rest: string): string[] {
  return rest.split(' ').filter((part) => part !== '');
}

/** The session's maildrop view; commands that use it only run in TRANSACTION. */
function viewOf(session: Pop3Session): NonNullable<Pop3Session['view']> {
  if (session.view === null) throw new Error('no maildrop in TRANSACTION state');
  return session.view;
}

const COMMANDS = new Map<string, Command>([
  [
    'CAPA',
    {
      states: ANY,
      run: (s, rest) => {
        if (args(rest).length > 0) return s.reject(usageError('CAPA', 'CAPA'));
        return s.replyLines(
          '+OK Capability list follows',
          capabilities({ plainLoginAllowed: s.plainLoginAllowed(), stls: s.stlsAvailable && s.state === 'authorization' }),
        );
      },
    },
  ],
  [
    'USER',
    {
      states: AUTH,
      run: (s, rest) => {
        const name = args(rest);
        if (name.length !== 1) return s.reject(REPLY.userMissing);
        if (!s.plainLoginAllowed()) return s.reject(s.secureRequiredReply());
        s.pendingUser = name[0] as string;
        // Same answer for every name: USER never tells whether a mailbox exists.
        s.reply('+OK Now send your password with PASS.');
      },
    },
  ],
  ['PASS', { states: AUTH, run: (s, rest) => passCommand(s, rest) }],
  ['APOP', { states: AUTH, run: (s) => s.reject(REPLY.apopUnsupported) }],
  ['AUTH', { states: AUTH, run: (s, rest) => authCommand(s, rest) }],
  [
    'STLS',
    {
      states: AUTH,
      run: (s, rest) => {
        if (args(rest).length > 0) return s.reject(usageError('STLS', 'STLS'));
        if (s.secure) return s.reject(REPLY.stlsActive);
        if (s.deps.tls === null) return s.reject(REPLY.stlsUnavailable);
        return s.startTls(s.deps.tls);
      },
    },
  ],
  [
    'QUIT',
    {
      states: ANY,
      run: async (s, rest) => {
        if (args(rest).length > 0) return s.reject(usageError('QUIT', 'QUIT'));
        if (s.state === 'authorization') return s.end('quit', '+OK Bye.');
        await quitTransaction(s);
      },
    },
  ],
  [
    'NOOP',
    {
      states: TRANS,
      run: (s, rest) => {
        if (args(rest).length > 0) return s.reject(usageError('NOOP', 'NOOP'));
        s.reply('+OK');
      },
    },
  ],
  [
    'STAT',
    {
      states: TRANS,
      run: (s, rest) => {
        if (args(rest).length > 0) return s.reject(usageError('STAT', 'STAT'));
        const { count, octets } = viewOf(s).stat();
        s.reply(`+OK ${count} ${octets}`);
      },
    },
  ],
  [
    'LIST',
    {
      states: TRANS,
      run: (s, rest) => {
        const a = args(rest);
        const view = viewOf(s);
        if (a.length > 1) return s.reject(usageError('LIST', 'LIST [message-number]'));
        if (a.length === 1) {
          const found = view.lookup(a[0], 'LIST');
          if (!found.ok) return s.reject(found.error);
          return s.reply(`+OK ${found.number} ${found.message.size}`);
        }
        const { count, octets } = view.stat();
        const lines: string[] = [];
        view.forEachLive((n, m) => lines.push(`${n} ${m.size}`));
        return s.replyLines(`+OK ${count} messages (${octets} octets)`, lines);
      },
    },
  ],
  [
    'UIDL',
    {
      states: TRANS,
      run: (s, rest) => {
        const a = args(rest);
        const view = viewOf(s);
        if (a.length > 1) return s.reject(usageError('UIDL', 'UIDL [message-number]'));
        if (a.length === 1) {
          const found = view.lookup(a[0], 'UIDL');
          if (!found.ok) return s.reject(found.error);
          return s.reply(`+OK ${found.number} ${found.message.uidl}`);
        }
        const lines: string[] = [];
        view.forEachLive((n, m) => lines.push(`${n} ${m.uidl}`));
        return s.replyLines('+OK Unique-ID listing follows', lines);
      },
    },
  ],
  [
    'RETR',
    {
      states: TRANS,
      run: (s, rest) => {
        const a = args(rest);
        const view = viewOf(s);
        if (a.length > 1) return s.reject(usageError('RETR', 'RETR message-number'));
        const found = view.lookup(a[0], 'RETR');
        if (!found.ok) return s.reject(found.error);
        return s.replyMessage(found.number, found.message, view.maildrop);
      },
    },
  ],
  [
    'TOP',
    {
      states: TRANS,
      run: (s, rest) => {
        const a = args(rest);
        const view = viewOf(s);
        if (a.length !== 2) return s.reject(usageError('TOP', 'TOP message-number lines, for example TOP 1 10'));
        const found = view.lookup(a[0], 'TOP');
        if (!found.ok) return s.reject(found.error);
        const lines = a[1] as string;
        if (!/^[0-9]{1,10}$/.test(lines)) {
          return s.reject('-ERR Invalid line count; use a decimal number of 0 or more, for example TOP 1 10.');
        }
        return s.replyMessage(found.number, found.message, view.maildrop, Number(lines));
      },
    },
  ],
  [
    'DELE',
    {
      states: TRANS,
      run: (s, rest) => {
        const a = args(rest);
        const view = viewOf(s);
        if (a.length > 1) return s.reject(usageError('DELE', 'DELE message-number'));
        const found = view.lookup(a[0], 'DELE');
        if (!found.ok) return s.reject(found.error);
        view.markDeleted(found.number);
        s.reply(`+OK Message ${found.number} marked for deletion; it is deleted at QUIT.`);
      },
    },
  ],
  [
    'RSET',
    {
      states: TRANS,
      run: (s, rest) => {
        if (args(rest).length > 0) return s.reject(usageError('RSET', 'RSET'));
        const view = viewOf(s);
        view.unmarkAll();
        const { count, octets } = view.stat();
        s.reply(`+OK Maildrop has ${count} messages (${octets} octets).`);
      },
    },
  ],
]);

/** QUIT in TRANSACTION: the UPDATE state applies the DELE marks, all or nothing. */
async function quitTransaction(s: Pop3Session): Promise<void> {
  const view = viewOf(s);
  const marked = view.marked();
  s.state = 'update';
  if (marked.length === 0) return s.end('quit', '+OK Bye.');
  try {
    await view.maildrop.expunge(marked);
  } catch (err) {
    if (err instanceof ExpungePendingError) {
      s.deps.log.error('pop3 expunge recorded but not finished; the next open of the mailbox completes it', {
        remote: s.remote,
        address: s.address,
        messages: marked.length,
        error: err.message,
      });
      s.end('quit; deletion pending', REPLY.expungePending);
      return;
    }
    s.deps.log.error('pop3 expunge failed', { remote: s.remote, address: s.address, messages: marked.length, error: err instanceof Error ? err.message : String(err) });
    s.end('quit; deletion failed', REPLY.expungeFailed);
    return;
  }
  s.deps.log.info('pop3 messages deleted', { remote: s.remote, address: s.address, messages: marked.length });
  processCounters.add('messagesDeleted', marked.length);
  s.end('quit', `+OK Bye; ${marked.length} ${marked.length === 1 ? 'message' : 'messages'} deleted.`);
}
