/**
 * A POP3 session's columns in the console's words, and the order each sorts in.
 */

import type { SessionInfo } from '../../../shared/contract.js';

// One formatter for all, with seconds: sessions are short, and two of one client a minute apart must differ.
const since = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'medium' });

/** What the Mailbox column shows for a session that has not logged in yet. */
export const NOT_LOGGED_IN = '(not logged in)';

export function sessionMailbox(s: SessionInfo): string {
  return s.address ?? NOT_LOGGED_IN;
}

export function formatSince(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : since.format(date);
}

/** "Yes (POP3S)", "Yes (STLS)" or "No": how it is encrypted, if it is. */
export function encryptedWords(s: SessionInfo): string {
  if (!s.encrypted) return 'No';
  return s.listener === 'pop3s' ? 'Yes (POP3S)' : 'Yes (STLS)';
}

const STATE_WORDS: Readonly<Record<SessionInfo['state'], { readonly text: string; readonly title: string; readonly rank: number }>> = {
  authorization: { text: 'Logging in', title: 'Connected, not logged in yet (POP3 AUTHORIZATION state).', rank: 0 },
  transaction: { text: 'Logged in', title: 'Logged in to its mailbox (POP3 TRANSACTION state).', rank: 1 },
  update: { text: 'Quitting', title: 'Sent QUIT: the messages it marked are being deleted (POP3 UPDATE state).', rank: 2 },
};

export function sessionStateWords(s: SessionInfo): string {
  return STATE_WORDS[s.state].text;
}

export function sessionStateTitle(s: SessionInfo): string {
  return STATE_WORDS[s.state].title;
}

/** Sort rank of a state: in the order a session goes through them. */
export function sessionStateRank(s: SessionInfo): number {
  return STATE_WORDS[s.state].rank;
}

/** Sort key of the Client column: the address's text with its port as a number, so :9 comes before :10. */
export function clientSortKey(s: SessionInfo): string {
  const colon = s.client.lastIndexOf(':');
  const port = Number(s.client.slice(colon + 1));
  return colon < 0 || !Number.isInteger(port) ? s.client.toLowerCase() : `${s.client.slice(0, colon).toLowerCase()}:${String(port).padStart(5, '0')}`;
}
