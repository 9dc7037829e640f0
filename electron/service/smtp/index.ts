/**
 * The SMTP delivery listener: how mail gets into the store.
 *
 * It accepts mail only for mailboxes of hosted domains (locked ones too: a
 * locked mailbox still receives mail), never relays, needs no log-in (this is
 * the receiving side, like port 25 of any mail server) and enforces the
 * message size limit of the settings, read anew for each connection.
 * With a certificate it offers STARTTLS (RFC 3207), so mail can arrive
 * encrypted; without one it does not pretend to.
 */

import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { SMTPServer } from 'smtp-server';
import { hostPort, type BoundAddress } from '../listen-addresses.js';
import { listenFailure } from '../listen-failure.js';
import type { Logger } from '../log.js';
import type { MailStore } from '../store/types.js';
import { deliverMessage } from './delivery.js';
import { acceptRecipient } from './recipients.js';

export interface SmtpOptions {
  store: MailStore;
  log: Logger;
  /** Read at each connection and transaction, so a settings change applies without a restart. */
  settings: () => { maxMessageBytes: number };
  /** The name the server greets with and writes in Received: fields; the computer's name by default. */
  hostname?: string;
  /** PEM certificate and key for STARTTLS (the same as POP3's); absent or null: no STARTTLS. */
  tls?: { readonly key: string; readonly cert: string } | null;
}

export interface SmtpListener {
  /**
   * Binds one more address (each its own server, all alike); rejects with an
   * error that names the fix (its `code` is kept, e.g. EADDRINUSE).
   * `ipv6Only` is for `::`, so that 0.0.0.0 can be bound on the same port.
   */
  listen(port: number, host: string, options?: { ipv6Only?: boolean }): Promise<BoundAddress>;
  /** Stops accepting; open sessions get a short grace to finish, then 421. */
  close(): Promise<void>;
}

/** Most recipients one message may have; more get 452 and go in a later transaction. */
const MAX_RECIPIENTS = 1000;
/** An idle client is dropped after this (RFC 5321 suggests minutes, not hours). */
const SOCKET_TIMEOUT_MS = 5 * 60 * 1000;
/** How long close() lets sessions finish a transaction. */
const CLOSE_GRACE_MS = 2000;

/** Creates the SMTP delivery listener (not yet listening). */
export function createSmtpListener(options: SmtpOptions): SmtpListener {
  const { store, log } = options;
  const host = options.hostname ?? os.hostname();
  const limit = (): number => options.settings().maxMessageBytes;
  const tls = options.tls ?? null;

  // smtp-server changes its options object in place (the size below), so each bound address gets its own server.
  const makeServer = (): SMTPServer => {
    const server: SMTPServer = new SMTPServer({
      name: host,
      banner: 'POP3 Service mail delivery',
      logger: false,
      // Delivery needs no log-in. STARTTLS only with our own certificate, never smtp-server's built-in one.
      disabledCommands: tls === null ? ['AUTH', 'STARTTLS'] : ['AUTH'],
      hideSTARTTLS: tls === null,
      ...(tls === null ? {} : { key: tls.key, cert: tls.cert }),
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
      onConnect(_session, callback) {
        server.options.size = limit();
        callback();
      },
      onMailFrom(_address, _session, callback) {
        server.options.size = limit();
        callback();
      },
      onRcptTo(address, _session, callback) {
        acceptRecipient(store, address.address, log).then(
          () => callback(),
          (err: Error) => {
            log.debug('smtp recipient refused', { to: address.address, reply: err.message });
            callback(err);
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
          (message) => callback(null, message),
          (err: Error) => callback(err),
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
    async close() {
      await Promise.all([...listening].map(closeServer));
    },
  };
}
