/**
 * The counters in the Prometheus text format, for `/metrics` on the admin
 * endpoint.
 *
 * prom-client writes the format (HELP and TYPE lines, escaping, label
 * syntax). The figures are the service's own counters, taken at each scrape
 * into a registry made for that scrape, so several processes' merged
 * counters are shown as one and nothing is counted twice.
 */

import { Counter, Gauge, Registry } from 'prom-client';
import type { CounterName, CountersReport } from '../../../shared/contract.js';

interface Plain {
  readonly counter: CounterName;
  readonly name: string;
  readonly help: string;
}

/** Counters without labels. */
const PLAIN: readonly Plain[] = [
  { counter: 'sessions', name: 'winpop_pop3_sessions_total', help: 'POP3 sessions served (connections greeted) since the service started.' },
  { counter: 'messagesRetrieved', name: 'winpop_pop3_messages_retrieved_total', help: 'Messages sent whole to POP3 clients (RETR).' },
  { counter: 'messagesDeleted', name: 'winpop_pop3_messages_deleted_total', help: 'Messages deleted by POP3 clients (DELE, applied at QUIT).' },
  { counter: 'octetsSent', name: 'winpop_pop3_sent_bytes_total', help: 'Bytes POP3 sessions wrote to their clients (before TLS; refusals of connections over the limits not included).' },
  { counter: 'smtpAccepted', name: 'winpop_smtp_messages_accepted_total', help: 'Messages SMTP accepted and stored.' },
  { counter: 'smtpRefused', name: 'winpop_smtp_messages_refused_total', help: 'SMTP refusals: a recipient refused at RCPT TO, or a message refused at DATA.' },
  { counter: 'connectionsRefused', name: 'winpop_connections_refused_total', help: 'POP3 and SMTP connections refused by the connection limits.' },
];

/** The label values of winpop_pop3_logins_total. */
const LOGINS: readonly { readonly counter: CounterName; readonly result: string }[] = [
  { counter: 'loginsAccepted', result: 'accepted' },
  { counter: 'loginsFailed', result: 'failed' },
  { counter: 'loginsLocked', result: 'locked' },
];

/** The Content-Type of the text format prom-client writes. */
export const PROMETHEUS_CONTENT_TYPE = new Registry().contentType;

/** The report as a Prometheus text exposition. */
export async function prometheusText(report: CountersReport): Promise<string> {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({ name: 'winpop_pop3_sessions_current', help: 'POP3 sessions open now.', registers }).set(report.sessionsCurrent);
  new Gauge({ name: 'winpop_start_time_seconds', help: 'Unix time the service started counting.', registers }).set(Date.parse(report.since) / 1000);
  const logins = new Counter({ name: 'winpop_pop3_logins_total', help: 'POP3 log-ins by result: accepted, failed (wrong name or password), locked (right password, mailbox locked).', labelNames: ['result'], registers });
  for (const { counter, result } of LOGINS) logins.inc({ result }, report.totals[counter]);
  for (const { counter, name, help } of PLAIN) new Counter({ name, help, registers }).inc(report.totals[counter]);
  return registry.metrics();
}
