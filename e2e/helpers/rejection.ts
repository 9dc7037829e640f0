/**
 * The error an admin call fails with, for tests that check codes and texts.
 */

import assert from 'node:assert/strict';
import { AdminError } from '../../shared/errors.js';

/** Resolves with the error a promise rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<AdminError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AdminError, `expected an AdminError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}
