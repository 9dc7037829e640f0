/**
 * The primary's side of "ask every worker, gather the replies": one request
 * per worker over its IPC channel, matched to its reply by id.
 *
 * Every request settles: with the worker's reply, or as a failed answer when
 * the worker cannot be sent to, has ended (`peerGone`), or has not answered
 * within the timeout. So one dead or stuck worker never holds up an answer
 * gathered from the others.
 */

import type { ToWorker } from './worker-protocol.js';
import type { WorkerAnswer } from './worker-operations.js';

/** One worker as the channel sees it. */
export interface Peer {
  /** The cluster's id of the worker, unique for the primary's life (a pid may be reused). */
  readonly id: number;
  readonly pid: number;
  /** False (or a throw) when the message could not be queued: the channel is closed. */
  send(message: ToWorker): boolean;
}

interface Pending {
  readonly peer: number;
  readonly pid: number;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (answer: WorkerAnswer<unknown>) => void;
}

export class RequestChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** Asks each peer once; resolves when every one has answered, failed or timed out. */
  ask<T>(peers: readonly Peer[], op: string, args: unknown, timeoutMs: number): Promise<WorkerAnswer<T>[]> {
    return Promise.all(peers.map((peer) => this.askOne<T>(peer, op, args, timeoutMs)));
  }

  private askOne<T>(peer: Peer, op: string, args: unknown, timeoutMs: number): Promise<WorkerAnswer<T>> {
    const id = this.nextId++;
    return new Promise<WorkerAnswer<T>>((resolve) => {
      const fail = (error: string): void => resolve({ pid: peer.pid, ok: false, error });
      const timer = setTimeout(() => {
        this.pending.delete(id);
        fail(`worker process ${peer.pid} did not answer ${op} within ${timeoutMs} ms`);
      }, timeoutMs);
      // A request in flight must not keep a stopping primary alive.
      timer.unref();
      this.pending.set(id, { peer: peer.id, pid: peer.pid, timer, resolve: resolve as (answer: WorkerAnswer<unknown>) => void });
      let sent = false;
      try {
        sent = peer.send({ t: 'request', id, op, args });
      } catch {
        sent = false;
      }
      if (!sent) this.settle(id, { ok: false, error: `worker process ${peer.pid} cannot be reached` });
    });
  }

  /** A worker's reply; one for an unknown id (timed out already) is dropped. */
  settle(id: number, reply: { ok: true; value: unknown } | { ok: false; error: string }): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(reply.ok ? { pid: p.pid, ok: true, value: reply.value } : { pid: p.pid, ok: false, error: reply.error });
  }

  /** The worker has ended: its requests in flight fail now rather than at their timeout. */
  peerGone(peerId: number): void {
    for (const [id, p] of this.pending) {
      if (p.peer === peerId) this.settle(id, { ok: false, error: `worker process ${p.pid} ended before it answered` });
    }
  }
}
