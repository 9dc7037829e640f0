/**
 * The SMTP delivery listener: how mail gets into the store.
 *
 * It accepts mail only for mailboxes of hosted domains (locked ones too: a
 * locked mailbox still receives mail), never relays, needs no log-in (this is
 * the receiving side, like port 25 of any mail server) and enforces the
 * message size limit of the settings, read anew for each connection.
 * With a certificate it offers STARTTLS (RFC 3207), so mail can arrive
 * encrypted; without one it does not pretend to.
 *
 * It caps open connections in total and per client address (421 beyond
 * either, limits read at each connection), and slows down clients that
 * collect "no such mailbox" answers (see recipient-throttle.ts).
 */

import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { Settings } from '../../../shared/contract.js';
import { clientAddressKey } from '../client-address.js';
import { hostPort, type BoundAddress } from '../listen-addresses.js';
import { listenFailure } from '../listen-failure.js';
import type { Logger } from '../log.js';
import type { SmtpStorePort } from '../store/types.js';
import { TLS_POLICY } from '../tls/policy.js';
import { ConnectionSlots, LogOnce, type SlotVerdict } from '../connection-slots.js';
import { andThen, type SmtpLimits } from '../shared-limits.js';
import { processCounters } from '../observe/counters.js';
import { deliverMessage } from './store-message.js';
import { RecipientThrottle, type RecipientThrottleOptions, type UnknownRecipientVerdict } from './recipient-throttle.js';
import { acceptRecipient } from './recipients.js';
import { tooManyConnections, tooManyFromAddress, tooManyUnknownRecipients, UnknownMailboxReply } from './replies.js';

export interface SmtpOptions {
  store: SmtpStorePort;
  log: Logger;
  /** Read at each connection and transaction, so a settings change applies without a restart. */
  settings: () => Pick<Settings, 'maxMessageBytes' | 'smtpMaxConnections' | 'smtpConnectionsPerAddress'>;
  /** The name the server greets with and writes in Received: fields; the computer's name by default. */
  hostname?: string;
  /** PEM certificate and key for STARTTLS (the same as POP3's); absent or null: no STARTTLS. */
  tls?: { readonly key: string; readonly cert: string } | null;
  /** The unknown-recipient throttle's numbers; its defaults unless a test needs shorter ones. */
  recipientThrottle?: Partial<RecipientThrottleOptions>;
  /**
   * The connection caps and unknown-recipient counts when they are kept for a
   * whole service of several processes (workers/remote-limits.ts); without it
   * this listener keeps its own.
   */
  limits?: SmtpLimits;
}

export interface SmtpListener {
  /**
   * Binds one more address (each its own server, all alike, sharing the caps);
   * rejects with an error that names the fix (its `code` is kept, e.g. EADDRINUSE).
   * `ipv6Only` is for `::`, so that 0.0.0.0 can be bound on the same port.
   */
  listen(port: number, host: string, options?: { ipv6Only?: boolean }): Promise<BoundAddress>;
  /** Stops accepting; open sessions get a short grace to finish, then 421. */
  close(): Promise<void>;
  /** Open connections that passed the caps (refused ones never count). */
  connectionCount(): number;
}

