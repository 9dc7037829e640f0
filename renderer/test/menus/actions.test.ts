/**
 * actions: what the Action menu, the toolbar and the context menus offer for
 * each selection, when each entry is disabled, and the reason shown (the
 * tooltip; the toolbar adds it after the label), word for word. Lock and
 * Unlock then run against a real admin service, as the console's `window.winpop`.
 */

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { AdminApi, DomainSummary, LockInfo, MailboxSummary, SessionInfo } from '../../../shared/contract.js';
import type { ActionContext } from '../../src/menus/action-context.js';
import { actionsFor } from '../../src/menus/actions.js';
import { findCommand, type MenuCommand, type MenuEntry, type MenuSubmenu } from '../../src/menus/menu-model.js';
import { initialUi, useUi } from '../../src/state/ui-store.js';
import { openTestService, type TestService } from '../../../e2e/helpers/admin-service.js';

const DOMAIN = 'example.com';
const LOCK: LockInfo = { by: 'earlier-admin', at: '2024-05-01T10:00:00.000Z', reason: 'left the company' };

function domain(name: string, lock: LockInfo | null = null): DomainSummary {
  return { name, mailboxes: 2, messages: 3, bytes: 4096, lock };
}

function mailbox(name: string, own: LockInfo | null = null, domainLocked = false): MailboxSummary {
  return { name, domain: DOMAIN, address: `${name}@${DOMAIN}`, messages: 0, bytes: 0, lock: own, domainLocked, locked: domainLocked || own !== null };
}

const mailboxes = (...rows: MailboxSummary[]): ActionContext => ({ kind: 'mailboxes', domain: DOMAIN, mailboxes: rows });
const domains = (fromTree: boolean, ...rows: DomainSummary[]): ActionContext => ({ kind: 'domains', domains: rows, fromTree });

function command(context: ActionContext, id: string): MenuCommand {
  const found = findCommand(actionsFor(context), id);
  assert.ok(found, `the menu for ${JSON.stringify(context)} should have "${id}"`);
  return found;
}

/** A command as the administrator sees it: its label, and either enabled or the reason it is not. */
function seen(context: ActionContext, id: string): string {
  const c = command(context, id);
  return c.enabled ? `${c.label}` : `${c.label} (disabled: ${c.reason ?? 'NO REASON GIVEN'})`;
}

/** The menu as a list of lines: labels, `—` for separators, submenus with their children. */
function outline(entries: readonly MenuEntry[]): string[] {
  return entries.flatMap((e): string[] => {
    if (e.type === 'separator') return ['—'];
    const marks = [e.type === 'command' && e.shortcut ? `[${e.shortcut}]` : '', e.type === 'command' && e.isDefault ? '(default)' : '', e.enabled ? '' : '(disabled)']
      .filter(Boolean)
      .join(' ');
    const line = marks ? `${e.label} ${marks}` : e.label;
    return e.type === 'submenu' ? [line, ...outline(e.children).map((c) => `  ${c}`)] : [line];
  });
}

describe('the menus for each kind of item', () => {
  test('the service root and the computer', () => {
    assert.deepEqual(outline(actionsFor({ kind: 'root' })), ['Refresh [F5]', '—', 'About POP3 Service']);
    assert.deepEqual(outline(actionsFor({ kind: 'computer' })), ['New', '  Domain…', '—', 'Refresh [F5]', '—', 'Properties (default)']);
  });

  test('one domain in the tree, and in the computer’s list (where Open comes first and is the default)', () => {
    const tail = ['Lock', 'Lock with Reason…', 'Unlock (disabled)', '—', 'New', '  Mailbox…', 'Delete… [Del]', '—', 'Refresh [F5]'];
    assert.deepEqual(outline(actionsFor(domains(true, domain(DOMAIN)))), tail);
    assert.deepEqual(outline(actionsFor(domains(false, domain(DOMAIN)))), ['Open (default)', '—', ...tail]);
  });

  test('several domains: no Open, and New is disabled (a mailbox goes into one domain)', () => {
    const entries = actionsFor(domains(false, domain('a.example'), domain('b.example')));
    assert.equal(findCommand(entries, 'open'), undefined);
    const newMenu = entries.find((e): e is MenuSubmenu => e.type === 'submenu' && e.id === 'new');
    assert.equal(newMenu?.enabled, false);
  });

  test('mailboxes', () => {
    assert.deepEqual(outline(actionsFor(mailboxes(mailbox('alice')))), [
      'Lock',
      'Lock with Reason…',
      'Unlock (disabled)',
      '—',
      'Change Password…',
      'Delete… [Del]',
      '—',
      'Refresh [F5]',
      '—',
      'Properties (default)',
    ]);
  });
});

