/**
 * How long a failed log-in waits before its answer.
 *
 * The wait slows password guessing. It is one flat second for now; this module
 * is where a per-client penalty (growing with repeated failures) belongs.
 */

export const FAILED_LOGIN_DELAY_MS = 1000;

/** Milliseconds to wait before telling `remote` that its log-in failed. */
export function failedLoginDelayMs(_remote: string): number {
  return FAILED_LOGIN_DELAY_MS;
}
