/**
 * Wires the admin contract to Electron's IPC: one handler per operation.
 *
 * The handlers are registered from OPERATION_NAMES, so a new operation in
 * the contract gets its handler (and its argument check) without an edit
 * here. Refused calls are logged: a console page never makes them, so one
 * means a bug or a compromised renderer.
 */

import { ipcMain, type IpcMainInvokeEvent } from 'electron';
import { OPERATION_NAMES, ipcChannel, type AdminApi, type Reply } from '../../shared/contract.js';
import type { Logger } from '../service/log.js';
import { forwardEvents, handleCall } from './handle-call.js';
import { senderProblem, type SenderInfo, type TrustedSenders } from './trusted-sender.js';

/** What the main process can tell about who sent an IPC call. */
export function senderInfo(event: IpcMainInvokeEvent): SenderInfo {
  let frame: SenderInfo['frame'] = null;
  try {
    const sender = event.senderFrame;
    if (sender) frame = { url: sender.url, isMainFrame: sender.parent === null };
  } catch {
    // A frame destroyed mid-call throws on access; treat it as gone.
  }
  return { webContentsId: event.sender.id, frame };
}

/** Registers every operation's handler and the event forwarding; returns the undo. */
export function registerAdminIpc(admin: AdminApi, trusted: TrustedSenders, log: Logger): () => void {
  for (const op of OPERATION_NAMES) {
    ipcMain.handle(ipcChannel(op), async (event, ...args: unknown[]): Promise<Reply<unknown>> => {
      const sender = senderInfo(event);
      const problem = senderProblem(trusted, sender);
      if (problem !== null) log.warn('IPC call refused', { op, webContents: sender.webContentsId, url: sender.frame?.url ?? null, reason: problem });
      return handleCall(admin, trusted, sender, op, args);
    });
  }
  const stopEvents = forwardEvents(admin, trusted);
  return () => {
    stopEvents();
    for (const op of OPERATION_NAMES) ipcMain.removeHandler(ipcChannel(op));
  };
}
