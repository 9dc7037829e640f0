/**
 * The mail side of a service: the POP3, SMTP and POP3S listeners over one
 * store, bound on every listen address.
 *
 * The same code runs in a single-process service (host.ts) and in each
 * worker process of a service on several (workers/worker-main.ts), so the two
 * serve mail alike.
 */

import os from 'node:os';
import type { AdminEvent, ListenerStatus, SessionInfo, Settings } from '../../shared/contract.js';
import { AddressBindError, bindAll, hostPort, type BindOne, type BindTarget, type BoundAddress } from './listen-addresses.js';
import { listenFailure } from './listen-failure.js';
import type { Logger } from './log.js';
import { createPop3Server, type Pop3Server } from './pop3/index.js';
import type { LoginHoldForTests } from './pop3/session.js';
import { createSmtpListener, type SmtpListener } from './smtp/index.js';
import type { Pop3Limits, SmtpLimits } from './shared-limits.js';
import type { MailStore } from './store/index.js';
import type { TlsSetup } from './tls/setup.js';

export type MailProtocol = 'pop3' | 'smtp' | 'pop3s';

export interface MailListenerOptions {
  readonly store: MailStore;
  readonly log: Logger;
  readonly settings: () => Settings;
  readonly tls: TlsSetup;
  readonly targets: readonly BindTarget[];
  /** The ports to bind (0: a free one), read once: ports apply at the next start. */
  readonly ports: { readonly pop3: number; readonly smtp: number; readonly pop3s: number };
  /** A POP3 session logged in or ended, as the admin layer announces it. */
  readonly onSessionEvent: (event: Extract<AdminEvent, { type: 'sessionOpened' | 'sessionClosed' }>) => void;
  /** A session was greeted or changed, or is closing (null): the admin event `sessionChanged`. */
  readonly onSessionChange: (id: string, session: SessionInfo | null) => void;
  readonly loginHoldForTests?: LoginHoldForTests;
  /** The limits kept for a service of several processes (a worker's); without them each listener keeps its own. */
  readonly limits?: { readonly pop3: Pop3Limits; readonly smtp: SmtpLimits };
}

export interface MailListeners {
  readonly pop3: Pop3Server;
  readonly smtp: SmtpListener;
  /** POP3, SMTP and POP3S, in that order (the ready line's). */
  readonly statuses: readonly ListenerStatus[];
  /** Bound ports; null where the listener could not start (POP3S also when TLS is off). */
  readonly pop3Port: number | null;
  readonly smtpPort: number | null;
  readonly pop3sPort: number | null;
  /** Stops listening and ends every session (deletions not applied). */
  close(): Promise<void>;
}

export async function startMailListeners(options: MailListenerOptions): Promise<MailListeners> {
  const { store, log, settings, tls, targets, ports } = options;
  const pop3 = createPop3Server({
    store,
    log,
    settings,
    greeting: os.hostname(),
    tls: tls.material?.context ?? null,
    ...(options.loginHoldForTests === undefined ? {} : { loginHoldForTests: options.loginHoldForTests }),
    ...(options.limits === undefined ? {} : { limits: options.limits.pop3 }),
    onSessionChange: options.onSessionChange,
    onEvent: (e) =>
      options.onSessionEvent(
        e.type === 'sessionOpened'
          ? { type: 'sessionOpened', address: e.address, remote: e.remote }
          : { type: 'sessionClosed', address: e.address, remote: e.remote, reason: e.reason ?? 'ended' },
      ),
  });
  const smtp = createSmtpListener({
    store,
    log,
    settings,
    hostname: os.hostname(),
    tls: tls.material === null ? null : { key: tls.material.key, cert: tls.material.cert },
    ...(options.limits === undefined ? {} : { limits: options.limits.smtp }),
  });
  const statuses: ListenerStatus[] = [];

  /** Where a listener would be, for one that is not listening. */
  const wantedAt = (port: number): string => targets.map((t) => hostPort(t.host, port)).join(', ');

  /**
   * Binds one listener on every listen address; a failure is recorded with
   * its fix rather than thrown, so a console can still administer the store.
   */
  const bind = async (protocol: MailProtocol, label: string, wanted: number, portOption: string, listen: BindOne): Promise<number | null> => {
    try {
      const bound = await bindAll(label, targets, wanted, listen, log);
      const addresses = bound.map((b) => hostPort(b.host, b.port));
      statuses.push({ protocol, address: addresses.join(', '), addresses, listening: true });
      log.info(`${label} listening`, { address: addresses.join(',') });
      return (bound[0] as BoundAddress).port;
    } catch (err) {
      const failed = err instanceof AddressBindError ? err : new AddressBindError(targets[0]?.host ?? '?', wanted, err);
      const error = listenFailure(label, failed.host, failed.port, failed.error, portOption);
      statuses.push({ protocol, address: wantedAt(wanted), listening: false, error });
      log.error(error);
      return null;
    }
  };

  const pop3Port = await bind('pop3', 'POP3', ports.pop3, '--pop3-port N, or winpop set port N', (p, h, o) => pop3.listen(p, h, o));
  const smtpPort = await bind('smtp', 'SMTP', ports.smtp, '--smtp-port N', (p, h, o) => smtp.listen(p, h, o));
  // After SMTP, so that `pop3=… smtp=…` stay first in pop3svc's ready line.
  let pop3sPort: number | null = null;
  if (tls.material === null) {
    statuses.push({ protocol: 'pop3s', address: wantedAt(ports.pop3s), listening: false, error: tls.status.error ?? 'TLS is off.' });
  } else {
    pop3sPort = await bind('pop3s', 'POP3S', ports.pop3s, '--pop3s-port N, or winpop set pop3sport N', (p, h, o) => pop3.listenTls(p, h, o));
  }

  return {
    pop3,
    smtp,
    statuses,
    pop3Port,
    smtpPort,
    pop3sPort,
    async close() {
      await Promise.allSettled([pop3.close(), smtp.close()]);
    },
  };
}
