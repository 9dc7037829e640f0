/**
 * Signing in to another computer's admin endpoint and opening its
 * WebSocket, each over a connection whose certificate was checked against
 * the pinned fingerprint first (pinned-tls.ts). The endpoint's protocol is
 * in electron/service/admin/remote/endpoint-protocol.ts.
 */

import https from 'node:https';
import { WebSocket } from 'ws';
import { PATHS, SESSION_COOKIE } from '../service/admin/remote/endpoint-protocol.js';
import { connectPinned } from './pinned-tls.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** The fingerprint the certificate must have. */
  readonly fingerprint: string;
  readonly timeoutMs: number;
}

/** The endpoint answered the log-in with a refusal: `status` says which (401 wrong password, 429 too many attempts, 503 busy). */
export class LoginRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds: number | null,
  ) {
    super(message);
  }
}

/** `host` as a URL spells it: IPv6 in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The Origin the endpoint accepts: its own, as if a browser had reached it at `host:port`. */
export function endpointOrigin(endpoint: Pick<Endpoint, 'host' | 'port'>): string {
  return `https://${urlHost(endpoint.host)}:${endpoint.port}`;
}

/** Signs in with a password; resolves with the session cookie (`name=value`) to send back. */
export async function signIn(endpoint: Endpoint, admin: string, password: string): Promise<string> {
  const { socket } = await connectPinned(endpoint.host, endpoint.port, endpoint.fingerprint, endpoint.timeoutMs);
  const body = JSON.stringify({ name: admin, password });
  const answer = await new Promise<{ status: number; setCookie: string[]; retryAfter: string | undefined; text: string }>((resolve, reject) => {
    const req = https.request(
      {
        method: 'POST',
        host: endpoint.host,
        port: endpoint.port,
        path: PATHS.login,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        // With no agent, the request runs on this already checked connection (an agent would open its own).
        createConnection: () => socket,
        timeout: endpoint.timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < 64 * 1024) text += chunk;
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [], retryAfter: res.headers['retry-after'], text });
          socket.destroy();
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to the log-in within ${Math.round(endpoint.timeoutMs / 1000)} s`)));
    req.on('error', (err) => {
      socket.destroy();
      reject(err);
    });
    req.end(body);
  });
  if (answer.status === 200) {
    const cookie = answer.setCookie.map((c) => c.split(';')[0] ?? '').find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    if (!cookie) throw new Error('the endpoint signed in without a session cookie; is it a POP3 Service admin endpoint?');
    return cookie;
  }
  let message = `the endpoint answered ${answer.status}`;
  try {
    const parsed = JSON.parse(answer.text) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
  } catch {
    // Not JSON: keep the status.
  }
  const retry = answer.retryAfter === undefined ? null : Number(answer.retryAfter);
  throw new LoginRefused(answer.status, message, retry !== null && Number.isFinite(retry) ? retry : null);
}

/** Opens the endpoint's WebSocket with the session cookie and the endpoint's own Origin. */
export async function openSocket(endpoint: Endpoint, cookie: string): Promise<WebSocket> {
  const { socket } = await connectPinned(endpoint.host, endpoint.port, endpoint.fingerprint, endpoint.timeoutMs);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://${urlHost(endpoint.host)}:${endpoint.port}${PATHS.socket}`, {
      createConnection: () => socket,
      origin: endpointOrigin(endpoint),
      headers: { Cookie: cookie },
      handshakeTimeout: endpoint.timeoutMs,
      maxPayload: 256 * 1024 * 1024,
    });
    const fail = (err: Error): void => {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      socket.destroy();
      reject(err);
    };
    ws.once('open', () => {
      ws.removeListener('error', fail);
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      fail(new LoginRefused(res.statusCode ?? 0, res.statusCode === 401 ? 'the session was refused (expired)' : `the WebSocket was refused with ${res.statusCode}`, null));
    });
    ws.once('error', fail);
  });
}
