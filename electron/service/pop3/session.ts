/**
 * One POP3 connection: its state, its input queue, its timers and its end.
 *
 * Commands are handled strictly one at a time, in the order received, so
 * pipelined commands (RFC 2449 PIPELINING) are answered in order. While one
 * runs, further input waits in a bounded buffer and the socket is paused
 * when that buffer fills. Every write that may be large waits for the socket
 * to drain, so a slow client never makes the server buffer a message.
 * The socket may change once: to TLS, at STLS or (POP3S) before the greeting.
 */

import type { FileHandle } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { SessionInfo } from '../../../shared/contract.js';
import type { Logger } from '../log.js';
import { isLoopbackAddress } from '../loopback.js';
import { countOctetsSent, processCounters } from '../observe/counters.js';
import type { Maildrop, Pop3StorePort, StoredMessage } from '../store/types.js';
import { dispatch } from './commands.js';
import { CommandLineReader, LINE_TOO_LONG } from './line-reader.js';
import type { LoginGatePort } from '../shared-limits.js';
import { MaildropView } from './maildrop-view.js';
import type { SessionRegistry } from './registry.js';
import { greetingLine, REPLY, secureRequired } from './responses.js';
import { DotStuffer, WireEncoder } from './wire-format.js';

export interface Pop3Settings {
  /** The autologout of a logged-in session (RFC 1939: at least ten minutes). */
  readonly idleTimeoutSeconds: number;
  /** From the greeting (or from taking a slot, on POP3S) until log-in. */
  readonly loginTimeoutSeconds: number;
  /** Connections one client (clientKey) may hold, waiting or served. */
  readonly connectionsPerAddress: number;
  readonly sparequired: boolean;
  /** Passwords without TLS from other computers too; absent means no (only loopback). */
  readonly plaintextRemote?: boolean;
  readonly socket: { readonly max: number; readonly backlog: number };
}

export type Pop3Event = { type: 'sessionOpened' | 'sessionClosed'; address: string; remote: string; reason?: string };

/** What a session needs from the listener that created it. */
export interface SessionDeps {
  readonly store: Pop3StorePort;
  readonly log: Logger;
  readonly settings: () => Pop3Settings;
  readonly registry: SessionRegistry<Pop3Session>;
  readonly host: string;
  /** For STLS and POP3S; null when the service has no usable certificate. */
  readonly tls: SecureContext | null;
  /** The bound POP3S port, named in the "encryption required" answer; null when none listens. */
  readonly pop3sPort: () => number | null;
  /** The lines and the penalty every log-in attempt goes through. */
  readonly gate: LoginGatePort;
  readonly onEvent?: ((e: Pop3Event) => void) | undefined;
  /** Called once, after the socket has closed. */
  readonly onClosed: (session: Pop3Session) => void;
  /** Called when what `info` shows changes: TLS started, logged in, UPDATE (live-sessions.ts). */
  readonly onChanged?: ((session: Pop3Session) => void) | undefined;
  /** Test-only; absent in the product (see Pop3Options.loginHoldForTests). */
  readonly loginHoldForTests?: LoginHoldForTests | undefined;
}

/** Where a log-in with the right password can be held by a test: before the maildrop claim, and between the claim and the second lock check. */
export type LoginHoldPoint = 'password-checked' | 'maildrop-claimed';
export type LoginHoldForTests = (at: LoginHoldPoint, address: string) => Promise<void>;

export type SessionState = 'authorization' | 'transaction' | 'update';

/** Input read ahead of the command in progress before the socket is paused. */
const PENDING_INPUT_LIMIT = 16 * 1024;
/** After the last words are queued, the socket gets this long to close by itself. */
const END_GRACE_MS = 1000;
/** Consecutive rejected commands before the connection is closed. */
const MAX_BAD_COMMANDS = 10;
/** The reason every ended session's signal aborts with: an abort without one builds a DOMException, a stack trace each time. */
const SESSION_ENDED = new Error('the POP3 session has ended');
/** Messages up to this size are read whole and sent in one write; larger ones are streamed. */
const SMALL_MESSAGE = 256 * 1024;
/** A large message is read in pieces of this size: fewer thread-pool round trips, memory still bounded. */
const LARGE_PIECE = 1024 * 1024;
/**
 * The buffers RETR reads a message into and dot-stuffs it into, shared by
 * every session of the process (one thread; a RETR reads, stuffs and writes
 * without yielding). Reusing them saves the allocation and, above all, the
 * garbage collections that two fresh buffers per RETR brought on.
 */
