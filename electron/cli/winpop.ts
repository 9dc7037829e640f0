/**
 * `winpop`: the command line of the POP3 service.
 *
 * Each command becomes one operation of the shared contract, run through the
 * running service when there is one, or on the store directly.
 */

import { AUTH_METHODS, PASSWORD_FILE_AUTH, type AdminApi, type SessionInfo, type Settings } from '../../shared/contract.js';
import { AdminError, toErrorShape } from '../../shared/errors.js';
import { openAdmin, type OpenedAdmin } from '../service/admin/open-admin.js';
import { PromptCancelled, type HiddenPrompt } from './hidden-prompt.js';
import { parseArgs, UsageError, type Command, type Invocation, type PasswordSource } from './winpop-args.js';
import { formatAdmins, formatBulk, formatCounters, formatDomains, formatLockResult, formatMailboxes, formatSessions, formatStat } from './winpop-format.js';
import { helpText } from './winpop-help.js';
import { plural } from '../../shared/format.js';
import { normalizeDomain, parseAddress } from '../../shared/names.js';
import { isLoopbackAddress } from '../service/loopback.js';
import { needsRestart, patchFor, viewSetting } from './winpop-settings.js';

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** All of standard input, for a password given as `-`. */
  readonly readStdin: () => Promise<string>;
  /** A prompt that does not echo, when standard input is a terminal; absent when it is not. */
  readonly openPrompt?: () => HiddenPrompt;
}

/** Asks this often for a password when the answer is empty. */
const EMPTY_ANSWERS_ALLOWED = 3;

interface Output {
  readonly text: string;
  readonly json: unknown;
  /** Non-zero when part of a bulk command failed. */
  readonly exitCode?: number;
}

/** What to type instead of a password on the command line. */
function saferForms(command: Extract<Command, { cmd: 'add' | 'changepwd' }>): string {
  const line = command.cmd === 'add' ? `winpop add ${command.target} /createuser` : `winpop changepwd ${command.address}`;
  return `leave the password out to be asked for it (${line}), or give - and pipe it in (printf %s "$PW" | ${line} -)`;
}

/** Asks twice, without echo, until the two agree; an empty answer is asked again. */
async function promptPassword(prompt: HiddenPrompt, address: string, io: Io): Promise<string> {
  try {
    for (let tries = 1; ; tries++) {
      const first = await prompt.ask(`New password for ${address}: `);
      if (first === '') {
        if (tries >= EMPTY_ANSWERS_ALLOWED) throw new AdminError('INVALID_ARGUMENT', 'No password typed. Nothing was changed.');
        io.stderr('The password cannot be empty. Type one, or press Ctrl+C to cancel.\n');
        continue;
      }
      const again = await prompt.ask('Type it again: ');
      if (again !== first) throw new AdminError('INVALID_ARGUMENT', 'The two passwords do not match. Nothing was changed; run the command again.');
      return first;
    }
  } finally {
    prompt.close();
  }
}

/** The password of an add or changepwd command, from wherever it was given; undefined when none is needed. */
async function obtainPassword(command: Exclude<Command, { cmd: 'help' }>, io: Io): Promise<string | undefined> {
  if (command.cmd === 'admin') return command.action === 'add' || command.action === 'passwd' ? obtainAdminPassword(command.name, command.action, command.password, io) : undefined;
  if (command.cmd === 'set' && command.setting === 'ldapbindpassword') {
    const word = command.values[0];
    if (word !== undefined && word.toLowerCase() === 'none') return undefined;
    return obtainSecret('directory service account', 'winpop set ldapbindpassword', word === '-' ? 'stdin' : 'prompt', io);
  }
  if (command.cmd !== 'add' && command.cmd !== 'changepwd') return undefined;
  const address = command.cmd === 'add' ? command.target : command.address;
  const source: PasswordSource | undefined = command.password;
  if (source === undefined) return undefined;
  switch (source.from) {
    case 'argv':
      io.stderr(
        `winpop: warning: a password on the command line can be read by every user of this computer in the process list, and stays in the shell history. Next time, ${saferForms(command)}.\n`,
      );
      return source.value;
    case 'stdin': {
      const password = (await io.readStdin()).replace(/\r?\n$/, '');
      if (password === '') throw new UsageError('No password on standard input. Pipe it in, for example: printf %s "$PW" | winpop …');
      return password;
    }
    case 'prompt': {
      if (!io.openPrompt) {
        throw new UsageError(
          `No password given, and standard input is not a terminal to ask for one. Give - and pipe the password in: printf %s "$PW" | ${command.cmd === 'add' ? `winpop add ${address} /createuser` : `winpop changepwd ${address}`} -`,
        );
      }
      return promptPassword(io.openPrompt(), address, io);
    }
  }
}

