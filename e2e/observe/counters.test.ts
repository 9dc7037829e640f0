/**
 * The counters move as real clients use the service: Python's poplib logs
 * in (right password, wrong password, locked mailbox), retrieves and
 * deletes, smtplib delivers and is refused, a connection over the
 * per-address limit is refused. The same figures come back from the
 * `counters` operation, its event, `winpop stat` (text and JSON) and
 * `/metrics` over HTTPS, which refuses a request without credentials.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { COUNTER_NAMES, type AdminEvent, type CounterName, type CountersReport } from '../../shared/contract.js';
import { python, smtpSend } from '../helpers/python.js';
import { openPopSession } from '../helpers/python.js';
import { winpop } from '../helpers/processes.js';
import { request, signIn, startEndpointHost, type EndpointHost } from '../remote/support.js';

const ALICE = { address: 'alice@counters.test', password: 'alice-pass-1' };
const BOB = { address: 'bob@counters.test', password: 'bob-pass-1' };
const SCRAPER = { name: 'scraper', password: 'Scrape-pass-123' };

/**
 * One poplib session that counts every byte it receives: log-in, then the
 * given steps, then QUIT, and what is left on the socket read to its end.
 */
const COUNTING_SESSION = `
import poplib
class Counting:
    def __init__(self, f):
        self.f = f
        self.n = 0
    def readline(self, *a):
        line = self.f.readline(*a)
        self.n += len(line)
        return line
    def read(self, *a):
        data = self.f.read(*a)
        self.n += len(data)
        return data
    def close(self):
        self.f.close()
p = poplib.POP3('127.0.0.1', ARGS['port'], timeout=20)
p.file = Counting(p.file)
# The greeting was read before the wrapper: its line and its CRLF.
p.file.n = len(p.welcome) + 2
out = {'steps': []}
try:
    p.user(ARGS['user'])
    p.pass_(ARGS['password'])
    for step in ARGS['steps']:
        if step[0] == 'retr':
            resp, lines, octets = p.retr(step[1])
            out['steps'].append(resp.decode('latin-1'))
        elif step[0] == 'dele':
            out['steps'].append(p.dele(step[1]).decode('latin-1'))
except poplib.error_proto as e:
    out['error'] = e.args[0].decode('latin-1')
p._putcmd('QUIT')
try:
    out['quit'] = p._getresp().decode('latin-1')
except poplib.error_proto as e:
    out['quit'] = e.args[0].decode('latin-1')
p.file.read()
out['received'] = p.file.n
p.file.close()
p.sock.close()
print(json.dumps(out))
`;

interface CountingOutcome {
  readonly steps: string[];
  readonly error?: string;
  readonly quit: string;
  readonly received: number;
}

async function popSession(port: number, user: string, password: string, steps: readonly (readonly [string, number])[] = []): Promise<CountingOutcome> {
  const [out] = await python<CountingOutcome>(COUNTING_SESSION, { port, user, password, steps });
  assert.ok(out, 'the poplib script printed nothing');
  return out;
}

/** What changed between two reports, counter by counter. */
function delta(before: CountersReport, now: CountersReport): Record<CounterName, number> {
  const d = {} as Record<CounterName, number>;
  for (const name of COUNTER_NAMES) d[name] = now.totals[name] - before.totals[name];
  return d;
}

async function eventually<T>(read: () => Promise<T>, holds: (value: T) => boolean, what: string, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (holds(value)) return value;
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The samples of a Prometheus text exposition, by `name{labels}`; the HELP and TYPE lines by name. */
function parsePrometheus(text: string): { samples: Map<string, number>; help: Map<string, string>; type: Map<string, string> } {
  const samples = new Map<string, number>();
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? help : type).set(meta[2] as string, meta[3] as string);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(sample, `not a sample line of the text format: ${JSON.stringify(line)}`);
    samples.set(sample[1] as string, Number(sample[2]));
  }
  return { samples, help, type };
}

const basic = (name: string, password: string): string => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;