const scratch = {
  // An octet to spare, to tell a file of SMALL_MESSAGE octets from a larger one.
  read: Buffer.allocUnsafe(SMALL_MESSAGE + 1),
  // Stuffing adds at most one octet per line.
  stuffed: Buffer.allocUnsafe(SMALL_MESSAGE * 2),
  /** Replaces the buffer `lent` lies in: a socket still holds it. */
  renew(lent: Buffer): void {
    if (lent.buffer === this.read.buffer) this.read = Buffer.allocUnsafe(SMALL_MESSAGE + 1);
    else if (lent.buffer === this.stuffed.buffer) this.stuffed = Buffer.allocUnsafe(SMALL_MESSAGE * 2);
  },
};
/** Multi-line responses are written in pieces of about this size. */
const WRITE_PIECE = 16 * 1024;
const DEFAULT_IDLE_SECONDS = 600;
const DEFAULT_LOGIN_SECONDS = 60;
/** A client that starts TLS but never finishes the handshake is dropped after this. */
const HANDSHAKE_TIMEOUT_MS = 30_000;

/** Thrown by writes once the connection is gone; ends a command quietly. */
export class SessionEnded extends Error {
  constructor() {
    super('the POP3 session has ended');
  }
}

export class Pop3Session {
  /** ISO 8601 time this session began serving the connection (after any wait for a free slot). */
  readonly since = new Date().toISOString();
  private stateNow: SessionState = 'authorization';
  /** The name given with USER, waiting for PASS. */
  pendingUser: string | null = null;
  /** The maildrop this session holds in the registry (from the moment of the claim during PASS). */
  address: string | null = null;
  view: MaildropView | null = null;
  readonly remote: string;
  /** The client's IP address alone, the key of the log-in penalty. */
  readonly remoteAddress: string;
  /**
   * Set while a SASL exchange waits for the client's next line (RFC 5034): that
   * line is the client's response, not a command.
   */
  continuation: ((line: string) => void | Promise<void>) | null = null;

  private reader = new CommandLineReader();
  private tlsActive = false;
  private readonly onDataListener = (chunk: Buffer): void => this.onData(chunk);
  private busy = false;
  private ending = false;
  /** A multi-line response has begun: nothing else may be written into it. */
  private midResponse = false;
  /** Waiting for the client to read answers already sent (pipelined commands): a stall, not work. */
  private awaitingClient = false;
  private opened = false;
  private closeReason = 'connection closed by the client';
  private badCommands = 0;
  private rejected = false;
  private stream: Readable | null = null;
  private idleTimer: NodeJS.Timeout | undefined;
  private loginTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  /** Aborted when the session ends: whatever it waits for on its behalf (a line, a password check) lets go. */
  private readonly ended = new AbortController();

  constructor(
    private socket: Socket,
    readonly deps: SessionDeps,
    /** POP3S: TLS from the first byte, before the greeting. */
    private readonly implicitTls: boolean,
    /** Unique across the service's processes (live-sessions.ts); what `endSession` names. */
    readonly id: string,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '?';
    this.remote = `${this.remoteAddress}:${socket.remotePort ?? 0}`;
    socket.on('error', (err) => deps.log.debug('pop3 socket error', { remote: this.remote, error: err.message }));
    socket.once('close', () => this.onSocketClose());
  }

  get state(): SessionState {
    return this.stateNow;
  }

  set state(next: SessionState) {
    if (next === this.stateNow) return;
    this.stateNow = next;
    this.deps.onChanged?.(this);
  }

  /** The session as `listSessions` shows it. */
  get info(): SessionInfo {
    return {
      id: this.id,
      address: this.stateNow === 'authorization' ? null : this.address,
      client: this.remote,
      since: this.since,
      encrypted: this.tlsActive,
      state: this.stateNow,
      listener: this.implicitTls ? 'pop3s' : 'pop3',
    };
  }

  /** True once the session is closing: commands stop and write nothing more. */
  get isEnding(): boolean {
    return this.ending;
  }

  /** Aborts when the session ends. */
  get signal(): AbortSignal {
    return this.ended.signal;
  }

  /** True once the connection is encrypted (POP3S, or after STLS). */
  get secure(): boolean {
    return this.tlsActive;
  }

