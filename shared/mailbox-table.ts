/**
 * A domain's mailbox list in columns (`MailboxTable`) and back.
 *
 * The service builds the table from the rows of `listMailboxes`; the console
 * expands it into the same rows. Both directions live here so that they can
 * never disagree about what a column means.
 */

import type { LockInfo, MailboxSummary, MailboxTable } from './contract.js';
import { isLocked } from './lock-rule.js';

/**
 * The table of `rows`, all of `domain` and listed in one go (so they agree on
 * `domainLocked` and `domainProblem`, which an empty domain takes from its summary).
 */
export function toMailboxTable(domain: string, domainLocked: boolean, rows: readonly MailboxSummary[], domainProblem?: string): MailboxTable {
  const names: string[] = [];
  const messages: number[] = [];
  const bytes: number[] = [];
  const locks: Record<number, LockInfo> = {};
  let problems: Record<number, string> | undefined;
  rows.forEach((row, i) => {
    names.push(row.name);
    messages.push(row.messages);
    bytes.push(row.bytes);
    if (row.lock !== null) locks[i] = row.lock;
    if (row.problem !== undefined) (problems ??= {})[i] = row.problem;
  });
  return { domain, domainLocked, names, messages, bytes, locks, ...(problems ? { problems } : {}), ...(domainProblem !== undefined ? { domainProblem } : {}) };
}

/** The `listMailboxes` rows of a table, in its order. */
export function mailboxTableRows(table: MailboxTable): MailboxSummary[] {
  const { domain, domainLocked, names, messages, bytes, locks, problems, domainProblem } = table;
  const suffix = `@${domain}`;
  const rows: MailboxSummary[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const lock = locks[i] ?? null;
    const problem = problems?.[i];
    // The optional fields only where they have a value, as listMailboxes gives them.
    const row: MailboxSummary = {
      name,
      domain,
      address: name + suffix,
      messages: messages[i] ?? 0,
      bytes: bytes[i] ?? 0,
      lock,
      domainLocked,
      locked: isLocked(domainLocked, lock),
    };
    rows.push(problem === undefined && domainProblem === undefined ? row : { ...row, ...(problem !== undefined ? { problem } : {}), ...(domainProblem !== undefined ? { domainProblem } : {}) });
  }
  return rows;
}
