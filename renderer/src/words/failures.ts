/**
 * A failed admin call in the console's words.
 *
 * The service's error carries a code (shared/contract.ts ErrorCode) and a
 * message written for every client, which often says what to type
 * ("Unlock the domain first (winpop unlock example.com)"). Where the code
 * and the call say what happened, the console words it itself; where the
 * message is the diagnosis (a bad value, a disk fault), it keeps that,
 * with a damaged state file's repair worded for the console and without
 * any command to type.
 */

import type { ErrorCode, OperationName } from '../../../shared/contract.js';
import { domainStateRepair, mailboxStateRepair } from '../../../shared/state-file-repair.js';
import { errorMessage } from '../api.js';
import { domainProblemText, mailboxProblemText, withoutCommands } from './service-text.js';

/** What a failed call was for: the operation, and the domain or address it named. */
export interface FailedCall {
  readonly op: OperationName;
  readonly target?: string;
}

const CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'DOMAIN_LOCKED',
  'NOT_ALLOWED',
  'STORE_ERROR',
  'UNAVAILABLE',
  'INTERNAL',
]);

/** The error's code; INTERNAL for anything that is not a service error (a fault of the console itself). */
export function errorCode(err: unknown): ErrorCode {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CODES.has(code) ? (code as ErrorCode) : 'INTERNAL';
}

const domainOf = (target: string): string => target.slice(target.indexOf('@') + 1);
const isAddress = (target: string): boolean => target.includes('@');

/** For DOMAIN_LOCKED: the domain whose lock holds the target, so the console can offer to unlock it. */
export function lockedDomainOf(err: unknown, call: FailedCall): string | null {
  return errorCode(err) === 'DOMAIN_LOCKED' && call.target !== undefined ? domainOf(call.target) : null;
}

/** The console's sentence for a failed call (without the "Lock failed:" a caller may put first). */
export function failureText(err: unknown, call?: FailedCall): string {
  const code = errorCode(err);
  const message = errorMessage(err);
  const target = call?.target;
  switch (code) {
    case 'NOT_FOUND':
      if (target === undefined) break;
      if (call?.op === 'addMailbox') return `No domain ${domainOf(target)}: it no longer exists (another administrator may have deleted it).`;
      return `No ${isAddress(target) ? 'mailbox' : 'domain'} ${target}: it no longer exists (another administrator may have deleted it).`;
    case 'ALREADY_EXISTS':
      if (target === undefined) break;
      return `The ${isAddress(target) ? 'mailbox' : 'domain'} ${target} already exists.`;
    case 'DOMAIN_LOCKED':
      if (target === undefined || !isAddress(target)) break;
      return `The domain ${domainOf(target)} is locked, so ${target} cannot be unlocked on its own. Unlock the domain first.`;
    case 'STORE_ERROR':
      // A damaged state file: the service names its command-line repair, the console its own.
      if (target === undefined) break;
      if (isAddress(target) && message.includes(mailboxStateRepair(target))) return mailboxProblemText(message, target);
      if (message.includes(domainStateRepair(domainOf(target)))) return domainProblemText(message, domainOf(target));
      break;
    default:
      break;
  }
  return withoutCommands(message) || (code === 'UNAVAILABLE' ? 'The POP3 service cannot be reached; check that it is running.' : 'The service refused this without saying why.');
}
