/**
 * Numbers and states as the details pane shows them.
 */

import type { DomainSummary, LockInfo, MailboxSummary } from '../../../shared/contract.js';
import { formatBytes } from '../../../shared/format.js';
import { domainProblemText, mailboxProblemText } from '../words/service-text.js';

const integer = new Intl.NumberFormat('en-US');
// One formatter for all: Date.toLocaleString builds a new one per call, which costs more than the rest of a grid row.
const dateTime = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short' });

export function formatCount(n: number): string {
  return integer.format(n);
}

/** Sizes in KB with separators, as the original console showed them ("1,234 KB"). */
export function formatSize(bytes: number): string {
  if (bytes === 0) return '0 KB';
  return `${integer.format(Math.max(1, Math.ceil(bytes / 1024)))} KB`;
}

/** A size for sentences ("1.5 KB", "23 MB"), worded as `winpop` words it. */
export function formatSizeLong(bytes: number): string {
  return formatBytes(bytes);
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return dateTime.format(date);
}

/** "Locked by root on Nov 26, 2026, 10:12 AM: reason". */
export function describeLock(lock: LockInfo): string {
  return `Locked by ${lock.by} on ${formatTime(lock.at)}${lock.reason ? `: ${lock.reason}` : ''}`;
}

export type MailboxState = 'Error' | 'Locked' | 'Locked (domain)' | 'Unlocked';

/** "Error" when its state file (or its domain's) cannot be used: log-in fails closed whatever the lock says. */
export function mailboxState(row: MailboxSummary): MailboxState {
  if (row.problem !== undefined || row.domainProblem !== undefined) return 'Error';
  if (row.lock) return 'Locked';
  if (row.domainLocked) return 'Locked (domain)';
  return 'Unlocked';
}

/** Sort rank of a state: unlocked first, then locked through the domain, then locked, then damaged. */
export function stateRank(row: MailboxSummary): number {
  if (row.problem !== undefined || row.domainProblem !== undefined) return 3;
  return row.lock ? 2 : row.domainLocked ? 1 : 0;
}

/** What is wrong with a mailbox's state files, its own first: the files and the repairs, in the console's words. */
export function mailboxProblems(row: MailboxSummary): string[] {
  const problems: string[] = [];
  if (row.problem !== undefined) problems.push(mailboxProblemText(row.problem, row.address));
  if (row.domainProblem !== undefined) problems.push(domainProblemText(row.domainProblem, row.domain));
  return problems;
}

export function mailboxStateTitle(row: MailboxSummary): string | undefined {
  const problems = mailboxProblems(row);
  if (problems.length > 0) return problems.join('\n');
  if (row.lock && row.domainLocked) return `${describeLock(row.lock)}. Its domain is locked too.`;
  if (row.lock) return describeLock(row.lock);
  if (row.domainLocked) return `Its domain ${row.domain} is locked, so this mailbox cannot log in.`;
  return undefined;
}

/** A domain's state column: "Error" when its state file cannot be used. */
export function domainState(d: DomainSummary): 'Error' | 'Locked' | 'Unlocked' {
  if (d.problem !== undefined) return 'Error';
  return d.lock ? 'Locked' : 'Unlocked';
}
