/**
 * Parses a `winpop` command line into one command.
 *
 * The documented forms of the original are kept (`/createuser`, `/deleteuser`
 * switches, `set socket B M m T`); options are written `--name value` and may
 * stand anywhere. Every mistake becomes a UsageError whose text says what to
 * type instead.
 */

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const SETTING_NAMES = [
  'auth',
  'logging',
  'mailroot',
  'port',
  'smtpport',
  'socket',
  'socketbacklog',
  'socketmax',
  'socketmin',
  'socketthreshold',
  'sparequired',
  'threadcount',
  'timeout',
  'maxmessagesize',
  'pop3sport',
  'certfile',
  'keyfile',
  'logintimeout',
  'peraddress',
  'listen',
  'plaintextremote',
  'smtpmax',
  'smtpperaddress',
  'adminport',
  'adminlisten',
  'workers',
  // The Directory method (auth 2).
  'ldapurls',
  'ldapbase',
  'ldapfilter',
  'ldapbinddn',
  'ldapbindpassword',
  'ldapcafile',
  'ldaptimeout',
  'ldapcachettl',
] as const;
export type SettingName = (typeof SETTING_NAMES)[number];

/**
 * Where a password comes from: typed at a prompt (nothing given), standard
 * input (`-`), or the command line itself (visible in the process list).
 */
export type PasswordSource = { readonly from: 'prompt' } | { readonly from: 'stdin' } | { readonly from: 'argv'; readonly value: string };

export type Command =
  | { readonly cmd: 'help'; readonly topic?: string }
  | { readonly cmd: 'add'; readonly target: string; readonly password?: PasswordSource }
  | { readonly cmd: 'delete'; readonly target: string }
  | { readonly cmd: 'list'; readonly domain?: string }
  | { readonly cmd: 'lock'; readonly targets: readonly string[]; readonly reason?: string }
  | { readonly cmd: 'unlock'; readonly targets: readonly string[] }
  | { readonly cmd: 'stat'; readonly domain?: string }
  | { readonly cmd: 'testldap'; readonly address?: string }
  | { readonly cmd: 'changepwd'; readonly address: string; readonly password: PasswordSource }
  | { readonly cmd: 'get'; readonly setting: SettingName }
  | { readonly cmd: 'set'; readonly setting: SettingName; readonly values: readonly string[] }
  | { readonly cmd: 'sessions'; readonly domain?: string }
  | { readonly cmd: 'kick'; readonly address: string }
  | { readonly cmd: 'admin'; readonly action: 'list' | 'link' }
  | { readonly cmd: 'admin'; readonly action: 'delete'; readonly name: string }
  /** The password of an admin account: at a prompt or on standard input, never on the command line. */
  | { readonly cmd: 'admin'; readonly action: 'add' | 'passwd'; readonly name: string; readonly password: Exclude<PasswordSource, { from: 'argv' }> };

export interface Invocation {
  readonly command: Command;
  readonly config?: string;
  readonly mailroot?: string;
  readonly json: boolean;
}

const VALUE_OPTIONS = ['--config', '--mailroot', '--reason'] as const;

function passwordSource(word: string | undefined): PasswordSource {
  if (word === undefined) return { from: 'prompt' };
  return word === '-' ? { from: 'stdin' } : { from: 'argv', value: word };
}

function settingName(word: string | undefined, verb: 'get' | 'set'): SettingName {
  const name = word?.toLowerCase();
  if (!name) throw new UsageError(`winpop ${verb} needs a setting name: ${SETTING_NAMES.join(', ')}.`);
  if (!(SETTING_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`Unknown setting "${word}". Settings: ${SETTING_NAMES.join(', ')}.`);
  }
  return name as SettingName;
}

const ADMIN_USAGE = 'winpop admin {list | add Name [-] | passwd Name [-] | delete Name | link}';

