/**
 * Which mailbox names can stand for an OS account, for the "System accounts"
 * method: the mailbox `user@domain` logs in as the OS user `user`.
 *
 * Mailbox names are kept in lower case, so the OS user name is the lower-case
 * local part, compared exactly (OS user names are case-sensitive): an OS
 * account whose name has capitals cannot log in this way (Debian's adduser
 * refuses such names by default). The rule is the portable subset of what
 * useradd accepts, so that nothing a client sends can mean more than one
 * account name to PAM, NSS or a shell: no `*`, `/`, `..`, spaces, control
 * characters or a leading `-`.
 */

/** useradd's limit on Linux (32); macOS short names are shorter still. */
export const OS_USER_NAME_MAX = 32;

const OS_USER_NAME = /^[a-z_][a-z0-9._-]*$/;

/** Why `name` cannot be an OS user name for a log-in, or null when it can. */
export function osUserNameProblem(name: string): string | null {
  if (name.length === 0) return 'An OS user name cannot be empty.';
  if (name.length > OS_USER_NAME_MAX) return `An OS user name has at most ${OS_USER_NAME_MAX} characters; this one has ${name.length}.`;
  if (!OS_USER_NAME.test(name)) {
    return 'An OS user name for a System accounts log-in starts with a lower-case letter or "_" and has only lower-case letters, digits, ".", "_" and "-".';
  }
  if (name.includes('..')) return 'An OS user name cannot contain "..".';
  return null;
}