/** An admin account's password: typed twice without echo, or all of standard input. */
async function obtainAdminPassword(name: string, action: 'add' | 'passwd', source: { readonly from: 'prompt' | 'stdin' }, io: Io): Promise<string> {
  return obtainSecret(`admin ${name}`, `winpop admin ${action} ${name}`, source.from, io);
}

/** A password never taken from the command line: typed twice without echo, or all of standard input. */
async function obtainSecret(whose: string, line: string, from: 'prompt' | 'stdin', io: Io): Promise<string> {
  if (from === 'stdin') {
    const password = (await io.readStdin()).replace(/\r?\n$/, '');
    if (password === '') throw new UsageError(`No password on standard input. Pipe it in, for example: printf %s "$PW" | ${line} -`);
    return password;
  }
  if (!io.openPrompt) {
    throw new UsageError(`No password given, and standard input is not a terminal to ask for one. Give - and pipe the password in: printf %s "$PW" | ${line} -`);
  }
  return promptPassword(io.openPrompt(), whose, io);
}

/** `winpop admin …`: the admin endpoint's accounts. */
async function executeAdmin(command: Extract<Command, { cmd: 'admin' }>, password: string | undefined, opened: OpenedAdmin): Promise<Output> {
  const running = opened.mode === 'remote';
  switch (command.action) {
    case 'list': {
      const admins = await opened.accounts.listAdmins({});
      return { text: formatAdmins(admins, running), json: { admins } };
    }
    case 'add': {
      const a = await opened.accounts.addAdmin({ name: command.name, password: password as string });
      return { text: `Admin ${a.name} added. It signs in to the admin endpoint with this password (winpop get adminport shows whether the endpoint is on).`, json: a };
    }
    case 'passwd': {
      const r = await opened.accounts.changeAdminPassword({ name: command.name, password: password as string });
      const ended = r.sessionsEnded > 0 ? ` ${plural(r.sessionsEnded, 'session')} signed in with the old one ended.` : '';
      return { text: `Password of admin ${r.name} changed.${ended}`, json: r };
    }
    case 'link': {
      const link = await opened.accounts.signInLink({});
      return { text: `${link.url}\nOpens one session, once, until ${link.expires}; whoever has it can administer this service until then.`, json: link };
    }
    case 'delete': {
      const r = await opened.accounts.deleteAdmin({ name: command.name });
      const ended = r.sessionsEnded > 0 ? ` ${plural(r.sessionsEnded, 'session')} of it ended.` : '';
      return { text: `Admin ${r.name} deleted.${ended}`, json: r };
    }
  }
}

/** Said when no service runs for the mail root: sessions exist only in a running service. */
function notRunning(opened: OpenedAdmin): string {
  return `The POP3 service is not running for the mail root ${opened.mailroot}, so no POP3 session is open.`;
}

/** `winpop sessions [Domain]`. */
async function listSessions(command: Extract<Command, { cmd: 'sessions' }>, api: AdminApi, opened: OpenedAdmin): Promise<Output> {
  const domain = command.domain === undefined ? undefined : normalizeDomain(command.domain);
  const running = opened.mode === 'remote';
  const sessions = running ? await api.listSessions(domain === undefined ? {} : { domain }) : [];
  const text = running ? formatSessions(sessions, domain) : notRunning(opened);
  return { text, json: { running, ...(domain === undefined ? {} : { domain }), sessions } };
}

/**
 * `winpop kick User@Domain`: ends every open session of the mailbox, as the
 * console's End Session does; no lock, so the user may log in again.
 */
async function kick(command: Extract<Command, { cmd: 'kick' }>, api: AdminApi, opened: OpenedAdmin): Promise<Output> {
  const { address, domain } = parseAddress(command.address);
  if (opened.mode !== 'remote') return { text: `${notRunning(opened)} Nothing to end.`, json: { address, running: false, ended: [] } };
  const open = (await api.listSessions({ domain })).filter((s) => s.address === address);
  const ended: SessionInfo[] = [];
  for (const session of open) {
    try {
      ended.push(await api.endSession({ id: session.id }));
    } catch (err) {
      // Ended meanwhile (its user quit, or another admin): what kick wanted.
      if (toErrorShape(err).code !== 'NOT_FOUND') throw err;
    }
  }
  if (ended.length === 0) return { text: `No POP3 session of ${address} is open; nothing to end.`, json: { address, running: true, ended } };
  const from = ended.map((s) => s.client).join(', ');
  return {
    text: `Ended ${plural(ended.length, 'POP3 session')} of ${address} (from ${from}); no message marked for deletion was deleted. Its user may log in again; to keep it out: winpop lock ${address}`,
    json: { address, running: true, ended },
  };
}