/** `winpop admin …`: the accounts of the admin endpoint. */
function adminCommand(words: readonly string[]): Command {
  const [actionWord, ...rest] = words;
  const action = actionWord?.toLowerCase();
  switch (action) {
    case 'list':
    case 'link':
      exactly(rest, 0, `winpop admin ${action}`);
      return { cmd: 'admin', action };
    case 'delete':
      exactly(rest, 1, 'winpop admin delete Name');
      return { cmd: 'admin', action, name: rest[0] as string };
    case 'add':
    case 'passwd': {
      if (rest.length === 0) throw new UsageError(`Missing argument. Usage: winpop admin ${action} Name [-]`);
      atMost(rest, 2, `winpop admin ${action} Name [-]`);
      const [name, source] = rest as [string, string | undefined];
      if (source !== undefined && source !== '-') {
        throw new UsageError(
          `An admin password is never taken from the command line (every user of this computer could read it in the process list). Leave it out to be asked for it (winpop admin ${action} ${name}), or give - and pipe it in (printf %s "$PW" | winpop admin ${action} ${name} -).`,
        );
      }
      return { cmd: 'admin', action, name, password: source === '-' ? { from: 'stdin' } : { from: 'prompt' } };
    }
    default:
      throw new UsageError(actionWord === undefined ? `Missing argument. Usage: ${ADMIN_USAGE}` : `Unknown admin command "${actionWord}". Usage: ${ADMIN_USAGE}`);
  }
}

function exactly(words: readonly string[], count: number, usage: string): void {
  if (words.length < count) throw new UsageError(`Missing argument. Usage: ${usage}`);
  if (words.length > count) throw new UsageError(`Unexpected argument "${words[count]}". Usage: ${usage}`);
}

function atMost(words: readonly string[], count: number, usage: string): void {
  if (words.length > count) throw new UsageError(`Unexpected argument "${words[count]}". Usage: ${usage}`);
}