  /** Whether STLS can be offered: a certificate, and not yet encrypted. */
  get stlsAvailable(): boolean {
    return this.deps.tls !== null && !this.tlsActive;
  }

  /**
   * Whether a password (USER/PASS, AUTH PLAIN) may be sent on this connection
   * under the current settings: always with TLS; without it, never while
   * `sparequired`, and (as Dovecot's default) only from this computer unless
   * `plaintextRemote` allows other computers.
   */
  plainLoginAllowed(): boolean {
    if (this.secure) return true;
    try {
      const settings = this.deps.settings();
      return !settings.sparequired && (settings.plaintextRemote === true || isLoopbackAddress(this.remoteAddress));
    } catch {
      // Settings unreadable: refusing is the safe side.
      return false;
    }
  }

  /** The refusal for a password sent where encryption is required, naming the ways to get it. */
  secureRequiredReply(): string {
    let fromAnotherComputer = false;
    try {
      fromAnotherComputer = !this.deps.settings().sparequired;
    } catch {
      // The general wording then.
    }
    return secureRequired({ stls: this.deps.tls !== null, pop3sPort: this.deps.tls === null ? null : this.deps.pop3sPort(), fromAnotherComputer });
  }

  /** Greets the client (after the TLS handshake on POP3S) and starts reading commands. */
  start(): void {
    this.socket.setNoDelay(true);
    this.deps.log.info('pop3 connection opened', { remote: this.remote, tls: this.implicitTls });
    // One deadline, not reset by activity: a client cannot hold a slot without logging in by talking.
    this.loginTimer = setTimeout(() => this.onLoginTimeout(), loginSeconds(this.deps.settings) * 1000);
    if (!this.implicitTls) {
      this.greet();
      return;
    }
    if (this.deps.tls === null) {
      this.end('no TLS certificate');
      return;
    }
    void this.upgrade(this.deps.tls).then((ok) => {
      if (ok) this.greet();
    });
  }

  private greet(): void {
    this.reply(greetingLine(this.deps.host));
    this.armIdleTimer();
    this.socket.on('data', this.onDataListener);
    this.socket.resume();
  }

  /**
   * STLS (RFC 2595): answers +OK, then speaks TLS. Plaintext the client sent
   * after STLS and before the handshake is thrown away unread, so nobody can
   * slip commands into the encrypted session; what was learnt before (a USER
   * name) is forgotten. Resolves once the handshake is done or has failed.
   */
  async startTls(context: SecureContext): Promise<void> {
    const raw = this.socket;
    raw.off('data', this.onDataListener);
    // Bytes not yet handed to us stay in the socket and go to the TLS layer: the client's handshake.
    raw.pause();
    this.reader = new CommandLineReader();
    this.pendingUser = null;
    this.continuation = null;
    const sent = await new Promise<boolean>((resolve) => {
      if (this.ending || !raw.writable) return resolve(false);
      countOctetsSent(`${REPLY.stlsBegin}\r\n`);
      raw.write(`${REPLY.stlsBegin}\r\n`, (err) => resolve(!err));
    });
    if (!sent || this.ending) return;
    if (await this.upgrade(context)) {
      this.socket.on('data', this.onDataListener);
      this.armIdleTimer();
    }
  }

