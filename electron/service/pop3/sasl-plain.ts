/**
 * The SASL PLAIN message (RFC 4616): `[authzid] NUL authcid NUL password`,
 * base64-encoded on the POP3 wire (RFC 5034).
 */

export interface PlainCredentials {
  /** Who to act as; empty means "as myself". */
  readonly authzid: string;
  /** Who logs in: the mailbox address. */
  readonly authcid: string;
  readonly password: string;
}

export type PlainDecode = { readonly ok: true; readonly credentials: PlainCredentials } | { readonly ok: false; readonly error: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes a client's PLAIN response; the error texts go to the client after "-ERR ". */
export function decodePlain(response: string): PlainDecode {
  if (!BASE64.test(response)) {
    return { ok: false, error: 'The AUTH PLAIN response is not valid base64; send base64 of "\\0user@domain\\0password".' };
  }
  const bytes = Buffer.from(response, 'base64');
  const first = bytes.indexOf(0);
  const second = first < 0 ? -1 : bytes.indexOf(0, first + 1);
  if (first < 0 || second < 0 || bytes.indexOf(0, second + 1) >= 0) {
    return { ok: false, error: 'The AUTH PLAIN message must be "authzid NUL user NUL password" (authzid may be empty).' };
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let parts: string[];
  try {
    parts = [bytes.subarray(0, first), bytes.subarray(first + 1, second), bytes.subarray(second + 1)].map((b) => decoder.decode(b));
  } catch {
    return { ok: false, error: 'The AUTH PLAIN message is not valid UTF-8.' };
  }
  const [authzid, authcid, password] = parts as [string, string, string];
  if (authcid === '' || password === '') {
    return { ok: false, error: 'The AUTH PLAIN message needs a user name and a password.' };
  }
  return { ok: true, credentials: { authzid, authcid, password } };
}
