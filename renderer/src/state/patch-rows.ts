/**
 * Applies service events to a domain's mailbox rows without fetching them
 * again: a domain of 100,000 mailboxes stays put while one of them is locked
 * from a shell or receives mail.
 *
 * Every event carries the state after the change (not a delta), so applying
 * one twice, or after a fresh list that already has it, is harmless.
 */

import type { AdminEvent, MailboxSummary } from '../../../shared/contract.js';

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** True when the event changes a row of this domain's mailbox list. */
function concerns(event: AdminEvent, domain: string): boolean {
  switch (event.type) {
    case 'locked':
    case 'unlocked':
    case 'stateProblem':
      return event.kind === 'domain' ? event.target === domain : domainOf(event.target) === domain;
    case 'mailArrived':
    case 'mailboxChanged':
    case 'mailboxAdded':
    case 'mailboxRemoved':
      return domainOf(event.address) === domain;
    default:
      return false;
  }
}

/** A domain lock or unlock that changed something rewrote the domain's state file, so a damaged one is whole again. */
function withDomainLock(row: MailboxSummary, locked: boolean): MailboxSummary {
  const { domainProblem: _repaired, ...rest } = row;
  return { ...rest, domainLocked: locked, locked: locked || row.lock !== null };
}

/** The row with `key` set to `value`, or without it for null: the optional fields are absent, never undefined. */
function withOptional(row: MailboxSummary, key: 'problem' | 'domainProblem', value: string | null): MailboxSummary {
  const { [key]: _old, ...rest } = row;
  return value === null ? rest : { ...rest, [key]: value };
}

/** The rows after the events that concern `domain`; the same array when none does. */
export function applyMailboxEvents(
  rows: readonly MailboxSummary[],
  domain: string,
  events: readonly AdminEvent[],
): readonly MailboxSummary[] {
  const relevant = events.filter((e) => concerns(e, domain));
  if (relevant.length === 0) return rows;

  // Keyed by address in list order; rebuilt once per batch, which for 100,000 rows is a few milliseconds.
  const byAddress = new Map<string, MailboxSummary>();
  for (const row of rows) byAddress.set(row.address, row);
  let domainLocked = rows[0]?.domainLocked ?? false;
  let domainProblem = rows[0]?.domainProblem ?? null;

  const update = (address: string, change: (row: MailboxSummary) => MailboxSummary): void => {
    const row = byAddress.get(address);
    if (row) byAddress.set(address, change(row));
  };

  for (const event of relevant) {
    switch (event.type) {
      case 'locked':
      case 'unlocked': {
        const locked = event.type === 'locked';
        if (event.kind === 'domain') {
          domainLocked = locked;
          domainProblem = null;
          for (const [address, row] of byAddress) byAddress.set(address, withDomainLock(row, locked));
        } else if (event.type === 'locked') {
          const lock = event.lock;
          update(event.target, (row) => ({ ...row, lock, locked: true }));
        } else {
          update(event.target, (row) => ({ ...row, lock: null, locked: row.domainLocked }));
        }
        break;
      }
      case 'stateProblem':
        if (event.kind === 'domain') {
          domainProblem = event.problem;
          for (const [address, row] of byAddress) byAddress.set(address, withOptional(row, 'domainProblem', event.problem));
        } else {
          update(event.target, (row) => withOptional(row, 'problem', event.problem));
        }
        break;
      case 'mailArrived':
      case 'mailboxChanged':
        update(event.address, (row) => ({ ...row, messages: event.messages, bytes: event.bytes }));
        break;
      case 'mailboxAdded':
        if (!byAddress.has(event.address)) {
          const name = event.address.slice(0, event.address.lastIndexOf('@'));
          byAddress.set(event.address, {
            name,
            domain,
            address: event.address,
            messages: 0,
            bytes: 0,
            lock: null,
            domainLocked,
            locked: domainLocked,
            ...(domainProblem === null ? {} : { domainProblem }),
          });
        }
        break;
      case 'mailboxRemoved':
        byAddress.delete(event.address);
        break;
      default:
        break;
    }
  }
  return [...byAddress.values()];
}

/** True when the event can change what the domain list shows (counts, sizes, locks, names). */
export function touchesDomainList(event: AdminEvent): boolean {
  switch (event.type) {
    case 'domainAdded':
    case 'domainRemoved':
    case 'mailboxAdded':
    case 'mailboxRemoved':
    case 'locked':
    case 'unlocked':
    case 'mailArrived':
    case 'mailboxChanged':
      return true;
    case 'stateProblem':
      return event.kind === 'domain';
    default:
      return false;
  }
}
