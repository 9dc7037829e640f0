/**
 * Applies service events to a domain's mailbox rows without fetching them
 * again: a domain of 100,000 mailboxes stays put while one of them is locked
 * from a shell or receives mail.
 *
 * Every event carries the state after the change (not a delta), so applying
 * one twice, or after a fresh list that already has it, is harmless.
 */

import type { AdminEvent, MailboxSummary, MailboxTable } from '../../../shared/contract.js';
import { isLocked } from '../../../shared/lock-rule.js';
import { mailboxTableRows } from '../../../shared/mailbox-table.js';

/**
 * A domain's mailbox rows with the domain's own state: an empty domain has
 * no row to carry it, and a mailbox added later takes it.
 */
export interface DomainRows {
  readonly domain: string;
  readonly rows: readonly MailboxSummary[];
  /** True when the domain is locked (every row then has `domainLocked`). */
  readonly domainLocked: boolean;
  /** The domain's `problem` when its state file is damaged (every row then has it as `domainProblem`). */
  readonly domainProblem: string | null;
}

/** The rows of a fetched table, with its domain's state. */
export function domainRows(table: MailboxTable): DomainRows {
  return { domain: table.domain, rows: mailboxTableRows(table), domainLocked: table.domainLocked, domainProblem: table.domainProblem ?? null };
}

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

/** The row with its domain locked or not. */
function withDomainLocked(row: MailboxSummary, locked: boolean): MailboxSummary {
  return { ...row, domainLocked: locked, locked: isLocked(locked, row.lock) };
}

/** The row with `key` set to `value`, or without it for null: the optional fields are absent, never undefined. */
function withOptional(row: MailboxSummary, key: 'problem' | 'domainProblem', value: string | null): MailboxSummary {
  const { [key]: _old, ...rest } = row;
  return value === null ? rest : { ...rest, [key]: value };
}

/** The list after the events that concern its domain; the same list when none does. */
export function applyMailboxEvents<T extends DomainRows>(list: T, events: readonly AdminEvent[]): T {
  const { domain } = list;
  const relevant = events.filter((e) => concerns(e, domain));
  if (relevant.length === 0) return list;

  // Keyed by address in list order; rebuilt once per batch, which for 100,000 rows is a few milliseconds.
  const byAddress = new Map<string, MailboxSummary>();
  for (const row of list.rows) byAddress.set(row.address, row);
  let { domainLocked, domainProblem } = list;

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
          // A domain lock or unlock that changed something rewrote the domain's state file, so a damaged one is whole again.
          domainLocked = locked;
          domainProblem = null;
          for (const [address, row] of byAddress) byAddress.set(address, withOptional(withDomainLocked(row, locked), 'domainProblem', null));
        } else if (event.type === 'locked') {
          const lock = event.lock;
          update(event.target, (row) => ({ ...row, lock, locked: isLocked(row.domainLocked, lock) }));
        } else {
          update(event.target, (row) => ({ ...row, lock: null, locked: isLocked(row.domainLocked, null) }));
        }
        break;
      }
      case 'stateProblem': {
        // A damaged file's lock cannot be read: the service lists it as no lock (log-in fails closed all the same), and so does the view.
        const damaged = event.problem !== null;
        if (event.kind === 'domain') {
          domainProblem = event.problem;
          if (damaged) domainLocked = false;
          for (const [address, row] of byAddress) {
            byAddress.set(address, withOptional(damaged ? withDomainLocked(row, false) : row, 'domainProblem', event.problem));
          }
        } else {
          update(event.target, (row) => withOptional(damaged ? { ...row, lock: null, locked: isLocked(row.domainLocked, null) } : row, 'problem', event.problem));
        }
        break;
      }
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
            locked: isLocked(domainLocked, null),
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
  return { ...list, rows: [...byAddress.values()], domainLocked, domainProblem };
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