export function parseArgs(argv: readonly string[]): Invocation {
  const options: Record<string, string> = {};
  let json = false;
  let help = false;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if ((VALUE_OPTIONS as readonly string[]).includes(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') throw new UsageError(`${flag} needs a value.`);
      options[flag.slice(2)] = value;
    } else if (flag === '--json') {
      json = true;
    } else if (flag === '--help' || flag === '-h' || flag === '/?') {
      help = true;
    } else if (flag.startsWith('--')) {
      throw new UsageError(`Unknown option ${flag}. Options: --config FILE, --mailroot DIR, --json, --reason TEXT, --help.`);
    } else {
      words.push(arg);
    }
  }

  const [verbWord, ...rest] = words;
  const verb = verbWord?.toLowerCase();
  const base = { json, ...(options.config ? { config: options.config } : {}), ...(options.mailroot ? { mailroot: options.mailroot } : {}) };
  if (help || verb === undefined || verb === 'help') {
    // `help set logging` names a setting as well as the command: the topic keeps every word.
    const topic = verb === 'help' ? rest.join(' ') : verb;
    return { ...base, command: { cmd: 'help', ...(topic ? { topic: topic.toLowerCase() } : {}) } };
  }
  if (options.reason !== undefined && verb !== 'lock') throw new UsageError('--reason goes only with winpop lock.');

  const switches = rest.filter((w) => w.startsWith('/'));
  const plain = rest.filter((w) => !w.startsWith('/'));
  const onlySwitches = (allowed: readonly string[]): void => {
    for (const s of switches) {
      if (!allowed.includes(s.toLowerCase())) {
        throw new UsageError(`Unknown switch ${s} for winpop ${verb}.${allowed.length ? ` Allowed: ${allowed.join(', ')}.` : ''}`);
      }
    }
  };

  switch (verb) {
    case 'add': {
      // `/createuser [Password | -]`: the switch takes the word after it, if there is one.
      const at = rest.findIndex((w) => w.toLowerCase() === '/createuser');
      const password = at >= 0 ? passwordSource(rest[at + 1]) : undefined;
      const others = at >= 0 ? [...rest.slice(0, at), ...rest.slice(at + 2)] : rest;
      const unknown = others.find((w) => w.startsWith('/'));
      if (unknown) throw new UsageError(`Unknown switch ${unknown} for winpop add. Allowed: /createuser [Password | -].`);
      exactly(others, 1, 'winpop add {Domain | User@Domain /createuser [-]}');
      const target = others[0] as string;
      if (!target.includes('@') && password !== undefined) throw new UsageError('/createuser goes only with a mailbox (User@Domain).');
      return { ...base, command: { cmd: 'add', target, ...(password !== undefined ? { password } : {}) } };
    }
    case 'delete':
      // `/deleteuser` removed the Windows account; with the password file the password goes with the mailbox.
      onlySwitches(['/deleteuser']);
      exactly(plain, 1, 'winpop delete {Domain | User@Domain [/deleteuser]}');
      return { ...base, command: { cmd: 'delete', target: plain[0] as string } };
    case 'list':
      onlySwitches([]);
      atMost(plain, 1, 'winpop list [Domain]');
      return { ...base, command: { cmd: 'list', ...(plain[0] ? { domain: plain[0] } : {}) } };
    case 'stat':
      onlySwitches([]);
      atMost(plain, 1, 'winpop stat [Domain]');
      return { ...base, command: { cmd: 'stat', ...(plain[0] ? { domain: plain[0] } : {}) } };
    case 'testldap':
      onlySwitches([]);
      atMost(plain, 1, 'winpop testldap [User@Domain]');
      return { ...base, command: { cmd: 'testldap', ...(plain[0] ? { address: plain[0] } : {}) } };
    case 'lock':
    case 'unlock':
      onlySwitches([]);
      if (plain.length === 0) throw new UsageError(`Missing argument. Usage: winpop ${verb} {Domain | User@Domain} [more …]${verb === 'lock' ? ' [--reason TEXT]' : ''}`);
      return verb === 'lock'
        ? { ...base, command: { cmd: 'lock', targets: plain, ...(options.reason ? { reason: options.reason } : {}) } }
        : { ...base, command: { cmd: 'unlock', targets: plain } };
    case 'changepwd':
      onlySwitches([]);
      if (plain.length === 0) throw new UsageError('Missing argument. Usage: winpop changepwd User@Domain [-]');
      atMost(plain, 2, 'winpop changepwd User@Domain [-]');
      return { ...base, command: { cmd: 'changepwd', address: plain[0] as string, password: passwordSource(plain[1]) } };
    case 'get':
      exactly(rest, 1, 'winpop get Setting');
      return { ...base, command: { cmd: 'get', setting: settingName(rest[0], 'get') } };
    case 'set': {
      const setting = settingName(rest[0], 'set');
      const values = rest.slice(1);
      if (setting === 'socket') exactly(values, 4, 'winpop set socket Backlog Max Min Threshold');
      else if (setting === 'ldapbindpassword') {
        atMost(values, 1, 'winpop set ldapbindpassword [- | none]');
        if (values[0] !== undefined && values[0] !== '-' && values[0].toLowerCase() !== 'none') {
          throw new UsageError(
            'The directory service password is never taken from the command line (every user of this computer could read it in the process list). Leave it out to be asked for it (winpop set ldapbindpassword), give - and pipe it in (printf %s "$PW" | winpop set ldapbindpassword -), or none to forget it.',
          );
        }
      } else if (setting === 'ldapurls') {
        if (values.length === 0) throw new UsageError('winpop set ldapurls needs one or more URLs, tried in order, e.g. winpop set ldapurls ldaps://dc1.example.com ldaps://dc2.example.com');
      } else if (setting === 'listen' || setting === 'adminlisten') {
        if (values.length === 0) throw new UsageError(`winpop set ${setting} needs one or more addresses, e.g. winpop set ${setting} ${setting === 'listen' ? '"*" "::"' : '127.0.0.1 ::1'}`);
      } else exactly(values, 1, `winpop set ${setting} Value`);
      return { ...base, command: { cmd: 'set', setting, values } };
    }
    case 'admin':
      return { ...base, command: adminCommand(rest) };
    case 'sessions':
      onlySwitches([]);
      atMost(plain, 1, 'winpop sessions [Domain]');
      if (plain[0]?.includes('@')) {
        throw new UsageError(`winpop sessions takes a domain, not a mailbox address ("${plain[0]}"). Usage: winpop sessions [Domain], e.g. winpop sessions ${plain[0].slice(plain[0].lastIndexOf('@') + 1)}`);
      }
      return { ...base, command: { cmd: 'sessions', ...(plain[0] ? { domain: plain[0] } : {}) } };
    case 'kick':
      onlySwitches([]);
      exactly(plain, 1, 'winpop kick User@Domain');
      if (!(plain[0] as string).includes('@')) {
        throw new UsageError(`winpop kick takes a mailbox address, not "${plain[0]}". Usage: winpop kick User@Domain (to end every session of a domain and keep its users out: winpop lock ${plain[0]})`);
      }
      return { ...base, command: { cmd: 'kick', address: plain[0] as string } };
    default:
      throw new UsageError(`Unknown command "${verbWord}". Commands: add, delete, list, lock, unlock, stat, sessions, kick, changepwd, get, set, testldap, admin, help.`);
  }
}
