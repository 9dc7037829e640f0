/**
 * The service log: one line per event on stdout, filtered by the logging
 * setting (0 none, 1 minimum = errors, 2 medium = + warnings and notices,
 * 3 maximum = + every session and command outcome).
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { error: 1, warn: 2, info: 2, debug: 3 };

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

/** A logger writing `time level message key=value…` lines; `level()` is read per line so a settings change applies at once. */
export function createLogger(level: () => 0 | 1 | 2 | 3, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const emit = (kind: LogLevel, message: string, fields?: LogFields): void => {
    if (RANK[kind] > level()) return;
    write(`${new Date().toISOString()} ${kind.toUpperCase().padEnd(5)} ${message}${formatFields(fields)}\n`);
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
