/**
 * Plain-text output of `winpop`: aligned tables an administrator can read
 * and a script can still split on whitespace.
 */

import type { AdminAccount, BulkItemResult, CounterName, CountersReport, DomainSummary, LockInfo, LockResult, MailboxSummary, SessionInfo, StatResult } from '../../shared/contract.js';
import { formatBytes, plural } from '../../shared/format.js';

export function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly number[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (rightAligned.includes(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function lockText(lock: LockInfo): string {
  return `by ${lock.by} at ${lock.at}${lock.reason ? ` (${lock.reason})` : ''}`;
}

/** The STATE column; "error" when a state file cannot be used (log-in fails closed), with the reason printed under the table. */
export function mailboxState(m: MailboxSummary): string {
  if (m.problem !== undefined) return 'error';
  if (m.domainProblem !== undefined) return 'error (domain)';
  if (m.lock && m.domainLocked) return 'locked (also domain)';
  if (m.lock) return 'locked';
  if (m.domainLocked) return 'locked (domain)';
  return 'unlocked';
}

export function formatDomains(domains: readonly DomainSummary[]): string {
  if (domains.length === 0) return 'No domains. Add one with: winpop add example.com';
  const rows = domains.map((d) => [d.name, String(d.mailboxes), String(d.messages), formatBytes(d.bytes), d.problem !== undefined ? 'error' : d.lock ? 'locked' : 'unlocked']);
  const problems = domains.flatMap((d) => (d.problem === undefined ? [] : [`${d.name}: ${d.problem}`]));
  return [`${table(['DOMAIN', 'MAILBOXES', 'MESSAGES', 'SIZE', 'STATE'], rows, [1, 2, 3])}`, plural(domains.length, 'domain'), ...problems].join('\n');
}

export function formatMailboxes(domain: string, mailboxes: readonly MailboxSummary[]): string {
  if (mailboxes.length === 0) return `No mailboxes in ${domain}. Add one with: winpop add someone@${domain} /createuser -`;
  const rows = mailboxes.map((m) => [m.name, String(m.messages), formatBytes(m.bytes), mailboxState(m)]);
  // The domain's problem once, then each mailbox's own: what is wrong, in which file, and the repair.
  const domainProblem = mailboxes.find((m) => m.domainProblem !== undefined)?.domainProblem;
  const problems = [
    ...(domainProblem === undefined ? [] : [`${domain}: ${domainProblem}`]),
    ...mailboxes.flatMap((m) => (m.problem === undefined ? [] : [`${m.address}: ${m.problem}`])),
  ];
  return [table(['MAILBOX', 'MESSAGES', 'SIZE', 'STATE'], rows, [1, 2]), `${plural(mailboxes.length, 'mailbox', 'mailboxes')} in ${domain}`, ...problems].join('\n');
}

export function formatStat(stat: StatResult): string {
  const t = stat.totals;
  return `${formatDomains(stat.domains)}\nTotal: ${plural(t.mailboxes, 'mailbox', 'mailboxes')}, ${plural(t.messages, 'message')}, ${formatBytes(t.bytes)}`;
}

export function formatLockResult(r: LockResult): string {
  const what = r.kind === 'domain' ? `Domain ${r.target}` : `Mailbox ${r.target}`;
  if (!r.locked) return r.changed ? `${what} unlocked.` : `${what} was not locked.`;
  const closed = r.sessionsClosed > 0 ? ` ${plural(r.sessionsClosed, 'open session')} closed.` : '';
  const mail = r.kind === 'domain' ? ' Its mailboxes still receive mail.' : ' It still receives mail.';
  return r.changed ? `${what} locked.${mail}${closed}` : `${what} was already locked ${r.lock ? lockText(r.lock) : ''}.${closed}`;
}

export function formatBulk(results: readonly BulkItemResult[]): string {
  return results.map((r) => (r.ok ? formatLockResult(r.result) : `${r.target}: failed: ${r.error.message}`)).join('\n');
}

/** `winpop admin list`; the SESSIONS column only when a running service can count them. */
export function formatAdmins(admins: readonly AdminAccount[], running: boolean): string {
  if (admins.length === 0) return 'No admin accounts. Add one with: winpop admin add NAME';
  const header = running ? ['ADMIN', 'CREATED', 'PASSWORD CHANGED', 'SESSIONS'] : ['ADMIN', 'CREATED', 'PASSWORD CHANGED'];
  const rows = admins.map((a) => [a.name, a.created, a.changed, ...(running ? [String(a.sessions)] : [])]);
  return [table(header, rows, running ? [3] : []), plural(admins.length, 'admin account')].join('\n');
}

/** `winpop sessions`: one line per open POP3 session, oldest first. */
export function formatSessions(sessions: readonly SessionInfo[], domain: string | undefined): string {
  if (sessions.length === 0) return domain === undefined ? 'No POP3 session is open.' : `No POP3 session is logged in to a mailbox of ${domain}.`;
  const rows = sessions.map((s) => [s.id, s.address ?? '(not logged in)', s.client, s.since, s.encrypted ? 'yes' : 'no', s.state, s.listener]);
  const what = plural(sessions.length, 'POP3 session');
  return [table(['ID', 'MAILBOX', 'CLIENT', 'SINCE', 'ENCRYPTED', 'STATE', 'LISTENER'], rows), domain === undefined ? what : `${what} of ${domain}`].join('\n');
}

/** The rows of `winpop stat`'s counters, in the order an administrator reads them. */
const COUNTER_ROWS: readonly (readonly [CounterName, string])[] = [
  ['sessions', 'POP3 sessions'],
  ['loginsAccepted', 'Log-ins accepted'],
  ['loginsFailed', 'Log-ins failed'],
  ['loginsLocked', 'Log-ins refused, locked'],
  ['messagesRetrieved', 'Messages retrieved'],
  ['messagesDeleted', 'Messages deleted'],
  ['octetsSent', 'Octets sent'],
  ['smtpAccepted', 'SMTP messages accepted'],
  ['smtpRefused', 'SMTP refusals'],
  ['connectionsRefused', 'Connections refused'],
];

/** `winpop stat`'s counters of the running service: since its start, in the last minute, in the last second. */
export function formatCounters(c: CountersReport): string {
  const rows = COUNTER_ROWS.map(([name, label]) => [label, String(c.totals[name]), String(c.perMinute[name]), String(c.perSecond[name])]);
  return [`Service counters since ${c.since}; ${plural(c.sessionsCurrent, 'POP3 session')} open now`, table(['COUNTER', 'TOTAL', 'LAST MINUTE', 'LAST SECOND'], rows, [1, 2, 3])].join('\n');
}
