/**
 * The actions an administrator can take on each kind of item, with when
 * each applies and, when it does not, why.
 */

import type { DomainSummary, MailboxSummary, SessionInfo } from '../../../shared/contract.js';
import { computersApi } from '../api.js';
import { computerById } from '../state/computers-store.js';
import { disconnectComputer, removeComputer } from '../state/computer-commands.js';
import { refreshAll } from '../state/loaders.js';
import { openDomain } from '../state/navigation.js';
import { endSessions, lockTargets, unlockTargets } from '../state/operations.js';
import { openDialog } from '../state/ui-store.js';
import type { ActionContext } from './action-context.js';
import { SEPARATOR, tidy, type MenuCommand, type MenuEntry } from './menu-model.js';

function command(id: string, label: string, run: () => void, extra: Partial<Omit<MenuCommand, 'type' | 'id' | 'label' | 'run'>> = {}): MenuCommand {
  return { type: 'command', id, label, run, enabled: true, ...extra };
}

function disabledUnless(ok: boolean, reason: string): Pick<MenuCommand, 'enabled' | 'reason'> {
  return ok ? { enabled: true } : { enabled: false, reason };
}

const refresh = (): MenuCommand => command('refresh', 'Refresh', () => void refreshAll(), { shortcut: 'F5' });

function describe(names: readonly string[], many: string): string {
  return names.length === 1 ? (names[0] as string) : `${names.length.toLocaleString('en-US')} ${many}`;
}

function mailboxActions(domain: string, mailboxes: readonly MailboxSummary[]): MenuEntry[] {
  const addresses = mailboxes.map((m) => m.address);
  const single = mailboxes.length === 1 ? mailboxes[0] : undefined;
  const lockable = mailboxes.filter((m) => m.lock === null);
  const ownLocked = mailboxes.filter((m) => m.lock !== null);
  const unlockable = ownLocked.filter((m) => !m.domainLocked);
  const domainLocked = mailboxes.some((m) => m.domainLocked);

  let unlockReason = mailboxes.length === 1 ? 'This mailbox is not locked.' : 'None of the selected mailboxes is locked.';
  if (domainLocked && unlockable.length === 0) {
    unlockReason = `The domain ${domain} is locked, so its mailboxes cannot be unlocked one by one. Unlock the domain first (Unlock Domain, below).`;
  }
  const lockReason = mailboxes.length === 1 ? 'This mailbox is already locked.' : 'All the selected mailboxes are already locked.';
  const what = describe(addresses, 'mailboxes');

  return tidy([
    command('lock', 'Lock', () => void lockTargets(lockable.map((m) => m.address)), {
      ...disabledUnless(lockable.length > 0, lockReason),
    }),
    command('lock-reason', 'Lock with Reason…', () => openDialog({ kind: 'lockReason', targets: lockable.map((m) => m.address) }), {
      ...disabledUnless(lockable.length > 0, lockReason),
    }),
    command('unlock', 'Unlock', () => void unlockTargets(ownLocked.map((m) => m.address)), {
      ...disabledUnless(unlockable.length > 0, unlockReason),
    }),
    // The way out of the disabled Unlock above: each mailbox keeps its own lock.
    ...(domainLocked ? [command('unlock-domain', 'Unlock Domain', () => void unlockTargets([domain]))] : []),
    SEPARATOR,
    command('change-password', 'Change Password…', () => single && openDialog({ kind: 'changePassword', address: single.address }), {
      ...disabledUnless(single !== undefined, 'Select one mailbox to change its password.'),
    }),
    command('delete', 'Delete…', () => openDialog({ kind: 'delete', request: { kind: 'mailbox', addresses } }), { shortcut: 'Del' }),
    SEPARATOR,
    refresh(),
    SEPARATOR,
    command('properties', 'Properties', () => single && openDialog({ kind: 'mailboxProperties', address: single.address }), {
      ...disabledUnless(single !== undefined, `Select one mailbox to see its properties (${what} selected).`),
      isDefault: true,
    }),
  ]);
}

