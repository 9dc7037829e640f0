/**
 * The service's own texts (state-file problems, listener and TLS failures,
 * the diagnosis in an error) as the console shows them.
 *
 * The service writes for every client, and much of it ends with what to
 * type: `winpop unlock example.com`, `--pop3-port N`. The console keeps
 * what the service found, drops every command to type, and words the way
 * out with its own menus and dialogs.
 */

import type { ListenerStatus } from '../../../shared/contract.js';
import { domainStateRepair, mailboxStateRepair } from '../../../shared/state-file-repair.js';

/**
 * A command to type: anything in backticks, a `winpop` command, "run
 * winpop", a shell tool the service names, or an option (`--pop3-port N`).
 * Naming a program is not one ("a running winpop or pop3svc").
 */
const COMMAND =
  /`[^`]*`|\bwinpop\s+(?:add|delete|list|stat|lock|unlock|changepwd|get|set|help|admin)\b|\b(?:run|use)\s+winpop\b|\b(?:openssl|setcap|ulimit)\s|(?:^|[\s(])--[a-z]/i;
const BRACKETED = /\s*\(([^()]*)\)/g;
const SENTENCE_BREAK = /(?<=[.!?])\s+(?=\S)/;

/** The text without its commands to type: each bracketed command goes, then each sentence that still gives one. */
export function withoutCommands(text: string): string {
  const unbracketed = text.replace(BRACKETED, (whole, inside: string) => (COMMAND.test(inside) ? '' : whole));
  return unbracketed
    .split(SENTENCE_BREAK)
    .filter((sentence) => !COMMAND.test(sentence))
    .join(' ')
    .trim();
}

/** What the service found wrong with a state file: its text up to the repair it names, without commands. */
function stateFinding(problem: string, repair: string, fallback: string): string {
  const at = problem.indexOf(repair);
  const found = withoutCommands(at >= 0 ? problem.slice(0, at) : problem.replace(/\s*Until then[^.]*\.\s*$/, ''));
  return found || fallback;
}

/** A mailbox's damaged or missing state file: the file, the repair in the console, the effect. */
export function mailboxProblemText(problem: string, address: string): string {
  const found = stateFinding(problem, mailboxStateRepair(address), `The state file of ${address} is missing or damaged.`);
  return `${found} To repair it, set a new password (Change Password… in the mailbox's menu), or restore the file from a backup. Until then it cannot log in.`;
}

/** A domain's damaged or missing state file: the file, the repair in the console, the effect. */
export function domainProblemText(problem: string, domain: string): string {
  const found = stateFinding(problem, domainStateRepair(domain), `The state file of the domain ${domain} is missing or damaged.`);
  return `${found} To repair it, lock the domain and unlock it again (Lock, then Unlock, in the domain's menu), or restore the file from a backup. Until then no mailbox of the domain can log in.`;
}

/** Why TLS is off, and where the console sets the certificate. */
export function tlsProblemText(error: string): string {
  return `${withoutCommands(error)} The certificate and key files are set on the Security tab of Server Properties (both empty for a self-signed certificate); the service uses them when it next starts.`;
}

/** Why a listener is not running, and where the console sets its port and addresses. */
export function listenerProblemText(listener: ListenerStatus, name: string): string {
  const error = listener.error ?? `${name} could not listen on ${listener.address}.`;
  if (error.startsWith('TLS is off:')) return tlsProblemText(error);
  const where =
    listener.protocol === 'pop3s'
      ? `The ${name} port is set on the Security tab of Server Properties, the listen addresses on its General tab`
      : `The ${name} port and the listen addresses are set on the General tab of Server Properties`;
  return `${withoutCommands(error)} ${where}; changes apply when the service next starts.`;
}