  /** Wraps the socket in TLS and waits for the handshake; on failure the session ends. */
  private upgrade(context: SecureContext): Promise<boolean> {
    const secure = new TLSSocket(this.socket, { isServer: true, secureContext: context });
    this.socket = secure;
    secure.on('error', (err) => this.deps.log.debug('pop3 TLS error', { remote: this.remote, error: err.message }));
    // The raw socket's 'close' (watched since the start) also fires when this one closes.
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(new Error('the TLS handshake timed out')), HANDSHAKE_TIMEOUT_MS);
      const onSecure = (): void => done(null);
      const onError = (err: Error): void => done(err);
      const onClose = (): void => done(new Error('the connection closed during the TLS handshake'));
      const done = (err: Error | null): void => {
        clearTimeout(timer);
        secure.off('secure', onSecure);
        secure.off('error', onError);
        secure.off('close', onClose);
        if (err === null && !this.ending) {
          this.tlsActive = true;
          this.deps.onChanged?.(this);
          this.deps.log.info('pop3 TLS started', { remote: this.remote, protocol: secure.getProtocol(), cipher: secure.getCipher()?.name });
          resolve(true);
          return;
        }
        if (err !== null) this.deps.log.info('pop3 TLS handshake failed', { remote: this.remote, error: err.message });
        this.end('TLS handshake failed');
        secure.destroy();
        resolve(false);
      };
      secure.once('secure', onSecure);
      secure.once('error', onError);
      secure.once('close', onClose);
    });
  }

  // --- answers --------------------------------------------------------------

  /** Sends a one-line answer. */
  reply(line: string): void {
    if (this.ending || !this.socket.writable) return;
    countOctetsSent(`${line}\r\n`);
    this.socket.write(`${line}\r\n`);
  }

  /** Sends an -ERR for a command that should not have been sent; too many in a row end the connection. */
  reject(line: string): void {
    this.rejected = true;
    this.badCommands++;
    if (this.badCommands >= MAX_BAD_COMMANDS) {
      this.reply(line);
      this.end('too many bad commands', REPLY.tooManyBadCommands);
      return;
    }
    this.reply(line);
  }

  /** Sends a multi-line answer (no line may start with "."), waiting for the socket as it goes. */
  async replyLines(first: string, lines: Iterable<string>): Promise<void> {
    this.midResponse = true;
    let piece = `${first}\r\n`;
    for (const line of lines) {
      piece += `${line}\r\n`;
      if (piece.length >= WRITE_PIECE) {
        await this.write(piece);
        piece = '';
      }
    }
    await this.write(`${piece}.\r\n`);
    this.midResponse = false;
  }

  /**
   * RETR and TOP. A message file of up to SMALL_MESSAGE octets (nearly all
   * mail) is read at once and sent with its status line and terminator in
   * one write; a file in wire form (the store's own, CRLF) goes out as read,
   * only dot-stuffed. A larger one is streamed, never held whole.
   */
  async replyMessage(number: number, message: StoredMessage, maildrop: Maildrop, bodyLines?: number): Promise<void> {
    if (bodyLines === undefined) {
      let data: Buffer | null;
      try {
        data = maildrop.readMessage(message, scratch.read);
      } catch (err) {
        this.replyUnreadable(number, err);
        return;
      }
      if (data !== null) {
        this.sendWhole(message, data, maildrop.isWireForm(message));
        return;
      }
      await this.streamLarge(number, message, maildrop);
      return;
    }
    await this.streamMessage(number, message, maildrop, bodyLines);
  }

  /**
   * RETR of a message too large to read at once: reads of LARGE_PIECE
   * through the thread pool into two buffers in turn, the next read under
   * way while the socket takes the last piece; a file in wire form is only
   * dot-stuffed. Two pieces in memory at most, whatever the message's size,
   * and no fresh buffer per piece (each one meant garbage to collect).
   */
  private async streamLarge(number: number, message: StoredMessage, maildrop: Maildrop): Promise<void> {
    let file: FileHandle;
    try {
      file = await maildrop.openMessageFile(message);
    } catch (err) {
      if (!this.ending) this.replyUnreadable(number, err);
      return;
    }
    const encoder = maildrop.isWireForm(message) ? new DotStuffer() : new WireEncoder();
    // `current` is being read into (or holds the piece read); `spare` the piece the socket is taking.
    let current = Buffer.allocUnsafe(LARGE_PIECE);
    let spare = Buffer.allocUnsafe(LARGE_PIECE);
    let stuffed = Buffer.allocUnsafe(LARGE_PIECE * 2);
    let reading: Promise<{ bytesRead: number }> | null = file.read(current, 0, LARGE_PIECE, null);
    try {
      let got: { bytesRead: number };
      try {
        // The first read shows whether the file can be read before +OK commits us.
        got = await reading;
        reading = null;
      } catch (err) {
        reading = null;
        if (!this.ending) this.replyUnreadable(number, err);
        return;
      }
      if (this.ending) return;
      this.midResponse = true;
      let status: string | null = `+OK ${message.size} octets\r\n`;
      while (got.bytesRead > 0) {
        const data = current.subarray(0, got.bytesRead);
        const out = encoder instanceof DotStuffer ? encoder.push(data, stuffed) : encoder.push(data);
        [current, spare] = [spare, current];
        reading = file.read(current, 0, LARGE_PIECE, null);
        if (status !== null) {
          // The status line rides with the first piece: one write, not two.
          this.socket.cork();
          countOctetsSent(status);
          this.socket.write(status);
          status = null;
          const sent = this.write(out);
          this.socket.uncork();
          await sent;
        } else if (out.length > 0) {
          await this.write(out);
        }
        // A piece small enough not to wait for the socket may still be in it: its buffers are not reused.
        if (this.socket.writableLength > 0) {
          spare = Buffer.allocUnsafe(LARGE_PIECE);
          stuffed = Buffer.allocUnsafe(LARGE_PIECE * 2);
        }
        got = await reading;
        reading = null;
      }
      // A file found empty (it shrank since it was listed) still gets its status line.
      if (status !== null) await this.write(status);
      await this.write(encoder.end());
      this.midResponse = false;
      processCounters.add('messagesRetrieved');
    } catch (err) {
      if (err instanceof SessionEnded || this.ending) return;
      // Part of the message is out: the only honest thing left is to close.
      this.deps.log.error('pop3 message read failed mid-stream', { remote: this.remote, address: this.address, file: message.file, error: errorText(err) });
      this.end('message read error');
    } finally {
      // A read still under way finishes before the file is closed.
      await reading?.catch(() => undefined);
      await file.close().catch(() => undefined);
    }
  }

  /**
   * A whole message in one corked write (one system call for status, body
   * and terminator). Nothing is awaited: runQueue waits for the socket to
   * drain before the next command, as for any answer.
   */
  private sendWhole(message: StoredMessage, data: Buffer, wireForm: boolean): void {
    if (this.ending || !this.socket.writable) return;
    let body: Buffer;
    let tail: Buffer;
    // A file that does not match its recorded sizes (or a name that claims a wire form its last line lacks) is converted instead.
    const n = data.length;
    if (wireForm && n === message.size && (n === 0 || (data[n - 1] === 0x0a && data[n - 2] === 0x0d))) {
      const stuffer = new DotStuffer();
      body = stuffer.push(data, scratch.stuffed);
      tail = stuffer.end();
    } else {
      const encoder = new WireEncoder();
      body = encoder.push(data);
      tail = encoder.end();
    }
    this.armIdleTimer();
    const status = `+OK ${message.size} octets\r\n`;
    processCounters.add('octetsSent', status.length + body.length + tail.length);
    processCounters.add('messagesRetrieved');
    const socket = this.socket;
    socket.cork();
    socket.write(status);
    if (body.length > 0) socket.write(body);
    socket.write(tail);
    socket.uncork();
    // Written through to the kernel at once (the usual case): the scratch buffers serve the next RETR.
    // Otherwise the socket still holds them, and new ones take their place.
    if (socket.writableLength > 0) scratch.renew(body);
  }

  /** TOP (and RETR through a stream): the file streamed in wire form. */
  private async streamMessage(number: number, message: StoredMessage, maildrop: Maildrop, bodyLines?: number): Promise<void> {
    let source: Readable;
    try {
      source = maildrop.openMessage(message);
    } catch (err) {
      this.replyUnreadable(number, err);
      return;
    }
    this.stream = source;
    const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    try {
      let step: IteratorResult<Buffer | string>;
      try {
        // The first read shows whether the file is there before +OK commits us.
        step = await iterator.next();
      } catch (err) {
        if (!this.ending) this.replyUnreadable(number, err);
        return;
      }
      if (this.ending) return;
      this.midResponse = true;
      const first = bodyLines === undefined ? `+OK ${message.size} octets` : '+OK Top of message follows';
      // TOP needs the line counting of the encoder; a whole file in wire form only its dots stuffed.
      const encoder = bodyLines === undefined && maildrop.isWireForm(message) ? new DotStuffer() : new WireEncoder(bodyLines);
      let status: string | null = `${first}\r\n`;
      // Where the stuffer copies a chunk with dot lines: reused while the socket has taken each piece whole.
      let stuffed: Buffer | undefined;
      while (step.done !== true) {
        const chunk = typeof step.value === 'string' ? Buffer.from(step.value) : step.value;
        if (encoder instanceof DotStuffer && (stuffed === undefined || stuffed.length < chunk.length * 2 || this.socket.writableLength > 0)) {
          stuffed = Buffer.allocUnsafe(chunk.length * 2);
        }
        const out = encoder instanceof DotStuffer ? encoder.push(chunk, stuffed) : encoder.push(chunk);
        if (status !== null) {
          // The status line rides with the first piece of the message: one write, not two.
          this.socket.cork();
          countOctetsSent(status);
          this.socket.write(status);
          status = null;
          const written = this.write(out);
          this.socket.uncork();
          await written;
        } else if (out.length > 0) {
          await this.write(out);
        }
        if (encoder instanceof WireEncoder && encoder.done) break;
        step = await iterator.next();
      }
      if (status !== null) await this.write(status);
      await this.write(encoder.end());
      this.midResponse = false;
      if (bodyLines === undefined) processCounters.add('messagesRetrieved');
    } catch (err) {
      if (err instanceof SessionEnded || this.ending) return;
      // Part of the message is out: the only honest thing left is to close.
      this.deps.log.error('pop3 message read failed mid-stream', { remote: this.remote, address: this.address, file: message.file, error: errorText(err) });
      this.end('message read error');
    } finally {
      this.stream = null;
      source.destroy();
    }
  }

  private replyUnreadable(number: number, err: unknown): void {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    this.deps.log.error('pop3 message unreadable', { remote: this.remote, address: this.address, number, error: errorText(err) });
    if (code === 'ENOENT') this.reply(`-ERR [SYS/PERM] Message ${number} is no longer in the mailbox; it may have been removed by the administrator.`);
    else this.reply(`-ERR [SYS/TEMP] Message ${number} cannot be read right now; try again later.`);
  }

  // --- log-in and the maildrop ----------------------------------------------

  /** Becomes a TRANSACTION session on the opened maildrop. */
  enterTransaction(maildrop: Maildrop): void {
    this.view = new MaildropView(maildrop);
    // A lock or password change written by another process (or server) on the same store.
    maildrop.onRevoked((r) => {
      if (this.view?.maildrop !== maildrop) return;
      const line = { locked: REPLY.lockedSession, 'password-changed': REPLY.passwordChangedSession, deleted: REPLY.deletedSession, 'lock-lost': REPLY.maildropLockLost }[r.why];
      this.end(r.reason, line);
    });
    this.state = 'transaction';
    this.opened = true;
    clearTimeout(this.loginTimer);
    this.armIdleTimer();
    const address = this.address ?? maildrop.address;
    this.deps.log.info('pop3 login ok', { remote: this.remote, address, messages: maildrop.messages.length });
    processCounters.add('loginsAccepted');
    this.deps.onEvent?.({ type: 'sessionOpened', address, remote: this.remote });
  }

  /** Gives up the registry claim (no-op if another session holds it). */
  releaseMaildrop(): void {
    if (this.address !== null) this.deps.registry.release(this.address, this);
    this.address = null;
  }

  // --- ending ---------------------------------------------------------------

  /**
   * Ends the session without applying any deletion: sends `finalLine` when no
   * response is half-written, then closes the socket within a second.
   */
  end(reason: string, finalLine?: string): void {
    if (this.ending) return;
    this.ending = true;
    this.closeReason = reason;
    clearTimeout(this.idleTimer);
    clearTimeout(this.loginTimer);
    this.ended.abort(SESSION_ENDED);
    this.view?.maildrop.release();
    this.view = null;
    this.releaseMaildropKeepingName();
    this.stream?.destroy();
    if (this.midResponse || !this.socket.writable) {
      this.socket.destroy();
    } else {
      if (finalLine === undefined) this.socket.end();
      else {
        countOctetsSent(`${finalLine}\r\n`);
        this.socket.end(`${finalLine}\r\n`);
      }
      // Keep reading (and dropping) input so the client's FIN can arrive.
      this.socket.resume();
    }
    this.killTimer = setTimeout(() => this.socket.destroy(), END_GRACE_MS);
    // Gone from the list now, not when the client lets go of the socket.
    this.deps.onChanged?.(this);
  }

  /** The administrator closes the session (lock, delete): marks are discarded. */
  kick(reason: string): void {
    this.end(reason, this.state === 'authorization' ? REPLY.lockedAtLogin : REPLY.lockedSession);
  }

  /** The administrator ends this one session (winpop kick, End Session): marks are discarded, as by a lock. */
  endByAdministrator(reason: string): void {
    this.end(reason, REPLY.endedByAdministrator);
  }

  /** The server is stopping. */
  shutdown(): void {
    this.end('server shutting down', REPLY.shuttingDown);
  }

  private releaseMaildropKeepingName(): void {
    if (this.address !== null) this.deps.registry.release(this.address, this);
  }

  private onSocketClose(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.loginTimer);
    clearTimeout(this.killTimer);
    if (!this.ending) {
      this.ending = true;
      this.ended.abort(SESSION_ENDED);
      this.view?.maildrop.release();
      this.view = null;
      this.releaseMaildropKeepingName();
      this.stream?.destroy();
    }
    const fields = { remote: this.remote, address: this.opened ? this.address : undefined, reason: this.closeReason };
    this.deps.log.info('pop3 connection closed', fields);
    if (this.opened && this.address !== null) {
      this.deps.onEvent?.({ type: 'sessionClosed', address: this.address, remote: this.remote, reason: this.closeReason });
    }
    this.deps.onClosed(this);
  }

  // --- input ----------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.ending) return;
    this.reader.push(chunk);
    if (this.reader.buffered > PENDING_INPUT_LIMIT) this.socket.pause();
    if (!this.busy) void this.runQueue();
  }

  private async runQueue(): Promise<void> {
    this.busy = true;
    try {
      while (!this.ending) {
        const line = this.reader.take();
        if (line === null) {
          if (this.socket.isPaused()) this.socket.resume();
          return;
        }
        if (line === LINE_TOO_LONG) {
          this.end('line too long', REPLY.lineTooLong);
          return;
        }
        this.armIdleTimer();
        await this.handle(line);
        // Answers to pipelined commands must not pile up in memory either.
        if (this.socket.writableNeedDrain && !this.ending) {
          this.awaitingClient = true;
          await this.waitDrain().catch(() => undefined);
          this.awaitingClient = false;
        }
        if (!this.ending) this.armIdleTimer();
      }
    } finally {
      this.busy = false;
    }
  }

  private async handle(line: Buffer): Promise<void> {
    this.rejected = false;
    let command = '?';
    try {
      const continuation = this.continuation;
      this.continuation = null;
      if (continuation !== null) {
        command = 'AUTH (response)';
        await continuation(line.toString('utf8'));
      } else {
        command = await dispatch(this, line);
      }
    } catch (err) {
      if (err instanceof SessionEnded || this.ending) return;
      this.deps.log.error('pop3 command failed', { remote: this.remote, address: this.address, command, error: errorText(err) });
      if (this.midResponse) this.end('internal error');
      else this.reply('-ERR [SYS/TEMP] The server could not complete the command; try again later.');
      return;
    }
    if (!this.rejected) this.badCommands = 0;
    this.deps.log.debug('pop3 command', { remote: this.remote, command, ok: !this.rejected });
  }

  // --- output and timers ----------------------------------------------------

  private write(data: string | Buffer): Promise<void> {
    if (this.ending || this.socket.destroyed) return Promise.reject(new SessionEnded());
    // Progress on the wire counts as activity: only a stalled client times out.
    this.armIdleTimer();
    countOctetsSent(data);
    if (this.socket.write(data)) return Promise.resolve();
    return this.waitDrain();
  }

  private waitDrain(): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
      };
      const onDrain = (): void => {
        settle();
        resolve();
      };
      const onClose = (): void => {
        settle();
        reject(new SessionEnded());
      };
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }

  /** The autologout timer; before log-in the log-in deadline stands alone. */
  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    if (this.ending || this.state === 'authorization') return;
    this.idleTimer = setTimeout(() => this.onIdle(), idleSeconds(this.deps.settings) * 1000);
  }

  private onIdle(): void {
    // A command waiting on the store is not idleness; a stalled download is.
    if (this.busy && !this.midResponse && !this.awaitingClient) {
      this.armIdleTimer();
      return;
    }
    this.end('autologout', REPLY.autologout);
  }

  /** Not logged in by the deadline: closed even mid-check (the check's outcome still counts, see login.ts). */
  private onLoginTimeout(): void {
    if (this.state !== 'authorization') return;
    this.end('log-in timeout', REPLY.loginTimeout);
  }
}

function idleSeconds(settings: () => Pop3Settings): number {
  try {
    const seconds = settings().idleTimeoutSeconds;
    return Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_IDLE_SECONDS;
  } catch {
    return DEFAULT_IDLE_SECONDS;
  }
}

function loginSeconds(settings: () => Pop3Settings): number {
  try {
    const seconds = settings().loginTimeoutSeconds;
    return Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_LOGIN_SECONDS;
  } catch {
    return DEFAULT_LOGIN_SECONDS;
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
