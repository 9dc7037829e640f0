/**
 * A worker process: serves POP3, POP3S and SMTP on the store for its primary
 * (worker-pool.ts starts it with node:cluster, which shares the listening
 * sockets and hands each worker connections in turn).
 *
 * It holds no control channel and no admin endpoint: the primary does. It
 * reports its session events and store changes, answers the primary's
 * requests (worker-operations.ts), and stops when told or on SIGTERM. When
 * its primary is gone (killed), node:cluster ends it as the IPC channel
 * closes. SIGINT is left to the primary: Ctrl+C reaches every process of the
 * terminal's group, and the primary stops its workers in order.
 */

import os from 'node:os';
import type { Settings } from '../../../shared/contract.js';
import { createAuthorities, type Authorities } from '../auth/authorities.js';
import { openDirectorySecret } from '../auth/directory-secret.js';
import { bindTargets } from '../listen-addresses.js';
import { createLogger, silentLogger, type LogFields, type Logger } from '../log.js';
import { startMailListeners, type MailListeners } from '../mail-listeners.js';
import { processCounters } from '../observe/counters.js';
import { openMailStore, type MailStore } from '../store/index.js';
import { stopPasswordWorkers } from '../store/passwords.js';
import { adoptVerified, joinVerifiedSharing } from '../store/verified-cache.js';
import { setUpTls } from '../tls/setup.js';
import { PrimaryChannel, remoteLimits } from './remote-limits.js';
import type { WorkerOperationName, WorkerOperations } from './worker-operations.js';
import { isToWorker, WORKER_INIT_ENV, type FromWorker, type WorkerInit } from './worker-protocol.js';

/** How often the connection count is looked at, to tell the primary when it changed. */
const COUNT_EVERY_MS = 250;
/** How often the counters are looked at: the `counters` event's own pace. */
const COUNTERS_EVERY_MS = 1000;

function send(message: FromWorker): boolean {
  // The channel is gone when the primary is: the 'disconnect' handler stops this process.
  if (!process.connected || !process.send) return false;
  process.send(message);
  return true;
}

/** The log with this worker's pid on each line, so the primary's output tells its processes apart. */
function workerLog(settings: () => Settings): Logger {
  const base = createLogger(() => settings().logging);
  const tag = (fields?: LogFields): LogFields => ({ worker: process.pid, ...fields });
  return {
    error: (m, f) => base.error(m, tag(f)),
    warn: (m, f) => base.warn(m, tag(f)),
    info: (m, f) => base.info(m, tag(f)),
    debug: (m, f) => base.debug(m, tag(f)),
  };
}

type Answers = { [K in WorkerOperationName]: (args: WorkerOperations[K]['args']) => WorkerOperations[K]['result'] | Promise<WorkerOperations[K]['result']> };

