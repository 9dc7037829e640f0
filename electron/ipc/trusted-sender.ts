/**
 * Which renderers may call the admin API: the sender check.
 *
 * A call is accepted only from a webContents we created for a console
 * window, from its main frame (never an iframe), while that frame shows our
 * own origin. Ids are dropped when their webContents is destroyed, so a
 * recycled id can never inherit trust. The check itself is a pure function,
 * unit-tested without Electron.
 */

import type { WebContents } from 'electron';
import { isAppUrl } from '../app-origin.js';
import { AdminError } from '../../shared/errors.js';

/** What the main process knows about the origin of one IPC call. */
export interface SenderInfo {
  readonly webContentsId: number;
  /** The frame that sent the call; null when it is already gone. */
  readonly frame: { readonly url: string; readonly isMainFrame: boolean } | null;
}

/** A trusted renderer as the event forwarder sees it (a WebContents fits). */
export interface EventSink {
  readonly id: number;
  isDestroyed(): boolean;
  getURL(): string;
  send(channel: string, ...args: unknown[]): void;
}

/** The set of our windows' webContents, by id. */
export class TrustedSenders {
  readonly #sinks = new Map<number, EventSink>();

  add(sink: EventSink): void {
    this.#sinks.set(sink.id, sink);
  }

  remove(id: number): void {
    this.#sinks.delete(id);
  }

  has(id: number): boolean {
    return this.#sinks.has(id);
  }

  /** The live renderers that may receive events. */
  sinks(): EventSink[] {
    return [...this.#sinks.values()].filter((sink) => !sink.isDestroyed());
  }
}

/** Trusts a console window's webContents until it is destroyed. */
export function trustWebContents(trusted: TrustedSenders, contents: WebContents): void {
  const id = contents.id;
  trusted.add(contents);
  contents.once('destroyed', () => trusted.remove(id));
}

/** Why a call from this sender must be refused, or null when it may proceed. */
export function senderProblem(trusted: TrustedSenders, sender: SenderInfo): string | null {
  if (!trusted.has(sender.webContentsId)) return 'the caller is not a POP3 Service console window';
  if (sender.frame === null) return 'the calling frame has already gone away';
  if (!sender.frame.isMainFrame) return 'the call came from an embedded frame, not the console page';
  if (!isAppUrl(sender.frame.url)) return 'the calling page is not the POP3 Service console';
  return null;
}

/** Throws NOT_ALLOWED unless the sender is one of our console pages. */
export function assertTrustedSender(trusted: TrustedSenders, sender: SenderInfo): void {
  const problem = senderProblem(trusted, sender);
  if (problem !== null) throw new AdminError('NOT_ALLOWED', `Refused: ${problem}. Only the POP3 Service console may administer the service.`);
}
