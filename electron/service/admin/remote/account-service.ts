/**
 * The account operations (`winpop admin …`) over the accounts file: each
 * change audited like the other administrative changes, and announced to the
 * admin endpoint, which ends the sessions of an admin deleted or given a new
 * password before the call returns. One-time sign-in links are made here too,
 * for the same local callers.
 *
 * Reached only by local callers: the control channel (the service's OS user
 * and root) and `winpop` on the store directly when no service runs. The
 * admin endpoint refuses these operations (frame-dispatch.ts), and the
 * console's IPC has no channel for them.
 */

import type { AccountApi } from '../../../../shared/contract.js';
import { AdminError, toErrorShape } from '../../../../shared/errors.js';
import { validateAccountArgs } from '../../../../shared/validate.js';
import type { Logger } from '../../log.js';
import { appendAudit } from '../../store/audit-log.js';
import { cleanActor, type Caller } from '../admin-service.js';
import type { AdminAccounts } from './admin-accounts.js';

/** What the admin endpoint offers the account operations; absent where no endpoint runs (winpop on the store). */
export interface AccountSessions {
  /** Sessions the admin has signed in now. */
  sessionsOf(name: string): number;
  /** Ends the admin's sessions and closes their WebSockets; returns how many ended. */
  endSessionsOf(name: string, reason: string): number;
  /** A one-time sign-in link acting as `actor`; UNAVAILABLE when the endpoint is not listening. */
  signInLink(options: { readonly actor: string }): { readonly url: string; readonly expires: string };
}

export interface AccountServiceDeps {
  readonly accounts: AdminAccounts;
  /** The mail root, whose audit log records each change. */
  readonly root: string;
  readonly log: Logger;
  readonly sessions?: AccountSessions;
}

export interface AccountService {
  forActor(actor: string, caller?: Caller): AccountApi;
}

export function createAccountService(deps: AccountServiceDeps): AccountService {
  const { accounts, root, log } = deps;
  const sessionsOf = (name: string): number => deps.sessions?.sessionsOf(name) ?? 0;
  const endSessions = (name: string, reason: string): number => deps.sessions?.endSessionsOf(name, reason) ?? 0;

  function forActor(rawActor: string, caller: Caller = {}): AccountApi {
    const actor = cleanActor(rawActor);
    const uid = caller.uid === undefined ? (typeof process.getuid === 'function' ? process.getuid() : null) : caller.uid;

    /** Runs one change and writes its audit line, whatever its outcome. */
    const audited = async <T>(op: string, name: string, change: () => Promise<T>): Promise<T> => {
      try {
        const result = await change();
        await audit(op, name, 'ok');
        log.info(`admin ${op}`, { actor, uid, target: name });
        return result;
      } catch (err) {
        const message = toErrorShape(err).message;
        await audit(op, name, 'error', message);
        log.warn(`admin ${op} failed`, { actor, uid, target: name, error: message });
        throw err;
      }
    };

    const audit = async (op: string, target: string, result: 'ok' | 'error', detail?: string): Promise<void> => {
      try {
        await appendAudit(root, { actor, ...(uid === null ? {} : { uid }), op, target, result, ...(detail ? { detail } : {}) });
      } catch (err) {
        log.error('could not write the audit log', { op, target, error: (err as Error).message });
      }
    };

    return {
      listAdmins: async (raw) => {
        validateAccountArgs('listAdmins', raw);
        return (await accounts.list()).map((a) => ({ ...a, sessions: sessionsOf(a.name) }));
      },
      addAdmin: async (raw) => {
        const { name, password } = validateAccountArgs('addAdmin', raw);
        return audited('addAdmin', name, async () => ({ ...(await accounts.add(name, password)), sessions: 0 }));
      },
      deleteAdmin: async (raw) => {
        const { name } = validateAccountArgs('deleteAdmin', raw);
        return audited('deleteAdmin', name, async () => {
          await accounts.remove(name);
          return { name, sessionsEnded: endSessions(name, `the admin account ${name} was deleted`) };
        });
      },
      changeAdminPassword: async (raw) => {
        const { name, password } = validateAccountArgs('changeAdminPassword', raw);
        return audited('changeAdminPassword', name, async () => {
          await accounts.setPassword(name, password);
          return { name, sessionsEnded: endSessions(name, `the password of the admin account ${name} was changed; sign in with the new one`) };
        });
      },
      signInLink: async (raw) => {
        validateAccountArgs('signInLink', raw);
        // It opens a session: audited as a change, without the token.
        return audited('signInLink', actor, async () => {
          if (!deps.sessions) {
            throw new AdminError('UNAVAILABLE', 'No service is running for this mail root, so there is no admin endpoint to sign in to. Start it with its admin endpoint on (pop3svc --admin-port N).');
          }
          return deps.sessions.signInLink({ actor });
        });
      },
    };
  }

  return { forActor };
}
