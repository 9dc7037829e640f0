/**
 * Checks of dialog fields, as the administrator types. Names use the same
 * rules as the service (shared/names.ts); the service checks again.
 */

import { PASSWORD_MAX_LENGTH, SOCKET_LIMIT_MAX } from '../../../shared/validate.js';

export function passwordProblem(password: string): string | null {
  if (password.length === 0) return 'Type a password.';
  if (password.length > PASSWORD_MAX_LENGTH) return `A password can have at most ${PASSWORD_MAX_LENGTH} characters.`;
  if (/[\r\n]/.test(password)) return 'A password cannot contain line breaks.';
  return null;
}

export function confirmProblem(password: string, confirm: string): string | null {
  if (confirm.length === 0) return 'Type the password again to confirm it.';
  return password === confirm ? null : 'The passwords do not match. Type the same password in both boxes.';
}

/** A whole number from `min` to `max`, or why not. */
export function integerProblem(text: string, what: string, min: number, max: number): string | null {
  const trimmed = text.trim();
  if (trimmed === '') return `Type the ${what}.`;
  if (!/^\d+$/.test(trimmed)) return `The ${what} must be a whole number.`;
  const value = Number(trimmed);
  if (value < min || value > max) return `The ${what} must be from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}.`;
  return null;
}

export function portProblem(text: string, what: string): string | null {
  return integerProblem(text, what, 1, 65535);
}

export function socketProblem(text: string, what: string): string | null {
  return integerProblem(text, what, 1, SOCKET_LIMIT_MAX);
}