describe('enabled or not, and why: domains', () => {
  test('one unlocked domain', () => {
    const c = domains(true, domain(DOMAIN));
    assert.equal(seen(c, 'lock'), 'Lock');
    assert.equal(seen(c, 'lock-reason'), 'Lock with Reason…');
    assert.equal(seen(c, 'unlock'), 'Unlock (disabled: This domain is not locked.)');
  });

  test('one locked domain', () => {
    const c = domains(true, domain(DOMAIN, LOCK));
    assert.equal(seen(c, 'lock'), 'Lock (disabled: This domain is already locked.)');
    assert.equal(seen(c, 'lock-reason'), 'Lock with Reason… (disabled: This domain is already locked.)');
    assert.equal(seen(c, 'unlock'), 'Unlock');
  });

  test('several domains: each command is there when one of them needs it', () => {
    const none = domains(false, domain('a.example'), domain('b.example'));
    assert.equal(seen(none, 'lock'), 'Lock');
    assert.equal(seen(none, 'unlock'), 'Unlock (disabled: None of the selected domains is locked.)');
    const all = domains(false, domain('a.example', LOCK), domain('b.example', LOCK));
    assert.equal(seen(all, 'lock'), 'Lock (disabled: All the selected domains are already locked.)');
    assert.equal(seen(all, 'lock-reason'), 'Lock with Reason… (disabled: All the selected domains are already locked.)');
    assert.equal(seen(all, 'unlock'), 'Unlock');
    const mixed = domains(false, domain('a.example', LOCK), domain('b.example'));
    assert.equal(seen(mixed, 'lock'), 'Lock');
    assert.equal(seen(mixed, 'lock-reason'), 'Lock with Reason…');
    assert.equal(seen(mixed, 'unlock'), 'Unlock');
  });
});

describe('enabled or not, and why: mailboxes', () => {
  test('one unlocked mailbox', () => {
    const c = mailboxes(mailbox('alice'));
    assert.equal(seen(c, 'lock'), 'Lock');
    assert.equal(seen(c, 'unlock'), 'Unlock (disabled: This mailbox is not locked.)');
    assert.equal(seen(c, 'change-password'), 'Change Password…');
    assert.equal(seen(c, 'properties'), 'Properties');
  });

  test('one locked mailbox', () => {
    const c = mailboxes(mailbox('bob', LOCK));
    assert.equal(seen(c, 'lock'), 'Lock (disabled: This mailbox is already locked.)');
    assert.equal(seen(c, 'lock-reason'), 'Lock with Reason… (disabled: This mailbox is already locked.)');
    assert.equal(seen(c, 'unlock'), 'Unlock');
  });

  test('a mailbox locked only through its domain: it can take its own lock, and cannot be unlocked on its own', () => {
    const c = mailboxes(mailbox('alice', null, true));
    assert.equal(seen(c, 'lock'), 'Lock');
    // The way out is offered beside the reason.
    assert.equal(seen(c, 'unlock-domain'), 'Unlock Domain');
    assert.equal(
      seen(c, 'unlock'),
      'Unlock (disabled: The domain example.com is locked, so its mailboxes cannot be unlocked one by one. Unlock the domain first (Unlock Domain, below).)',
    );
  });

  test('a mailbox locked itself and through its domain: neither Lock nor Unlock, and Unlock says why', () => {
    const c = mailboxes(mailbox('bob', LOCK, true));
    assert.equal(seen(c, 'lock'), 'Lock (disabled: This mailbox is already locked.)');
    assert.equal(
      seen(c, 'unlock'),
      'Unlock (disabled: The domain example.com is locked, so its mailboxes cannot be unlocked one by one. Unlock the domain first (Unlock Domain, below).)',
    );
  });

  test('several mailboxes: Lock and Unlock for those that need it; Change Password and Properties need one', () => {
    const none = mailboxes(mailbox('alice'), mailbox('carol'));
    assert.equal(seen(none, 'lock'), 'Lock');
    assert.throws(() => command(none, 'unlock-domain'), 'Unlock Domain only where the domain is locked');
    assert.equal(seen(none, 'unlock'), 'Unlock (disabled: None of the selected mailboxes is locked.)');
    assert.equal(seen(none, 'change-password'), 'Change Password… (disabled: Select one mailbox to change its password.)');
    assert.equal(seen(none, 'properties'), 'Properties (disabled: Select one mailbox to see its properties (2 mailboxes selected).)');
    assert.equal(seen(none, 'delete'), 'Delete…');

    const all = mailboxes(mailbox('alice', LOCK), mailbox('bob', LOCK));
    assert.equal(seen(all, 'lock'), 'Lock (disabled: All the selected mailboxes are already locked.)');
    assert.equal(seen(all, 'lock-reason'), 'Lock with Reason… (disabled: All the selected mailboxes are already locked.)');
    assert.equal(seen(all, 'unlock'), 'Unlock');

    const mixed = mailboxes(mailbox('alice'), mailbox('bob', LOCK));
    assert.equal(seen(mixed, 'lock'), 'Lock');
    assert.equal(seen(mixed, 'unlock'), 'Unlock');

    // In a locked domain, own locks cannot be lifted one by one; the domain's reason wins over "none is locked".
    const underDomain = mailboxes(mailbox('alice', LOCK, true), mailbox('carol', null, true));
    assert.equal(seen(underDomain, 'lock'), 'Lock');
    assert.equal(
      seen(underDomain, 'unlock'),
      'Unlock (disabled: The domain example.com is locked, so its mailboxes cannot be unlocked one by one. Unlock the domain first (Unlock Domain, below).)',
    );
  });

  test('a large selection is counted with thousands separators', () => {
    const rows = Array.from({ length: 1234 }, (_, i) => mailbox(`user${i}`));
    assert.equal(seen(mailboxes(...rows), 'properties'), 'Properties (disabled: Select one mailbox to see its properties (1,234 mailboxes selected).)');
  });
});

