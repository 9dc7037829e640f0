/**
 * What the control-channel tests share: a real admin service over a real
 * store served on a real socket, and a raw connection that speaks the wire
 * format by hand.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ServerInfo } from '../../shared/contract.js';
import { createAdminService, type AdminService } from '../../electron/service/admin/admin-service.js';
import { connectControl, type ControlClient } from '../../electron/service/admin/control-client.js';
import { controlSocketPath } from '../../electron/service/admin/control-path.js';
import { writeProof } from '../../electron/service/admin/control-proof.js';
import { PROTOCOL_VERSION } from '../../electron/service/admin/control-protocol.js';
import { serveControl, type ControlServer } from '../../electron/service/admin/control-server.js';
import { loadConfig } from '../../electron/service/config.js';
import { silentLogger } from '../../electron/service/log.js';
import { createSettingsHolder } from '../../electron/service/settings-holder.js';
import { openMailStore } from '../../electron/service/store/index.js';
import type { MailStore } from '../../electron/service/store/types.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

/** An admin service over a new store at `mailroot` (its config file next to it), with no control channel yet. */
export async function adminServiceAt(mailroot: string): Promise<{ store: MailStore; service: AdminService }> {
  const configPath = `${mailroot}.json`;
  const store = await openMailStore(mailroot, { fsync: false });
  const settings = createSettingsHolder(configPath, await loadConfig(configPath), { mailroot });
  const info = (): ServerInfo => ({ computer: os.hostname(), version: 'test', mailroot, mode: 'in-process', listeners: [], sessions: 0 });
  return { store, service: createAdminService({ store, settings, info, log: silentLogger }) };
}

export interface Fixture {
  readonly dir: TempDir;
  readonly mailroot: string;
  readonly store: MailStore;
  readonly service: AdminService;
  readonly address: string;
  server: ControlServer;
}

export async function startFixture(): Promise<Fixture> {
  const dir = await tempDir('winpop-control-');
  const mailroot = path.join(dir.path, 'mail');
  const { store, service } = await adminServiceAt(mailroot);
  const address = controlSocketPath(mailroot);
  const server = await serveControl(service, address, silentLogger);
  return { dir, mailroot, store, service, address, server };
}

export async function connect(f: Fixture, actor = 'tester'): Promise<ControlClient> {
  const client = await connectControl(f.mailroot, actor);
  assert.ok(client, 'the control channel should answer');
  return client;
}

/** A raw connection that speaks the wire format by hand and reads frames back. */
export class RawConnection {
  private buffer = '';
  private readonly frames: unknown[] = [];
  private readonly waiters: ((frame: unknown) => void)[] = [];
  closed: Promise<void>;

  constructor(
    readonly socket: net.Socket,
    readonly address: string,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      this.buffer += data;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const frame: unknown = JSON.parse(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
        const waiter = this.waiters.shift();
        if (waiter) waiter(frame);
        else this.frames.push(frame);
      }
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(address: string): Promise<RawConnection> {
    const socket = net.createConnection(address);
    await once(socket, 'connect');
    return new RawConnection(socket, address);
  }

  send(line: string): void {
    this.socket.write(`${line}\n`);
  }

  next(timeoutMs = 5000): Promise<Record<string, any>> {
    const ready = this.frames.shift();
    if (ready !== undefined) return Promise.resolve(ready as Record<string, any>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame within the time limit')), timeoutMs);
      this.waiters.push((frame) => {
        clearTimeout(timer);
        resolve(frame as Record<string, any>);
      });
    });
  }

  /** The folder the service asked this client to write its proof file in (from the hello answer). */
  proofDir = '';

  /** Says hello; returns the nonce to prove the uid with (undefined on a pipe). */
  async greet(actor = 'raw'): Promise<string | undefined> {
    this.send(JSON.stringify({ hello: { actor, version: PROTOCOL_VERSION } }));
    const answer = await this.next();
    assert.equal(answer.hello?.version, PROTOCOL_VERSION);
    assert.equal(answer.hello?.service, 'winpop');
    this.proofDir = (answer.hello?.proofDir as string | undefined) ?? path.dirname(this.address);
    return answer.hello?.proof as string | undefined;
  }

  /** Says hello and proves this process's uid, as the real client does. */
  async hello(actor = 'raw'): Promise<void> {
    const nonce = await this.greet(actor);
    if (nonce === undefined) return;
    await writeProof(this.proofDir, nonce);
    this.send(JSON.stringify({ proof: nonce }));
    assert.deepEqual(await this.next(), { proof: { uid: process.getuid?.() } });
  }
}
