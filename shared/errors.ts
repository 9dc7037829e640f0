import type { ErrorCode, ErrorShape, Reply } from './contract.js';

/**
 * An error the service reports to an administrator.
 *
 * The message says what was wrong and what to do; the code lets a program
 * (the console, a script using `winpop --json`) react without parsing text.
 */
export class AdminError extends Error implements ErrorShape {
  override readonly name = 'AdminError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  toJSON(): ErrorShape {
    return { code: this.code, message: this.message };
  }
}

/** Any thrown value as an ErrorShape; unknown errors keep their text but are marked INTERNAL. */
export function toErrorShape(err: unknown): ErrorShape {
  if (err instanceof AdminError) return err.toJSON();
  if (isErrorShape(err)) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message };
}

export function isErrorShape(value: unknown): value is ErrorShape {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorShape).code === 'string' &&
    typeof (value as ErrorShape).message === 'string'
  );
}

/** Runs a call and wraps its outcome for the wire. */
export async function toReply<T>(call: () => Promise<T>): Promise<Reply<T>> {
  try {
    return { ok: true, result: await call() };
  } catch (err) {
    return { ok: false, error: toErrorShape(err) };
  }
}

/** Unwraps a reply from the wire, throwing an AdminError for a failure. */
export function fromReply<T>(reply: Reply<T>): T {
  if (reply.ok) return reply.result;
  throw new AdminError(reply.error.code, reply.error.message);
}
