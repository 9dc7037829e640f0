/**
 * Wires the console's other computers (electron/computers/) to Electron's
 * IPC: one handler per computer operation, and their events pushed to the
 * trusted console pages.
 *
 * The same order as for the local admin (handle-call.ts): the sender first,
 * then exactly one argument object, checked by shared/validate.ts inside the
 * manager; the computer is named by the id the manager gave out, and an id it
 * does not know is NOT_FOUND.
 */

import { ipcMain } from 'electron';
import { COMPUTER_OPERATION_NAMES, IPC_COMPUTER_EVENT_CHANNEL, computerChannel, type ComputerEvent, type ComputerOperationName, type Reply } from '../../shared/contract.js';
import { AdminError, toReply } from '../../shared/errors.js';
import { isAppUrl } from '../app-origin.js';
import type { ComputerManager } from '../computers/computer-manager.js';
import type { Logger } from '../service/log.js';
import { senderInfo } from './register.js';
import { assertTrustedSender, senderProblem, type SenderInfo, type TrustedSenders } from './trusted-sender.js';

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

/** Registers every computer operation's handler and the event forwarding; returns the undo. */
export function registerComputerIpc(manager: ComputerManager, trusted: TrustedSenders, log: Logger): () => void {
  for (const op of COMPUTER_OPERATION_NAMES) {
    ipcMain.handle(computerChannel(op), async (event, ...args: unknown[]): Promise<Reply<unknown>> => {
      const sender = senderInfo(event);
      const problem = senderProblem(trusted, sender);
      if (problem !== null) log.warn('IPC call refused', { op, webContents: sender.webContentsId, url: sender.frame?.url ?? null, reason: problem });
      return handleComputerCall(manager, trusted, sender, op, args);
    });
  }
  const stop = forwardComputerEvents(manager, trusted);
  return () => {
    stop();
    for (const op of COMPUTER_OPERATION_NAMES) ipcMain.removeHandler(computerChannel(op));
  };
}