describe('counters', () => {
  let t: EndpointHost;
  let pop3Port: number;
  let smtpPort: number;
  const counters = (): Promise<CountersReport> => t.host.admin.counters({});

  before(async () => {
    t = await startEndpointHost({ mailboxes: [ALICE, BOB], admins: [SCRAPER] });
    pop3Port = t.host.pop3Port ?? 0;
    smtpPort = t.host.smtpPort ?? 0;
    assert.ok(pop3Port > 0 && smtpPort > 0, 'POP3 and SMTP listen');
  });

  after(async () => {
    await t.stop();
  });

  it('a log-in, RETR, DELE and QUIT: one session, one accepted log-in, one message retrieved and deleted, the octets the client received', async () => {
    const before = await counters();
    const out = await popSession(pop3Port, ALICE.address, ALICE.password, [['retr', 1], ['dele', 1]]);
    assert.equal(out.error, undefined, out.error);
    assert.match(out.quit, /^\+OK .*1 message deleted/);
    const now = await eventually(counters, (c) => c.sessionsCurrent === 0 && c.totals.messagesDeleted > before.totals.messagesDeleted, 'the session to end');
    const d = delta(before, now);
    assert.deepEqual(
      { sessions: d.sessions, loginsAccepted: d.loginsAccepted, loginsFailed: d.loginsFailed, messagesRetrieved: d.messagesRetrieved, messagesDeleted: d.messagesDeleted },
      { sessions: 1, loginsAccepted: 1, loginsFailed: 0, messagesRetrieved: 1, messagesDeleted: 1 },
    );
    assert.ok(out.received > 0);
    assert.equal(d.octetsSent, out.received, 'octets sent = the bytes poplib received, greeting to the last byte after QUIT');
  });

  it('a wrong password counts as a failed log-in, a locked mailbox as refused, not as accepted', async () => {
    const before = await counters();
    const wrong = await popSession(pop3Port, ALICE.address, 'not-her-password');
    assert.match(wrong.error ?? '', /^-ERR \[AUTH\] Invalid/);
    await t.host.admin.lock({ target: BOB.address, reason: 'counters test' });
    const locked = await popSession(pop3Port, BOB.address, BOB.password);
    assert.match(locked.error ?? '', /^-ERR \[AUTH\] .*disabled by the administrator/);
    await t.host.admin.unlock({ target: BOB.address });
    const now = await eventually(counters, (c) => c.sessionsCurrent === 0 && c.totals.sessions >= before.totals.sessions + 2, 'both sessions to end');
    const d = delta(before, now);
    assert.deepEqual({ sessions: d.sessions, loginsAccepted: d.loginsAccepted, loginsFailed: d.loginsFailed, loginsLocked: d.loginsLocked }, { sessions: 2, loginsAccepted: 0, loginsFailed: 1, loginsLocked: 1 });
  });

  it('SMTP: a delivered message is accepted, an unknown recipient refused', async () => {
    const before = await counters();
    assert.deepEqual(await smtpSend(smtpPort, 'sender@example.org', [ALICE.address], 'Subject: counted\r\n\r\nhello\r\n'), {});
    const refused = await smtpSend(smtpPort, 'sender@example.org', ['nobody@counters.test'], 'Subject: lost\r\n\r\nhello\r\n');
    assert.deepEqual(Object.keys(refused), ['nobody@counters.test']);
    const d = delta(before, await counters());
    assert.deepEqual({ smtpAccepted: d.smtpAccepted, smtpRefused: d.smtpRefused }, { smtpAccepted: 1, smtpRefused: 1 });
  });

  it('a connection over the per-address limit is counted as refused', async () => {
    await t.host.admin.setSettings({ patch: { connectionsPerAddress: 1 } });
    const held = openPopSession(pop3Port, BOB.address, BOB.password);
    try {
      assert.match(await held.loggedIn, /^\+OK/);
      const before = await counters();
      assert.equal(before.sessionsCurrent, 1, 'the held session is open');
      const [answer] = await python<string>(
        `
import socket
s = socket.create_connection(('127.0.0.1', ARGS['port']), timeout=20)
print(json.dumps(s.makefile('rb').readline().decode('latin-1')))
`,
        { port: pop3Port },
      );
      assert.match(answer ?? '', /^-ERR /);
      const d = delta(before, await counters());
      assert.deepEqual({ connectionsRefused: d.connectionsRefused, sessions: d.sessions }, { connectionsRefused: 1, sessions: 0 });
      assert.match(await held.send('quit'), /^\+OK/);
    } finally {
      held.close();
      await t.host.admin.setSettings({ patch: { connectionsPerAddress: 10 } });
    }
  });

  it('the report: per minute, the last hour per minute adding up to the totals, and events while things change', async () => {
    const events: AdminEvent[] = [];
    const control = await t.control();
    const stop = control.onEvent((e) => events.push(e));
    try {
      await control.listDomains({});
      const before = await counters();
      const out = await popSession(pop3Port, ALICE.address, ALICE.password);
      assert.equal(out.error, undefined);
      const event = await eventually(
        async () => events.find((e): e is Extract<AdminEvent, { type: 'counters' }> => e.type === 'counters' && e.counters.totals.loginsAccepted > before.totals.loginsAccepted),
        (e) => e !== undefined,
        'a counters event with the new log-in',
      );
      assert.ok(event);
      assert.equal(event.counters.totals.loginsAccepted, before.totals.loginsAccepted + 1);
      // The last minute holds every log-in of this test run (it takes well under a minute to get here only on a quick machine, so: at least this one).
      const now = await eventually(counters, (c) => c.perMinute.loginsAccepted >= 1, 'the log-in in the last minute');
      for (const name of COUNTER_NAMES) {
        const hour = now.minutes.counts[name].reduce((a, b) => a + b, 0);
        assert.equal(hour, now.totals[name], `${name}: the last hour per minute adds up to the total (this service is younger than an hour)`);
      }
      assert.equal(now.minutes.counts.sessions.length, 60);
      assert.ok(Date.parse(now.minutes.start) <= Date.parse(now.at) && Date.parse(now.at) - Date.parse(now.minutes.start) < 3_600_000);
    } finally {
      stop();
      control.close();
    }
  });

  it('winpop stat shows the counters after its totals, in text and in JSON', async () => {
    const wrong = await popSession(pop3Port, BOB.address, 'not-his-password');
    assert.match(wrong.error ?? '', /^-ERR \[AUTH\] Invalid/);
    const report = await eventually(counters, (c) => c.sessionsCurrent === 0 && c.totals.loginsFailed > 0, 'the failed log-in counted, no open session');
    const common = ['--mailroot', t.mailroot, '--config', t.configPath];
    const json = await winpop([...common, '--json', 'stat']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { totals: { mailboxes: number }; counters: CountersReport };
    assert.equal(parsed.totals.mailboxes, 2, 'the store totals are where they were');
    assert.deepEqual(parsed.counters.totals, report.totals);
    const text = await winpop([...common, 'stat']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Total: 2 mailboxes, /m, 'the totals line is unchanged');
    assert.match(text.stdout, /^Service counters since \S+; 0 POP3 sessions open now$/m);
    assert.match(text.stdout, /^COUNTER\s+TOTAL\s+LAST MINUTE\s+LAST SECOND$/m);
    assert.match(text.stdout, new RegExp(`^Log-ins failed\\s+${report.totals.loginsFailed}\\s+\\d+\\s+\\d+$`, 'm'));
    assert.match(text.stdout, new RegExp(`^Octets sent\\s+${report.totals.octetsSent}\\s+\\d+\\s+\\d+$`, 'm'));
  });

  it('/metrics over HTTPS: refused without credentials or with wrong ones, the counters in the text format with Basic credentials or a session', async () => {
    const none = await request(t, { path: '/metrics' });
    assert.equal(none.status, 401, none.body);
    assert.match(String(none.headers['www-authenticate']), /^Basic /);
    assert.doesNotMatch(none.body, /winpop_/);
    const wrong = await request(t, { path: '/metrics', headers: { Authorization: basic(SCRAPER.name, 'wrong-password') } });
    assert.equal(wrong.status, 401, wrong.body);
    assert.doesNotMatch(wrong.body, /winpop_/);
    assert.match(t.logs.text(), /\/metrics refused/);

    const report = await eventually(counters, (c) => c.sessionsCurrent === 0, 'no open session');
    const scraped = await request(t, { path: '/metrics', headers: { Authorization: basic(SCRAPER.name, SCRAPER.password) } });
    assert.equal(scraped.status, 200, scraped.body);
    assert.match(String(scraped.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const { samples, help, type } = parsePrometheus(scraped.body);
    const expected: Record<string, number> = {
      winpop_pop3_sessions_total: report.totals.sessions,
      'winpop_pop3_logins_total{result="accepted"}': report.totals.loginsAccepted,
      'winpop_pop3_logins_total{result="failed"}': report.totals.loginsFailed,
      'winpop_pop3_logins_total{result="locked"}': report.totals.loginsLocked,
      winpop_pop3_messages_retrieved_total: report.totals.messagesRetrieved,
      winpop_pop3_messages_deleted_total: report.totals.messagesDeleted,
      winpop_pop3_sent_bytes_total: report.totals.octetsSent,
      winpop_smtp_messages_accepted_total: report.totals.smtpAccepted,
      winpop_smtp_messages_refused_total: report.totals.smtpRefused,
      winpop_connections_refused_total: report.totals.connectionsRefused,
      winpop_pop3_sessions_current: 0,
    };
    for (const [sample, value] of Object.entries(expected)) assert.equal(samples.get(sample), value, sample);
    assert.ok((samples.get('winpop_pop3_logins_total{result="accepted"}') ?? 0) >= 2, 'the log-ins of this file were counted');
    for (const name of ['winpop_pop3_sessions_total', 'winpop_pop3_logins_total', 'winpop_pop3_sent_bytes_total', 'winpop_connections_refused_total']) {
      assert.equal(type.get(name), 'counter', `${name} TYPE`);
      assert.ok((help.get(name) ?? '').length > 10, `${name} HELP`);
    }
    assert.equal(type.get('winpop_pop3_sessions_current'), 'gauge');

    const cookie = await signIn(t, SCRAPER.name, SCRAPER.password);
    const browser = await request(t, { path: '/metrics', headers: { Cookie: cookie } });
    assert.equal(browser.status, 200, browser.body);
    assert.equal(parsePrometheus(browser.body).samples.get('winpop_pop3_sessions_total'), report.totals.sessions);
  });
});