function domainActions(domains: readonly DomainSummary[], fromTree: boolean): MenuEntry[] {
  const names = domains.map((d) => d.name);
  const single = domains.length === 1 ? domains[0] : undefined;
  const lockable = domains.filter((d) => d.lock === null);
  const unlockable = domains.filter((d) => d.lock !== null);
  const lockReason = domains.length === 1 ? 'This domain is already locked.' : 'All the selected domains are already locked.';
  return tidy([
    ...(!fromTree && single ? [command('open', 'Open', () => openDomain(single.name), { isDefault: true }), SEPARATOR] : []),
    command('lock', 'Lock', () => void lockTargets(lockable.map((d) => d.name)), {
      ...disabledUnless(lockable.length > 0, lockReason),
    }),
    command('lock-reason', 'Lock with Reason…', () => openDialog({ kind: 'lockReason', targets: lockable.map((d) => d.name) }), {
      ...disabledUnless(lockable.length > 0, lockReason),
    }),
    command('unlock', 'Unlock', () => void unlockTargets(unlockable.map((d) => d.name)), {
      ...disabledUnless(unlockable.length > 0, domains.length === 1 ? 'This domain is not locked.' : 'None of the selected domains is locked.'),
    }),
    SEPARATOR,
    {
      type: 'submenu',
      id: 'new',
      label: 'New',
      enabled: single !== undefined,
      children: [command('new-mailbox', 'Mailbox…', () => single && openDialog({ kind: 'newMailbox', domain: single.name }))],
    },
    command('delete', 'Delete…', () => openDialog({ kind: 'delete', request: { kind: 'domain', domains: names } }), { shortcut: 'Del' }),
    SEPARATOR,
    refresh(),
  ]);
}

/** End Session: closes the selected sessions as a lock does (their deletions discarded); no lock is set, so no confirmation, as Lock asks none. */
function sessionActions(computer: string | undefined, sessions: readonly SessionInfo[]): MenuEntry[] {
  return tidy([
    command('end-session', sessions.length > 1 ? `End ${sessions.length.toLocaleString('en-US')} Sessions` : 'End Session', () => void endSessions(computer, sessions), {
      ...disabledUnless(sessions.length > 0, 'Select a session in the list to end it.'),
      shortcut: 'Del',
    }),
    SEPARATOR,
    refresh(),
  ]);
}

function computerActions(): MenuEntry[] {
  return [
    {
      type: 'submenu',
      id: 'new',
      label: 'New',
      enabled: true,
      children: [command('new-domain', 'Domain…', () => openDialog({ kind: 'newDomain' }))],
    },
    SEPARATOR,
    refresh(),
    SEPARATOR,
    command('properties', 'Properties', () => openDialog({ kind: 'properties' }), { isDefault: true }),
  ];
}

function remoteActions(id: string): MenuEntry[] {
  const info = computerById(id);
  const state = info?.state;
  return tidy([
    ...(state === 'fingerprintChanged' || state === 'unconfirmed'
      ? [command('accept-certificate', state === 'unconfirmed' ? 'Confirm Certificate…' : 'Accept New Certificate…', () => openDialog({ kind: 'connectComputer', computer: id }))]
      : []),
    command('connect', 'Connect…', () => openDialog({ kind: 'connectComputer', computer: id }), {
      ...disabledUnless(state !== 'connected' && state !== 'connecting', state === 'connected' ? 'This computer is connected.' : 'Connecting now.'),
    }),
    command('disconnect', 'Disconnect', () => void disconnectComputer(id), {
      ...disabledUnless(state !== 'signedOut', 'This computer is not connected.'),
    }),
    command('remove', 'Remove', () => void removeComputer(id)),
    SEPARATOR,
    refresh(),
  ]);
}

/** The actions for a context, in the order the menus show them. */
export function actionsFor(context: ActionContext): MenuEntry[] {
  switch (context.kind) {
    case 'root':
      return tidy([
        ...(computersApi() ? [command('connect-computer', 'Connect to Another Computer…', () => openDialog({ kind: 'connectComputer' })), SEPARATOR] : []),
        refresh(),
        SEPARATOR,
        command('about', 'About POP3 Service', () => openDialog({ kind: 'about' })),
      ]);
    case 'remote':
      return remoteActions(context.computer);
    case 'computer':
      return computerActions();
    case 'domains':
      return domainActions(context.domains, context.fromTree);
    case 'mailboxes':
      return mailboxActions(context.domain, context.mailboxes);
    case 'sessions':
      return sessionActions(context.computer, context.sessions);
    default:
      return assertNever(context);
  }
}

function assertNever(value: never): never {
  throw new Error(`Unhandled action context: ${JSON.stringify(value)}`);
}