/** Most recipients one message may have; more get 452 and go in a later transaction. */
const MAX_RECIPIENTS = 1000;
/** An idle client is dropped after this (RFC 5321 suggests minutes, not hours). */
const SOCKET_TIMEOUT_MS = 5 * 60 * 1000;
/** How long close() lets sessions finish a transaction. */
const CLOSE_GRACE_MS = 2000;
/** A refusal of the same kind for the same address is logged at most this often. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** Creates the SMTP delivery listener (not yet listening). */
export function createSmtpListener(options: SmtpOptions): SmtpListener {
  const { store, log } = options;
  const host = options.hostname ?? os.hostname();
  const limit = (): number => options.settings().maxMessageBytes;
  const tls = options.tls ?? null;
  const slots = new ConnectionSlots();
  const shared = options.limits;
  /** Session id → the client key its slot was taken under; connections refused at the start have none. */
  const admitted = new Map<string, string>();
  const throttle = new RecipientThrottle(options.recipientThrottle);
  const logOnce = new LogOnce(REFUSAL_LOG_INTERVAL_MS);
  /** Sessions whose slot is being asked for, and those of them that closed meanwhile (shared limits only). */
  const asking = new Set<string>();
  const closedEarly = new Set<string>();
  /** Connections admitted through the shared limits, for connectionCount. */
  let open = 0;
  const clientOf = (session: SMTPServerSession): string => admitted.get(session.id) ?? clientAddressKey(session.remoteAddress);

  /** Admits or refuses a connection by the caps' verdict. */
  const answerConnect = (
    session: SMTPServerSession,
    client: string,
    caps: { readonly total: number; readonly perAddress: number },
    verdict: SlotVerdict,
    callback: (err?: Error | null) => void,
  ): void => {
    const { total: smtpMaxConnections, perAddress: smtpConnectionsPerAddress } = caps;
    asking.delete(session.id);
    const gone = closedEarly.delete(session.id);
    if (verdict === 'ok') {
      if (gone) {
        shared?.disconnect(client);
        return;
      }
      admitted.set(session.id, client);
      if (shared !== undefined) open++;
      callback();
      return;
    }
    if (verdict === 'address') {
      if (logOnce.due(`address ${client}`)) {
        log.warn(`smtp connections refused: ${client} already holds ${smtpConnectionsPerAddress}, the most one address may (winpop set smtpperaddress N raises it)`, {
          remote: session.remoteAddress,
        });
      }
      processCounters.add('connectionsRefused');
      callback(tooManyFromAddress(host));
      return;
    }
    if (logOnce.due('total')) {
      log.warn(`smtp connections refused: ${smtpMaxConnections} are open, the most the server takes (winpop set smtpmax N raises it)`, { remote: session.remoteAddress });
    }
    processCounters.add('connectionsRefused');
    callback(tooManyConnections(host));
  };

  /** Answers an unknown recipient by the throttle's verdict: at once, later, or 421. */
  const answerUnknown = (
    session: SMTPServerSession,
    client: string,
    recipient: string,
    err: Error,
    verdict: UnknownRecipientVerdict,
    callback: (err?: Error | null) => void,
  ): void => {
    log.debug('smtp recipient refused', { to: recipient, reply: err.message, unknowns: verdict.unknowns, delayMs: verdict.delayMs });
    if (verdict.close && logOnce.due(`recipients ${client}`)) {
      log.warn('smtp connection closed: too many unknown recipients, as when mailbox names are being guessed', {
        remote: session.remoteAddress,
        unknowns: verdict.unknowns,
      });
    }
    const answer = verdict.close ? tooManyUnknownRecipients(host) : err;
    processCounters.add('smtpRefused');
    if (verdict.delayMs === 0) callback(answer);
    // Unref'd: a pending answer never holds the process open; after close() it goes nowhere.
    else setTimeout(() => callback(answer), verdict.delayMs).unref();
  };

  // smtp-server changes its options object in place (the size below), so each bound address gets its own
  // server; the connection caps and the recipient throttle above are shared by all of them.
  const makeServer = (): SMTPServer => {
    const server: SMTPServer = new SMTPServer({
      name: host,
      banner: 'POP3 Service mail delivery',
      logger: false,
      // Delivery needs no log-in. STARTTLS only with our own certificate, never smtp-server's built-in one.
      disabledCommands: tls === null ? ['AUTH', 'STARTTLS'] : ['AUTH'],
      hideSTARTTLS: tls === null,
      // smtp-server builds its own TLS context from these options (its defaults would allow TLS 1.0).
      ...(tls === null ? {} : { key: tls.key, cert: tls.cert, ...TLS_POLICY }),
      authOptional: true,
      // Our replies carry their own, exact enhanced status codes (see replies.ts).
      hideENHANCEDSTATUSCODES: true,
      disableReverseLookup: true,
      size: limit(),
      maxRecipients: MAX_RECIPIENTS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      closeTimeout: CLOSE_GRACE_MS,
      // smtp-server reads `options.size` for the EHLO advertisement, the MAIL FROM
      // SIZE= check and the DATA counter, so refreshing it here applies a settings
      // change to the next transaction.
      // The caps are ours rather than smtp-server's maxClients, which counts
      // connections before this point and answers without an enhanced code.
      onConnect(session, callback) {
        server.options.size = limit();
        const client = clientAddressKey(session.remoteAddress);
        const { smtpMaxConnections, smtpConnectionsPerAddress } = options.settings();
        const caps = { total: smtpMaxConnections, perAddress: smtpConnectionsPerAddress };
        if (shared === undefined) {
          answerConnect(session, client, caps, slots.take(client, caps), callback);
          return;
        }
        asking.add(session.id);
        Promise.resolve(shared.connect(client, caps)).then(
          (verdict) => answerConnect(session, client, caps, verdict, callback),
          (err: unknown) => {
            log.error('smtp connection refused: the connection limits could not be asked', { remote: session.remoteAddress, error: err instanceof Error ? err.message : String(err) });
            asking.delete(session.id);
            closedEarly.delete(session.id);
            callback(tooManyConnections(host));
          },
        );
      },
      onClose(session) {
        const client = admitted.get(session.id);
        if (client === undefined) {
          // Closed while its slot was being asked for: given back when the answer comes.
          if (asking.has(session.id)) closedEarly.add(session.id);
          return;
        }
        admitted.delete(session.id);
        if (shared === undefined) slots.release(client);
        else {
          shared.disconnect(client);
          open--;
        }
        throttle.closed(session.id);
      },
      onMailFrom(_address, _session, callback) {
        server.options.size = limit();
        callback();
      },
      onRcptTo(address, session, callback) {
        acceptRecipient(store, address.address, log).then(
          () => callback(),
          (err: Error) => {
            if (!(err instanceof UnknownMailboxReply)) {
              log.debug('smtp recipient refused', { to: address.address, reply: err.message });
              processCounters.add('smtpRefused');
              callback(err);
              return;
            }
            const client = clientOf(session);
            if (shared === undefined) {
              answerUnknown(session, client, address.address, err, throttle.unknown(client, session.id), callback);
              return;
            }
            const onConnection = throttle.countOnConnection(session.id);
            void andThen(shared.unknownRecipient(client), (unknowns) => answerUnknown(session, client, address.address, err, throttle.verdict(onConnection, unknowns), callback));
          },
        );
      },
      onData(stream, session, callback) {
        const recipients = [...new Set(session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()))];
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        deliverMessage(
          { store, log, host },
          stream,
          {
            from,
            recipients,
            helo: session.hostNameAppearsAs,
            ip: session.remoteAddress,
            protocol: session.transmissionType,
            id: session.id,
          },
          Number(server.options.size) || limit(),
        ).then(
          (message) => {
            throttle.delivered(clientOf(session), session.id);
            shared?.delivered(clientOf(session));
            processCounters.add('smtpAccepted');
            callback(null, message);
          },
          (err: Error) => {
            processCounters.add('smtpRefused');
            callback(err);
          },
        );
      },
    });
    // Per-connection failures (a client resetting) arrive here; they concern only that client.
    server.on('error', (err: Error) => log.debug('smtp connection error', { error: err.message }));
    return server;
  };

  const listening = new Set<SMTPServer>();
  const closeServer = (server: SMTPServer): Promise<void> => {
    if (!listening.delete(server)) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return {
    listen(port, hostAddress, how = {}) {
      const server = makeServer();
      return new Promise((resolve, reject) => {
        const net = server.server;
        const onError = (err: NodeJS.ErrnoException): void => {
          net.off('listening', onListening);
          reject(Object.assign(new Error(listenFailure('SMTP', hostAddress, port, err, '--smtp-port N')), { code: err.code }));
        };
        const onListening = (): void => {
          net.off('error', onError);
          listening.add(server);
          const bound = net.address() as AddressInfo;
          log.info('smtp listening', { address: hostPort(bound.address, bound.port) });
          resolve({ port: bound.port, host: bound.address, close: () => closeServer(server) });
        };
        net.once('error', onError);
        net.once('listening', onListening);
        server.listen({ port, host: hostAddress, ipv6Only: how.ipv6Only === true });
      });
    },
    connectionCount() {
      return shared === undefined ? slots.size : open;
    },
    async close() {
      await Promise.all([...listening].map(closeServer));
    },
  };
}