async function main(): Promise<void> {
  const raw = process.env[WORKER_INIT_ENV];
  if (raw === undefined || !process.send) {
    process.stderr.write('worker-main: this is a worker process of pop3svc; start pop3svc instead.\n');
    process.exit(2);
  }
  const init = JSON.parse(raw) as WorkerInit;
  let settings = init.settings;
  /** The primary has event subscribers: session events are wanted (worker-protocol.ts `watch`). */
  let watched = init.watched;
  const log = workerLog(() => settings);
  let mail: MailListeners | undefined;
  let store: MailStore | undefined;
  let authorities: Authorities | undefined;
  let stopping: Promise<void> | undefined;

  const stop = (why: string): Promise<void> => {
    stopping ??= (async () => {
      log.info('worker process stopping', { why });
      await mail?.close();
      await authorities?.close();
      await store?.close().catch((err: unknown) => log.warn('store close failed', { error: err instanceof Error ? err.message : String(err) }));
      await stopPasswordWorkers();
      process.exit(0);
    })();
    return stopping;
  };
  process.on('SIGINT', () => {});
  process.once('SIGTERM', () => void stop('SIGTERM'));

  const answers: Answers = {
    closeSessions: ({ target, reason }) => mail?.pop3.closeSessions(target, reason) ?? 0,
    sessionCount: () => mail?.pop3.sessionCount() ?? 0,
    listSessions: ({ domain }) => mail?.pop3.listSessions(domain) ?? [],
    endSession: ({ id, reason }) => mail?.pop3.endSession(id, reason) ?? null,
  };

  // The service's limits are the primary's: a client counts the same on every worker.
  const primary = new PrimaryChannel(send);
  const limits = remoteLimits(primary);

  process.on('message', (message: unknown) => {
    if (!isToWorker(message)) return;
    if (message.t === 'answer') primary.answered(message.id, message.ok ? { ok: true, value: message.value } : { ok: false, error: message.error });
    else if (message.t === 'settings') settings = message.settings;
    else if (message.t === 'watch') watched = message.sessions;
    else if (message.t === 'verifiedKey') joinVerifiedSharing(Buffer.from(message.key, 'base64'), (entry) => send({ t: 'verified', entry }));
    else if (message.t === 'verified') adoptVerified(message.entry);
    else if (message.t === 'stop') void stop('asked by the primary');
    else if (message.t === 'request') {
      const answer = (answers as Record<string, ((args: unknown) => unknown) | undefined>)[message.op];
      if (answer === undefined) {
        send({ t: 'reply', id: message.id, ok: false, error: `worker process ${process.pid} has no operation ${message.op}` });
        return;
      }
      Promise.resolve()
        .then(() => answer(message.args))
        .then(
          (value) => send({ t: 'reply', id: message.id, ok: true, value }),
          (err: unknown) => send({ t: 'reply', id: message.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
        );
    }
  });

  send({ t: 'answering' });
  store = await openMailStore(settings.mailroot, {
    log,
    // Store-wide recovery is the primary's (its background sweep); each mailbox is still recovered here before its first use.
    recovery: 'lazy',
    // Following domains for a console is the primary's too.
    watchFolders: false,
    ...(init.fsync === undefined ? {} : { fsync: init.fsync }),
  });
  store.onChange((change) => send({ t: 'event', event: change }));
  // The same authority as the primary's for the method the settings name; the directory's password is read from its file.
  const checker = createAuthorities({ settings: () => settings, passwordFile: store.passwordFile, directorySecret: openDirectorySecret(settings.mailroot), log });
  authorities = checker;
  store.useAuthority(() => checker.current());
  // The primary made or loaded the certificate before it started the workers, and logged what it found: this reads the same files.
  const tls = await setUpTls({ certFile: settings.tlsCertFile, keyFile: settings.tlsKeyFile, mailroot: settings.mailroot, hostName: os.hostname(), log: silentLogger });

  let counted = 0;
  const count = (): void => {
    const now = mail?.pop3.sessionCount() ?? 0;
    if (now === counted) return;
    counted = now;
    send({ t: 'sessions', count: now });
  };
  mail = await startMailListeners({
    store,
    log,
    settings: () => settings,
    tls,
    targets: bindTargets(settings.listen),
    ports: init.ports,
    limits,
    onSessionEvent: (event) => {
      if (watched) send({ t: 'event', event });
    },
    onSessionChange: (id, session) => {
      if (watched) send({ t: 'event', event: { type: 'sessionChanged', id, session } });
    },
  });
  setInterval(count, COUNT_EVERY_MS).unref();
  // Sent when they changed: a snapshot's buckets keep their wall-clock times, so the last one stands for this process until then.
  let countersSeen = '';
  setInterval(() => {
    const snapshot = processCounters.snapshot();
    const seen = JSON.stringify([snapshot.totals, snapshot.sessionsCurrent]);
    if (seen === countersSeen) return;
    countersSeen = seen;
    send({ t: 'counters', snapshot });
  }, COUNTERS_EVERY_MS).unref();
  send({ t: 'ready', listeners: mail.statuses, ports: { pop3: mail.pop3Port, smtp: mail.smtpPort, pop3s: mail.pop3sPort } });
}

main().catch((err: unknown) => {
  process.stderr.write(`pop3svc worker ${process.pid}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
