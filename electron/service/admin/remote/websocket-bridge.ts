/**
 * One console's WebSocket: the admin operations of the signed-in admin, in
 * the control channel's frames (frame-dispatch.ts), one frame per text
 * message.
 *
 * What the peer has not read is counted here, from each send until `ws`
 * hands it to the socket: the dispatcher pauses reading while replies pile
 * up, and drops a subscriber whose events do. Every message counts as use
 * of the session; when the session ends (log-out, idle, its admin deleted
 * or given a new password) the socket is told why and closed at once.
 */

import os from 'node:os';
import type { WebSocket } from 'ws';
import { AdminError } from '../../../../shared/errors.js';
import type { Logger } from '../../log.js';
import type { AdminService } from '../admin-service.js';
import { SERVICE_NAME, type ServerFrame } from '../control-protocol.js';
import { FrameDispatcher, MAX_UNSENT_EVENT_BYTES, type FrameLink } from '../frame-dispatch.js';
import { CLOSE_CODES, ENDPOINT_PROTOCOL_VERSION, type EndpointHelloFrame } from './endpoint-protocol.js';
import type { Session, Sessions } from './sessions.js';

/** Refuses the account operations on this channel. */
const ACCOUNTS_ARE_LOCAL = new AdminError(
  'NOT_ALLOWED',
  'Admin accounts are managed only on the service\'s computer, by the user that runs the service (winpop admin); the admin endpoint cannot change them.',
);

export interface BridgeDeps {
  readonly service: AdminService;
  readonly sessions: Sessions;
  readonly log: Logger;
  /** Unread bytes past which a subscriber is cut off (frame-dispatch.ts's limit unless given). */
  readonly maxUnsentEventBytes?: number;
}

/** An open console WebSocket, as the endpoint keeps it. */
export interface Bridge {
  readonly session: Session;
  /** Tells the console why and closes: its session ended. */
  endSession(reason: string): void;
  /** Closes with `code` (the endpoint stopping or moving). */
  close(code: number, reason: string): void;
}

/** WebSocket close reasons are at most 123 bytes. */
function closeReason(text: string): string {
  let out = text;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

export function bridgeWebSocket(ws: WebSocket, session: Session, remote: string, deps: BridgeDeps): Bridge {
  const { sessions, log } = deps;
  const admin = session.identity.name;
  let unsent = 0;

  const sendText = (text: string): void => {
    const bytes = Buffer.byteLength(text);
    unsent += bytes;
    ws.send(text, () => {
      unsent -= bytes;
      dispatcher.pump();
    });
  };

  const link: FrameLink = {
    send: (frame: ServerFrame) => sendText(JSON.stringify(frame)),
    unsentBytes: () => unsent,
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    end: () => ws.close(CLOSE_CODES.policy, 'protocol error'),
    destroy: () => {
      // The peer reads nothing: a close frame would wait behind what it did not read.
      ws.terminate();
    },
    isOpen: () => ws.readyState === ws.OPEN,
  };

  const dispatcher = new FrameDispatcher(
    link,
    {
      handshake: () => {
        throw new AdminError('INVALID_ARGUMENT', 'hello and proof belong to the local control channel; on the admin endpoint the session cookie says who you are. Send calls: {"id":1,"op":"listDomains","args":{}}.');
      },
      notReady: () => new AdminError('NOT_ALLOWED', 'Sign in first.'),
      logFields: () => ({ admin, remote }),
    },
    log,
    { maxUnsentEventBytes: deps.maxUnsentEventBytes ?? MAX_UNSENT_EVENT_BYTES },
  );
  dispatcher.target = { api: deps.service.forActor(admin, { uid: null, remote }), accounts: ACCOUNTS_ARE_LOCAL };

  ws.on('message', (data, isBinary) => {
    if (!sessions.touch(session)) return; // ended meanwhile: the end listener closes the socket
    if (isBinary) {
      dispatcher.send({ error: { code: 'INVALID_ARGUMENT', message: 'Send each frame as a JSON text message, not binary.' } });
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    dispatcher.push(bytes.toString('utf8'));
  });
  ws.on('error', (err) => {
    // ws closes the socket itself after a protocol error (1009 for a message over maxPayload).
    log.warn('admin endpoint: WebSocket closed on a protocol error', { admin, remote, error: err.message });
  });
  ws.on('close', () => dispatcher.close());

  const hello: EndpointHelloFrame = { hello: { version: ENDPOINT_PROTOCOL_VERSION, service: SERVICE_NAME, admin, computer: os.hostname() } };
  sendText(JSON.stringify(hello));
  log.debug('admin endpoint: console connected', { admin, remote });

  return {
    session,
    endSession(reason) {
      dispatcher.close();
      if (ws.readyState !== ws.OPEN) return;
      dispatcher.send({ error: { code: 'NOT_ALLOWED', message: `Your session ended: ${reason}.` } });
      ws.close(CLOSE_CODES.sessionEnded, closeReason(`session ended: ${reason}`));
    },
    close(code, reason) {
      dispatcher.close();
      if (ws.readyState === ws.OPEN) ws.close(code, closeReason(reason));
      else ws.terminate();
    },
  };
}
