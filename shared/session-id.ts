/**
 * POP3 session ids: `<pid>-<n>`, the process serving the session and its
 * count there. The pid part lets a primary process route `endSession` to the
 * worker process that holds the session.
 */

const SESSION_ID = /^([1-9][0-9]{0,9})-([1-9][0-9]{0,15})$/;

/** Whether a text has the form of a session id. */
export function isSessionId(text: string): boolean {
  return SESSION_ID.test(text);
}

/** The pid of the process serving the session, or null when `id` is not a session id. */
export function sessionOwnerPid(id: string): number | null {
  const match = SESSION_ID.exec(id);
  return match ? Number(match[1]) : null;
}