async function execute(command: Exclude<Command, { cmd: 'help' }>, password: string | undefined, api: AdminApi, opened: OpenedAdmin): Promise<Output> {
  switch (command.cmd) {
    case 'sessions':
      return listSessions(command, api, opened);
    case 'kick':
      return kick(command, api, opened);
    case 'admin':
      return executeAdmin(command, password, opened);
    case 'add': {
      if (!command.target.includes('@')) {
        const d = await api.addDomain({ domain: command.target });
        return { text: `Domain ${d.name} added.`, json: d };
      }
      // Under the Directory (or system accounts) method a mailbox has no password of its own.
      const auth = password === undefined ? (await api.getSettings({})).auth : PASSWORD_FILE_AUTH;
      if (auth !== PASSWORD_FILE_AUTH) {
        const m = await api.addMailbox({ address: command.target });
        return { text: `Mailbox ${m.address} added; its user logs in with the password kept by the ${AUTH_METHODS[auth]} method.`, json: m };
      }
      if (password === undefined) {
        throw new UsageError(
          `With the Encrypted Password File method a mailbox needs a password: winpop add ${command.target} /createuser (it asks for the password), or /createuser - to read it from standard input.`,
        );
      }
      const m = await api.addMailbox({ address: command.target, password });
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
    case 'testldap': {
      const result = await api.testDirectory(command.address === undefined ? {} : { address: command.address });
      const steps = result.steps.map((st) => `${st.ok ? 'ok  ' : 'FAIL'} ${st.step.padEnd(6)} ${st.url}: ${st.detail}`);
      return { text: [...steps, result.message].join('\n'), json: result, exitCode: result.ok ? 0 : 1 };
    }
    case 'stat': {
      const stat = await api.stat(command.domain === undefined ? {} : { domain: command.domain });
      // The running service's counters after the store's figures; null (and no lines) when none runs.
      const counters = opened.mode === 'remote' ? await api.counters({}) : null;
      return { text: counters === null ? formatStat(stat) : `${formatStat(stat)}\n\n${formatCounters(counters)}`, json: { ...stat, counters } };
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
      const r = await api.changePassword({ address: command.address, password: password as string });
      return { text: `Password of ${r.address} changed.`, json: r };
    }
    case 'get': {
      const view = viewSetting(command.setting, await api.getSettings({}));
      return { text: view.text, json: view.json };
    }
    case 'set': {
      const settings: Settings = await api.setSettings({ patch: patchFor(command.setting, command.values, password) });
      if (command.setting === 'ldapbindpassword') {
        return { text: password === undefined ? 'Directory service password forgotten.' : 'Directory service password saved (it is never shown).', json: { ldapbindpassword: password === undefined ? 'none' : 'saved' } };
      }
      const view = viewSetting(command.setting, settings);
      const later = needsRestart(command.setting)
        ? opened.mode === 'remote'
          ? ' It applies when the service next starts.'
          : ' It applies when the service starts.'
        : '';
      const remoteUse = command.setting === 'adminlisten' && settings.adminListen.some((a) => !isLoopbackAddress(a))
        ? ' The admin endpoint now takes connections from other computers: only admin accounts (winpop admin add) can sign in, over TLS.'
        : '';
      return { text: `${command.setting} set to ${view.text.replace(/\n/g, ', ')}.${later}${remoteUse}`, json: view.json };
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
    // Asked before the store is opened: a cancelled prompt leaves everything as it was.
    const password = await obtainPassword(command, io);
    opened = await openAdmin({
      ...(invocation.config ? { configPath: invocation.config } : {}),
      ...(invocation.mailroot ? { mailroot: invocation.mailroot } : {}),
      // Only commands that set a store up may create its folder; the rest report a missing one.
      create: command.cmd === 'add' || command.cmd === 'set' || command.cmd === 'get' || (command.cmd === 'admin' && command.action === 'add'),
    });
    const out = await execute(command, password, opened.api, opened);
    io.stdout(json ? `${JSON.stringify(out.json, null, 2)}\n` : `${out.text}\n`);
    return out.exitCode ?? 0;
  } catch (err) {
    if (err instanceof PromptCancelled) {
      io.stderr('winpop: cancelled; nothing was changed.\n');
      // What a shell reports for a command ended by Ctrl+C (128 + SIGINT).
      return 130;
    }
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
