/**
 * Domain and mailbox names: the rules, and parsing of `user@domain` targets.
 *
 * Used by the console to validate as the administrator types, and by the
 * service before anything touches the disk. Names are case-insensitive and
 * kept in lower case, which is also what makes them safe as folder names.
 */

import { AdminError } from './errors.js';

export const MAILBOX_MAX_LENGTH = 64;
export const DOMAIN_MAX_LENGTH = 253;
/** Characters the original service refused in mailbox names (`+` too, as we use the password file). */
export const MAILBOX_FORBIDDEN = '@()/\\[]:;,"<>*=|?+';

/** Names that Windows cannot use as folders, whatever their extension. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/;

/** Why a mailbox name is not acceptable, or null when it is. */
export function mailboxNameProblem(name: string): string | null {
  if (name.length === 0) return 'A mailbox name cannot be empty.';
  if (name.length > MAILBOX_MAX_LENGTH) {
    return `A mailbox name can have at most ${MAILBOX_MAX_LENGTH} characters; this one has ${name.length}.`;
  }
  for (const ch of name) {
    if (MAILBOX_FORBIDDEN.includes(ch)) {
      return `A mailbox name cannot contain "${ch}". Not allowed: ${MAILBOX_FORBIDDEN.split('').join(' ')}`;
    }
    const code = ch.codePointAt(0) ?? 0;
    if (code <= 0x20 || code === 0x7f) return 'A mailbox name cannot contain spaces or control characters.';
    if (code > 0x7e) return 'A mailbox name can use only ASCII letters, digits and punctuation.';
  }
  if (name.startsWith('.') || name.endsWith('.')) return 'A mailbox name cannot begin or end with a dot.';
  if (WINDOWS_DEVICE.test(name.toLowerCase())) {
    return `"${name}" is a reserved device name on Windows; choose another mailbox name.`;
  }
  return null;
}

/** Why a domain name is not acceptable, or null when it is. */
export function domainNameProblem(name: string): string | null {
  if (name.length === 0) return 'A domain name cannot be empty.';
  if (name.length > DOMAIN_MAX_LENGTH) {
    return `A domain name can have at most ${DOMAIN_MAX_LENGTH} characters; this one has ${name.length}.`;
  }
  const labels = name.split('.');
  if (labels.length < 2) {
    return `"${name}" is not a fully qualified domain name; use a name such as example.com.`;
  }
  for (const label of labels) {
    if (label.length === 0) return `"${name}" has an empty label; a domain cannot have ".." or begin or end with a dot.`;
    if (label.length > 63) return `The domain label "${label.slice(0, 20)}…" is longer than 63 characters.`;
    if (!/^[A-Za-z0-9-]+$/.test(label)) {
      return `"${name}" is not a valid domain name: use only letters, digits, hyphens and dots.`;
    }
    if (label.startsWith('-') || label.endsWith('-')) {
      return `The domain label "${label}" cannot begin or end with a hyphen.`;
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) {
    return `"${name}" looks like an address, not a domain name; use a name such as example.com.`;
  }
  return null;
}

/** A mailbox name, checked and in canonical (lower) case. */
export function normalizeMailbox(name: string): string {
  const problem = mailboxNameProblem(name);
  if (problem) throw new AdminError('INVALID_ARGUMENT', problem);
  return name.toLowerCase();
}

/** A domain name, checked and in canonical (lower) case. */
export function normalizeDomain(name: string): string {
  const problem = domainNameProblem(name);
  if (problem) throw new AdminError('INVALID_ARGUMENT', problem);
  return name.toLowerCase();
}

export interface Address {
  readonly mailbox: string;
  readonly domain: string;
  readonly address: string;
}

/** Parses `user@domain` into checked, lower-case parts. */
export function parseAddress(text: string): Address {
  const at = text.lastIndexOf('@');
  if (at < 0) {
    throw new AdminError('INVALID_ARGUMENT', `"${text}" is not a mailbox address; use the form user@domain, for example someone@example.com.`);
  }
  const mailbox = normalizeMailbox(text.slice(0, at));
  const domain = normalizeDomain(text.slice(at + 1));
  return { mailbox, domain, address: `${mailbox}@${domain}` };
}

export type Target = { readonly kind: 'domain'; readonly domain: string } | ({ readonly kind: 'mailbox' } & Address);

/** Parses a lock target: a domain, or `user@domain`. */
export function parseTarget(text: string): Target {
  if (text.includes('@')) return { kind: 'mailbox', ...parseAddress(text) };
  return { kind: 'domain', domain: normalizeDomain(text) };
}
