/**
 * A domain's mailbox list in columns (`MailboxTable`) and back.
 *
 * The service builds the table from the rows of `listMailboxes`; the console
 * expands it into the same rows. Both directions live here so that they can
 * never disagree about what a column means.
 */

import type { LockInfo, MailboxSummary, MailboxTable } from './contract.js';

/** The table of `rows`, all of `domain` and listed in one go (so they agree on `domainLocked`). */
export function toMailboxTable(domain: string, domainLocked: boolean, rows: readonly MailboxSummary[]): MailboxTable {
  const names: string[] = [];
  const messages: number[] = [];
  const bytes: number[] = [];
  const locks: Record<number, LockInfo> = {};
  rows.forEach((row, i) => {
    names.push(row.name);
    messages.push(row.messages);
    bytes.push(row.bytes);
    if (row.lock !== null) locks[i] = row.lock;
  });
  return { domain, domainLocked, names, messages, bytes, locks };
}

/** The `listMailboxes` rows of a table, in its order. */
export function mailboxTableRows(table: MailboxTable): MailboxSummary[] {
  const { domain, domainLocked, names, messages, bytes, locks } = table;
  const suffix = `@${domain}`;
  const rows: MailboxSummary[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const lock = locks[i] ?? null;
    rows.push({
      name,
      domain,
      address: name + suffix,
      messages: messages[i] ?? 0,
      bytes: bytes[i] ?? 0,
      lock,
      domainLocked,
      locked: domainLocked || lock !== null,
    });
  }
  return rows;
}
