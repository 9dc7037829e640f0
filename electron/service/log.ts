/**
 * The service log: one line per event, filtered by the logging setting
 * (0 none, 1 minimum, 2 medium, 3 maximum, as the original service's levels).
 *
 * What each level writes is stated once, in LOGGING_LEVELS, and printed by
 * `winpop help set logging`; a test holds the log to it. Under systemd the
 * lines go to the journal with a `<N>` syslog priority prefix and no time
 * stamp (journald stamps each line); elsewhere they carry the time.
 */

import { fstatSync } from 'node:fs';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
}

/** The lowest logging setting at which each kind of line is written. */
const RANK: Record<LogLevel, number> = { error: 1, warn: 2, info: 2, debug: 3 };

/** sd-daemon(3) priorities: err, warning, info, debug, so `journalctl -p warning` picks the right lines. */
const JOURNAL_PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/**
 * What each logging level writes, each adding to the one before. The quoted
 * names are events as they appear in the log; `winpop help set logging` and
 * the README show this text.
 */
export const LOGGING_LEVELS = `What each level writes (each adds to the one before; a change applies at once):
  0 none      no log lines; pop3svc still prints its ready line and its start-up problems
  1 minimum   errors: "pop3 message unreadable", "mail not stored", "could not write the audit log",
              a listener or the store failing, recovery that could not finish
  2 medium    (the default) + warnings and notices: log-ins ("pop3 login ok", "pop3 login failed",
              "pop3 login refused: mailbox locked"), "pop3 connection opened", "pop3 connection closed",
              "pop3 messages deleted", "mail delivered", admin changes, limits reached,
              "service stopped"
  3 maximum   + details: every POP3 command by its name only ("pop3 command"), each password check
              ("pop3 login check started"), control clients ("control client connected"),
              SMTP recipients refused, socket and TLS errors
No level writes a password, a message's body or its headers: a log-in names the mailbox and the
client address, a delivery the envelope sender, recipient and size.
Under systemd each line goes to the journal with its priority (journalctl -u winpop -p warning).`;

function formatFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    out += /[\s"=]/.test(text) || text === '' ? ` ${key}=${JSON.stringify(text)}` : ` ${key}=${text}`;
  }
  return out;
}

/** How lines are written: with a time stamp, or for the journal with a priority prefix. */
export type LogStyle = 'plain' | 'journal';

/**
 * 'journal' when standard output is the journal's stream: systemd sets
 * JOURNAL_STREAM to its device and inode (systemd.exec(5)), and comparing
 * them with stdout's tells a redirected stdout (a file, a pipe) from it.
 */
export function logStyle(env: NodeJS.ProcessEnv = process.env, fd = 1): LogStyle {
  const stream = env.JOURNAL_STREAM;
  if (!stream) return 'plain';
  const [dev, ino] = stream.split(':');
  try {
    const stat = fstatSync(fd, { bigint: true });
    return String(stat.dev) === dev && String(stat.ino) === ino ? 'journal' : 'plain';
  } catch {
    return 'plain';
  }
}

/** One log line, newline included. */
export function formatLine(kind: LogLevel, message: string, fields?: LogFields, style: LogStyle = logStyle()): string {
  if (style === 'journal') return `<${JOURNAL_PRIORITY[kind]}>${message}${formatFields(fields)}\n`;
  return `${new Date().toISOString()} ${kind.toUpperCase().padEnd(5)} ${message}${formatFields(fields)}\n`;
}

/** A logger writing `time level message key=value…` lines; `level()` is read per line so a settings change applies at once. */
export function createLogger(
  level: () => 0 | 1 | 2 | 3,
  write: (line: string) => void = (line) => process.stdout.write(line),
  style: LogStyle = logStyle(),
): Logger {
  const emit = (kind: LogLevel, message: string, fields?: LogFields): void => {
    if (RANK[kind] > level()) return;
    write(formatLine(kind, message, fields, style));
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
  };
}

/** A logger that drops everything, for code paths with nowhere to report. */
export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };
