/**
 * Wires the console's other computers to Electron's IPC: one handler per
 * computer operation (handle-computer-call.ts does the checks), and their
 * events pushed to the trusted console pages.
 */

import { ipcMain } from 'electron';
import { COMPUTER_OPERATION_NAMES, computerChannel, type Reply } from '../../shared/contract.js';
import type { ComputerManager } from '../computers/computer-manager.js';
import type { Logger } from '../service/log.js';
import { forwardComputerEvents, handleComputerCall } from './handle-computer-call.js';
import { senderInfo } from './register.js';
import { senderProblem, type TrustedSenders } from './trusted-sender.js';

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
