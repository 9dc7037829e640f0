/**
 * One call to the console's other computers (electron/computers/), from raw
 * IPC arguments to reply, and their events pushed to the trusted pages.
 *
 * The same order as for the local admin (handle-call.ts): the sender first,
 * then exactly one argument object, checked by shared/validate.ts inside the
 * manager; the computer is named by the id the manager gave out, and an id it
 * does not know is NOT_FOUND. Pure of Electron, so tested under plain Node.
 */

import { IPC_COMPUTER_EVENT_CHANNEL, type ComputerEvent, type ComputerOperationName, type Reply } from '../../shared/contract.js';
import { AdminError, toReply } from '../../shared/errors.js';
import { isAppUrl } from '../app-origin.js';
import type { ComputerManager } from '../computers/computer-manager.js';
import { assertTrustedSender, type SenderInfo, type TrustedSenders } from './trusted-sender.js';

/** One computer call from raw IPC arguments to reply; pure of Electron. */
export function handleComputerCall(manager: ComputerManager, trusted: TrustedSenders, sender: SenderInfo, op: ComputerOperationName, invokeArgs: readonly unknown[]): Promise<Reply<unknown>> {
  return toReply(async () => {
    assertTrustedSender(trusted, sender);
    if (invokeArgs.length > 1) throw new AdminError('INVALID_ARGUMENT', `${op}: expected one argument object, got ${invokeArgs.length} arguments.`);
    return manager.run(op, invokeArgs[0]);
  });
}

/** Pushes the computers' events to the trusted console pages; returns the unsubscribe. */
export function forwardComputerEvents(manager: ComputerManager, trusted: TrustedSenders): () => void {
  return manager.onEvent((event: ComputerEvent) => {
    for (const sink of trusted.sinks()) {
      if (!isAppUrl(sink.getURL())) continue;
      try {
        sink.send(IPC_COMPUTER_EVENT_CHANNEL, event);
      } catch {
        // The page went away between the check and the send.
      }
    }
  });
}

