/**
 * One admin call arriving over IPC, from raw message to reply.
 *
 * Order matters: the sender is checked before anything else is looked at,
 * then the operation name, then the arguments (shared/validate.ts), and only
 * then does the admin run. Whatever goes wrong comes back as a Reply with an
 * error code; nothing throws across IPC, where Electron would keep only the
 * message. Pure of Electron, so it is tested against a real service.
 */

import type { AdminApi, AdminEvent, Args, OperationName, Reply, Result } from '../../shared/contract.js';
import { IPC_EVENT_CHANNEL } from '../../shared/contract.js';
import { AdminError, toReply } from '../../shared/errors.js';
import { isOperationName, validateArgs } from '../../shared/validate.js';
import { isAppUrl } from '../app-origin.js';
import { assertTrustedSender, type SenderInfo, type TrustedSenders } from './trusted-sender.js';

/** Runs one checked operation on the admin. */
function run<K extends OperationName>(admin: AdminApi, op: K, args: Args<K>): Promise<Result<K>> {
  const method = admin[op] as (args: Args<K>) => Promise<Result<K>>;
  return method.call(admin, args);
}

/**
 * Handles one call: `invokeArgs` are all values the renderer passed after
 * the channel. The preload passes exactly one argument object; anything else
 * is refused, so a call can never mean more than it says.
 */
export function handleCall(admin: AdminApi, trusted: TrustedSenders, sender: SenderInfo, op: unknown, invokeArgs: readonly unknown[]): Promise<Reply<unknown>> {
  return toReply(async () => {
    assertTrustedSender(trusted, sender);
    if (!isOperationName(op)) {
      throw new AdminError('INVALID_ARGUMENT', `Unknown operation "${typeof op === 'object' && op !== null ? typeof op : String(op).slice(0, 40)}"; the console and the service may be from different versions.`);
    }
    if (invokeArgs.length > 1) {
      throw new AdminError('INVALID_ARGUMENT', `${op}: expected one argument object, got ${invokeArgs.length} arguments.`);
    }
    const args = validateArgs(op, invokeArgs[0]);
    return run(admin, op, args);
  });
}

/**
 * Forwards every admin event to the trusted console pages.
 *
 * A page that has navigated off our origin (which the navigation guard should
 * prevent) gets nothing. Returns the unsubscribe.
 */
export function forwardEvents(admin: AdminApi, trusted: TrustedSenders): () => void {
  return admin.onEvent((event: AdminEvent) => {
    for (const sink of trusted.sinks()) {
      if (!isAppUrl(sink.getURL())) continue;
      try {
        sink.send(IPC_EVENT_CHANNEL, event);
      } catch {
        // The page went away between the check and the send; it will not miss anything it could show.
      }
    }
  });
}