describe('what the commands do', () => {
  let service: TestService;
  const host = globalThis as unknown as { window?: { winpop: AdminApi } };

  before(async () => {
    service = await openTestService([DOMAIN], ['alice', 'bob', 'carol'].map((n) => `${n}@${DOMAIN}`));
    // The console's only way out (api.ts) is `window.winpop`: here, the real admin operations.
    host.window = { winpop: service.admin };
  });
  after(async () => {
    delete host.window;
    await service?.close();
  });
  beforeEach(() => useUi.setState(initialUi));

  async function listed(): Promise<Map<string, MailboxSummary>> {
    return new Map((await service.admin.listMailboxes({ domain: DOMAIN })).map((m) => [m.name, m]));
  }

  /** Runs a command and waits (polling, no fixed sleep) until its work is over and it has said so in the status bar. */
  async function runToStatus(c: MenuCommand): Promise<string> {
    c.run();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { busy, status } = useUi.getState();
      if (busy === null && status !== null) return status.text;
      assert.ok(Date.now() < deadline, `no status after 10 s (busy: ${busy})`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  test('Lock on a selection with a locked mailbox locks the others and leaves its lock (who, when, why) as it was', async () => {
    await service.admin.lock({ target: `bob@${DOMAIN}`, reason: 'left the company' });
    const bobBefore = (await listed()).get('bob')?.lock;
    const rows = await listed();
    const selection = mailboxes(...['alice', 'bob', 'carol'].map((n) => rows.get(n) as MailboxSummary));
    assert.equal(await runToStatus(command(selection, 'lock')), 'Locked 2 mailboxes.');
    const now = await listed();
    assert.deepEqual(
      [...now.values()].map((m) => [m.name, m.locked]),
      [
        ['alice', true],
        ['bob', true],
        ['carol', true],
      ],
    );
    assert.deepEqual(now.get('bob')?.lock, bobBefore);
  });

  test('Unlock of one mailbox unlocks it alone and names it', async () => {
    const rows = await listed();
    assert.equal(await runToStatus(command(mailboxes(rows.get('carol') as MailboxSummary), 'unlock')), `Unlocked carol@${DOMAIN}.`);
    assert.deepEqual(
      [...(await listed()).values()].map((m) => [m.name, m.locked]),
      [
        ['alice', true],
        ['bob', true],
        ['carol', false],
      ],
    );
  });

  test('Unlock on a selection with an unlocked mailbox unlocks the locked ones only', async () => {
    const rows = await listed();
    const selection = mailboxes(...['alice', 'bob', 'carol'].map((n) => rows.get(n) as MailboxSummary));
    assert.equal(await runToStatus(command(selection, 'unlock')), 'Unlocked 2 mailboxes.');
    assert.deepEqual(
      [...(await listed()).values()].map((m) => [m.name, m.locked]),
      [
        ['alice', false],
        ['bob', false],
        ['carol', false],
      ],
    );
  });

  test('Lock with Reason… opens the dialog for the unlocked ones only; Delete… for all of them', () => {
    const selection = mailboxes(mailbox('alice', LOCK), mailbox('carol'));
    command(selection, 'lock-reason').run();
    assert.deepEqual(useUi.getState().dialog, { kind: 'lockReason', targets: [`carol@${DOMAIN}`] });
    command(selection, 'delete').run();
    assert.deepEqual(useUi.getState().dialog, { kind: 'delete', request: { kind: 'mailbox', addresses: [`alice@${DOMAIN}`, `carol@${DOMAIN}`] } });
  });
});

describe('the Sessions node and its sessions', () => {
  const session = (id: string): SessionInfo => ({ id, address: 'ann@example.com', client: '127.0.0.1:4000', since: '2026-12-06T06:00:00.000Z', encrypted: false, state: 'transaction', listener: 'pop3' });

  test('End Session needs a session selected, and says so', () => {
    const none: ActionContext = { kind: 'sessions', computer: undefined, sessions: [] };
    assert.deepEqual(outline(actionsFor(none)), ['End Session [Del] (disabled)', '—', 'Refresh [F5]']);
    assert.equal(seen(none, 'end-session'), 'End Session (disabled: Select a session in the list to end it.)');
  });

  test('one or several selected: End Session, or End N Sessions', () => {
    assert.equal(seen({ kind: 'sessions', computer: undefined, sessions: [session('7-1')] }, 'end-session'), 'End Session');
    assert.equal(seen({ kind: 'sessions', computer: 'c-0123456789abcdef', sessions: [session('7-1'), session('7-2')] }, 'end-session'), 'End 2 Sessions');
  });
});
