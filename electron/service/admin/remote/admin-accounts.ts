/**
 * The admin endpoint's accounts on disk: names and scrypt password hashes in
 * `<mailroot>/.winpop/admins.json`, readable and writable by the service's
 * user only (mode 0600 in the 0700 state folder).
 *
 * Every change reads, changes and replaces the whole file (atomic-file.ts)
 * while holding the file's lock (lock-files.ts), so that two `winpop admin`
 * commands on a store with no service running never lose one another's
 * change. Passwords are hashed as mailbox passwords are (store/passwords.ts),
 * in the password workers; a log-in's check waits in their bounded queue
 * like a POP3 log-in's.
 *
 * A file that is damaged (edited by hand, restored badly) fails closed:
 * nobody can sign in, and every command says which file and how to repair it.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { AdminAccount } from '../../../../shared/contract.js';
import { AdminError } from '../../../../shared/errors.js';
import { writeFileAtomic } from '../../store/atomic-file.js';
import { isCode, KeyedMutex } from '../../store/fs-util.js';
import { stateDir } from '../../store/layout.js';
import { LockFiles } from '../../store/lock-files.js';
import { hashPassword, parsePasswordHash, spendLoginCost, verifyPassword, type CheckOptions } from '../../store/passwords.js';

export const ADMINS_FILE = 'admins.json';
/** The lock file of the accounts file, in a folder no domain can have (domain names never begin with a dot). */
const LOCK_NAME = path.join('.admins', 'accounts');
/** Accounts one file may hold; a bound for the size of what is read at each log-in. */
export const MAX_ADMIN_ACCOUNTS = 1000;

interface StoredAccount {
  readonly hash: string;
  readonly created: string;
  readonly changed: string;
}

type Accounts = Record<string, StoredAccount>;

/** An account as stored, without its hash. */
export type AccountRecord = Omit<AdminAccount, 'sessions'>;

export class AdminAccounts {
  readonly file: string;
  private readonly locks: LockFiles;
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly root: string,
    private readonly options: { readonly fsync?: boolean } = {},
  ) {
    this.file = path.join(stateDir(root), ADMINS_FILE);
    this.locks = new LockFiles(root);
  }

  /** Every account, by name. */
  async list(): Promise<AccountRecord[]> {
    const accounts = await this.read();
    return Object.keys(accounts)
      .sort()
      .map((name) => record(name, accounts[name] as StoredAccount));
  }

  /** Adds an account; ALREADY_EXISTS when the name is taken. `name` is checked and lower case (shared/validate.ts). */
  async add(name: string, password: string): Promise<AccountRecord> {
    const hash = await hashPassword(password);
    return this.change((accounts) => {
      if (accounts[name]) throw new AdminError('ALREADY_EXISTS', `The admin ${name} exists already. Give it a new password with winpop admin passwd ${name}.`);
      if (Object.keys(accounts).length >= MAX_ADMIN_ACCOUNTS) {
        throw new AdminError('NOT_ALLOWED', `There are ${MAX_ADMIN_ACCOUNTS} admin accounts already, the most the service keeps; delete one first.`);
      }
      const now = new Date().toISOString();
      accounts[name] = { hash, created: now, changed: now };
      return record(name, accounts[name]);
    });
  }

  /** Removes an account; NOT_FOUND when there is none of that name. */
  async remove(name: string): Promise<void> {
    await this.change((accounts) => {
      if (!accounts[name]) throw notFound(name);
      delete accounts[name];
    });
  }

  /** Replaces an account's password; NOT_FOUND when there is none of that name. */
  async setPassword(name: string, password: string): Promise<AccountRecord> {
    const hash = await hashPassword(password);
    return this.change((accounts) => {
      const account = accounts[name];
      if (!account) throw notFound(name);
      accounts[name] = { ...account, hash, changed: new Date().toISOString() };
      return record(name, accounts[name]);
    });
  }

  /**
   * True when `password` is the account's. An unknown name costs the same
   * work and answers false, so that the time taken tells no name apart. The
   * check waits in the password workers' bounded queue (LoginBusyError when
   * it is full). A damaged file throws its STORE_ERROR.
   */
  async verify(name: string, password: string, options?: CheckOptions): Promise<boolean> {
    const account = (await this.read())[name.toLowerCase()];
    if (!account) return spendLoginCost(password, options);
    return verifyPassword(password, account.hash, options);
  }

  /** Reads, changes and writes the file under its lock; `edit` changes the object it is given. */
  private change<T>(edit: (accounts: Accounts) => T): Promise<T> {
    return this.mutex.run('accounts', () =>
      this.locks.hold([LOCK_NAME], async () => {
        const accounts = await this.read();
        const result = edit(accounts);
        await this.ensureStateDir();
        await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, admins: accounts }, null, 2)}\n`, {
          mode: 0o600,
          ...(this.options.fsync === undefined ? {} : { fsync: this.options.fsync }),
        });
        return result;
      }),
    );
  }

  private async ensureStateDir(): Promise<void> {
    try {
      // Not recursive: a mail root that has gone missing is not made again here.
      await fsp.mkdir(stateDir(this.root), { mode: 0o700 });
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw new AdminError('STORE_ERROR', `Cannot create ${stateDir(this.root)} for the admin accounts: ${(err as Error).message}`);
    }
  }

  private async read(): Promise<Accounts> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      if (isCode(err, 'ENOENT')) return Object.create(null) as Accounts;
      throw new AdminError('STORE_ERROR', `Cannot read the admin accounts file ${this.file}: ${(err as Error).message}`);
    }
    const accounts = parseAccounts(text);
    if (accounts === null) {
      throw new AdminError(
        'STORE_ERROR',
        `The admin accounts file ${this.file} is damaged; nobody can sign in to the admin endpoint until it is repaired. ` +
          'Move it away, then add the admins again (winpop admin add NAME).',
      );
    }
    return accounts;
  }
}

function notFound(name: string): AdminError {
  return new AdminError('NOT_FOUND', `There is no admin named ${name}. winpop admin list shows the admins.`);
}

function record(name: string, account: StoredAccount): AccountRecord {
  return { name, created: account.created, changed: account.changed };
}

/** The accounts of a file's text; null when it is not a file this module wrote. */
function parseAccounts(text: string): Accounts | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || (value as { version?: unknown }).version !== 1) return null;
  const admins = (value as { admins?: unknown }).admins;
  if (typeof admins !== 'object' || admins === null || Array.isArray(admins)) return null;
  // No prototype: a name such as "constructor" is an ordinary key.
  const out = Object.create(null) as Accounts;
  for (const [name, entry] of Object.entries(admins as Record<string, unknown>)) {
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name) || typeof entry !== 'object' || entry === null) return null;
    const { hash, created, changed } = entry as Record<string, unknown>;
    if (typeof hash !== 'string' || parsePasswordHash(hash) === null || typeof created !== 'string' || typeof changed !== 'string') return null;
    out[name] = { hash, created, changed };
  }
  return out;
}
