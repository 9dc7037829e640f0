/**
 * The Received: trace field (RFC 5321 section 4.4) the listener puts on top
 * of every message it stores, so a reader can see where mail came from.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

const two = (n: number): string => String(n).padStart(2, '0');

/** An RFC 5322 date-time in local time, e.g. `Thu, 26 Nov 2026 10:08:00 +0100`. */
export function rfc5322Date(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return (
    `${DAYS[date.getDay()]}, ${date.getDate()} ${MONTHS[date.getMonth()]} ${date.getFullYear()} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`
  );
}

/**
 * What the client said about itself is untrusted text going into a header:
 * keep only characters a host name or address literal can have.
 */
function token(text: string, fallback: string): string {
  const clean = text.replace(/[^A-Za-z0-9.\-_:[\]]/g, '').slice(0, 100);
  return clean === '' ? fallback : clean;
}

export interface TraceInfo {
  /** The name the client gave in HELO/EHLO. */
  readonly helo: string;
  /** The client's IP address. */
  readonly ip: string;
  /** This server's name. */
  readonly host: string;
  /** `SMTP` or `ESMTP`. */
  readonly protocol: string;
  /** The session id, to find the delivery in the log. */
  readonly id: string;
  readonly recipient: string;
  readonly date?: Date;
}

/** The Received: field, folded, with CRLF line ends (the store converts them). */
export function receivedHeader(info: TraceInfo): string {
  const ip = info.ip.startsWith('::ffff:') ? info.ip.slice(7) : info.ip;
  return (
    `Received: from ${token(info.helo, 'unknown')} ([${token(ip, 'unknown')}])\r\n` +
    `\tby ${token(info.host, 'localhost')} with ${token(info.protocol, 'SMTP')} id ${token(info.id, 'none')}\r\n` +
    `\tfor <${info.recipient}>; ${rfc5322Date(info.date ?? new Date())}\r\n`
  );
}
