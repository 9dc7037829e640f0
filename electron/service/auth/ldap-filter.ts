/**
 * The directory search filter of a log-in: the administrator's template
 * (`directory.filter`) with `{address}`, `{user}` and `{domain}` replaced by
 * the log-in's values, each escaped as RFC 4515 section 3 requires.
 *
 * Escaping is what keeps a log-in name from changing the filter: `*` would
 * match any entry, `)(` would add a condition, NUL would end the value. The
 * store's name rules already refuse most of these; the escaping holds even
 * where they would not.
 */

import type { Address } from '../../../shared/names.js';

/** Works for OpenLDAP (`mail`) and Active Directory (`userPrincipalName`, or `mail`) alike: a server ignores an attribute it does not know. */
export const DEFAULT_DIRECTORY_FILTER = '(|(mail={address})(userPrincipalName={address}))';

/** A value as an RFC 4515 assertion value: `*`, `(`, `)`, `\` and NUL as `\XX`. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (ch) => `\\${(ch.codePointAt(0) ?? 0).toString(16).padStart(2, '0')}`);
}

/** The filter that finds the entry of `a`. */
export function loginFilter(template: string, a: Pick<Address, 'address' | 'mailbox' | 'domain'>): string {
  const values: Record<string, string> = { address: a.address, user: a.mailbox, domain: a.domain };
  // One pass, so a value that itself looks like a placeholder is never replaced again.
  return template.replace(/\{(address|user|domain)\}/g, (_, name: string) => escapeFilterValue(values[name] ?? ''));
}
