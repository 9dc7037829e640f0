/**
 * `winpop`: the command line of the POP3 service.
 *
 * Each command becomes one operation of the shared contract, run through the
 * running service when there is one, or on the store directly.
 */

import type { AdminApi, Settings } from '../../shared/contract.js';
import { toErrorShape } from '../../shared/errors.js';
import { openAdmin, type OpenedAdmin } from '../service/admin/open-admin.js';
import { parseArgs, UsageError, type Command, type Invocation } from './winpop-args.js';
import { formatBulk, formatDomains, formatLockResult, formatMailboxes, formatStat } from './winpop-format.js';
import { helpText } from './winpop-help.js';
import { needsRestart, patchFor, viewSetting } from './winpop-settings.js';

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** All of standard input, for a password given as `-`. */
  readonly readStdin: () => Promise<string>;
}

interface Output {
  readonly text: string;
  readonly json: unknown;
  /** Non-zero when part of a bulk command failed. */
  readonly exitCode?: number;
}

async function readPassword(value: string, io: Io): Promise<string> {
  if (value !== '-') return value;
  const text = await io.readStdin();
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('No password on standard input. Pipe it in, for example: printf %s "$PW" | winpop …');
  return password;
}

async function execute(command: Exclude<Command, { cmd: 'help' }>, api: AdminApi, opened: OpenedAdmin, io: Io): Promise<Output> {
  switch (command.cmd) {
    case 'add': {
      if (!command.target.includes('@')) {
        const d = await api.addDomain({ domain: command.target });
        return { text: `Domain ${d.name} added.`, json: d };
      }
      if (command.password === undefined) {
        throw new UsageError(
          `With the Encrypted Password File method a mailbox needs a password: winpop add ${command.target} /createuser Password (or /createuser - to read it from standard input).`,
        );
      }
      const m = await api.addMailbox({ address: command.target, password: await readPassword(command.password, io) });
      return { text: `Mailbox ${m.address} added.`, json: m };
    }
    case 'delete': {
      if (!command.target.includes('@')) {
        const r = await api.deleteDomain({ domain: command.target });
        return { text: `Domain ${r.domain} deleted, with its mailboxes and all their mail.`, json: r };
      }
      const r = await api.deleteMailbox({ address: command.target });
      return { text: `Mailbox ${r.address} deleted, with all its mail.`, json: r };
    }
    case 'list': {
      if (command.domain === undefined) {
        const domains = await api.listDomains({});
        return { text: formatDomains(domains), json: { domains } };
      }
      const mailboxes = await api.listMailboxes({ domain: command.domain });
      const domain = command.domain.toLowerCase();
      return { text: formatMailboxes(domain, mailboxes), json: { domain, mailboxes } };
    }
    case 'stat': {
      const stat = await api.stat(command.domain === undefined ? {} : { domain: command.domain });
      return { text: formatStat(stat), json: stat };
    }
    case 'lock':
    case 'unlock': {
      if (command.targets.length === 1) {
        const target = command.targets[0] as string;
        const r = command.cmd === 'lock'
          ? await api.lock({ target, ...(command.reason ? { reason: command.reason } : {}) })
          : await api.unlock({ target });
        return { text: formatLockResult(r), json: r };
      }
      const targets = [...command.targets];
      const results = command.cmd === 'lock'
        ? await api.lockMany({ targets, ...(command.reason ? { reason: command.reason } : {}) })
        : await api.unlockMany({ targets });
      const failed = results.filter((r) => !r.ok).length;
      return { text: formatBulk(results), json: { results }, exitCode: failed > 0 ? 1 : 0 };
    }
    case 'changepwd': {
      const r = await api.changePassword({ address: command.address, password: await readPassword(command.password, io) });
      return { text: `Password of ${r.address} changed.`, json: r };
    }
    case 'get': {
      const view = viewSetting(command.setting, await api.getSettings({}));
      return { text: view.text, json: view.json };
    }
    case 'set': {
      const settings: Settings = await api.setSettings({ patch: patchFor(command.setting, command.values) });
      const view = viewSetting(command.setting, settings);
      const later = needsRestart(command.setting)
        ? opened.mode === 'remote'
          ? ' It applies when the service next starts.'
          : ' It applies when the service starts.'
        : '';
      return { text: `${command.setting} set to ${view.text.replace(/\n/g, ', ')}.${later}`, json: view.json };
    }
  }
}

/** Runs one winpop command line; resolves to the exit code. */
export async function runWinpop(argv: readonly string[], io: Io): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseArgs(argv);
  } catch (err) {
    io.stderr(`winpop: ${(err as Error).message}\nType winpop help for the syntax.\n`);
    return 2;
  }
  const { command, json } = invocation;
  if (command.cmd === 'help') {
    io.stdout(`${helpText(command.topic)}\n`);
    return 0;
  }
  let opened: OpenedAdmin | undefined;
  try {
    opened = await openAdmin({
      ...(invocation.config ? { configPath: invocation.config } : {}),
      ...(invocation.mailroot ? { mailroot: invocation.mailroot } : {}),
      // Only commands that set a store up may create its folder; the rest report a missing one.
      create: command.cmd === 'add' || command.cmd === 'set' || command.cmd === 'get',
    });
    const out = await execute(command, opened.api, opened, io);
    io.stdout(json ? `${JSON.stringify(out.json, null, 2)}\n` : `${out.text}\n`);
    return out.exitCode ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`winpop: ${err.message}\n`);
      return 2;
    }
    const shape = toErrorShape(err);
    if (json) io.stdout(`${JSON.stringify({ error: shape }, null, 2)}\n`);
    io.stderr(`winpop: ${shape.message}\n`);
    return 1;
  } finally {
    opened?.close();
  }
}
