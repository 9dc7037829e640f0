/**
 * listSessions and endSession on a running pop3svc, with real poplib
 * connections: plain before and after log-in, STLS, POP3S. endSession closes
 * the connection, discards its DELE as a lock does, writes its audit line and
 * is followed by the events a console lists sessions by; a second call finds
 * nothing to end.
 */

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { AdminEvent, SessionInfo } from '../../shared/contract.js';
import type { ControlClient } from '../../electron/service/admin/control-client.js';
import { readAudit } from '../../electron/service/store/audit-log.js';
import { holdPopSession, type HeldMode, type HeldPopSession } from '../helpers/poplib-held.js';
import { rejection } from '../helpers/rejection.js';
import { eventually, startService, type TestService } from '../hostile/support.js';

const ENDED = '-ERR The administrator ended this session; nothing was deleted. Connect again to continue.';
const ALICE = 'alice@sessions.test';
const BOB = 'bob@other.test';

describe('listSessions and endSession with real poplib sessions', () => {
  let service: TestService;
  let control: ControlClient;
  let pop3: number;
  let pop3s: number;
  const events: AdminEvent[] = [];
  const held: HeldPopSession[] = [];

  const connect = async (mode: HeldMode): Promise<{ client: HeldPopSession; row: () => Promise<SessionInfo | undefined>; localPort: number }> => {
    const client = holdPopSession(mode === 'pop3s' ? pop3s : pop3, mode);
    held.push(client);
    const localPort = await client.ready;
    const row = async (): Promise<SessionInfo | undefined> => (await control.listSessions({})).find((s) => s.client === `127.0.0.1:${localPort}`);
    await eventually(async () => (await row()) !== undefined, `the session of client port ${localPort} listed`);
    return { client, row, localPort };
  };

  before(async () => {
    service = await startService({
      mailboxes: [
        { address: ALICE, password: 'pw-alice' },
        { address: BOB, password: 'pw-bob' },
      ],
      messages: () => ['Subject: one\n\nbody\n', 'Subject: two\n\nbody\n'],
    });
    pop3 = service.svc.pop3Port;
    const tls = /pop3s=127\.0\.0\.1:(\d+)/.exec(service.svc.output());
    assert.ok(tls, `pop3svc listens for POP3S:\n${service.svc.output()}`);
    pop3s = Number(tls[1]);
    control = await service.control();
    control.onEvent((e) => events.push(e));
  });
  afterEach(async () => {
    await Promise.all(held.splice(0).map((c) => c.close()));
  });
  after(async () => {
    control?.close();
    await service?.cleanup();
  });

  it('lists a plain session before log-in, then with its mailbox once logged in; a domain filter shows only its own', async () => {
    const started = Date.now();
    const { client, row, localPort } = await connect('plain');
    const before = (await row()) as SessionInfo;
    assert.match(before.id, new RegExp(`^${service.pid}-\\d+$`), 'the id names the serving process');
    assert.deepEqual(
      { address: before.address, client: before.client, encrypted: before.encrypted, state: before.state, listener: before.listener },
      { address: null, client: `127.0.0.1:${localPort}`, encrypted: false, state: 'authorization', listener: 'pop3' },
    );
    const since = Date.parse(before.since);
    assert.ok(since >= started - 1000 && since <= Date.now(), `since ${before.since} is the connection's time`);
    assert.deepEqual(await control.listSessions({ domain: 'sessions.test' }), [], 'not logged in: no domain yet');

    assert.match(await client.send(`login ${ALICE} pw-alice`), /^\+OK/);
    const afterLogin = (await row()) as SessionInfo;
    assert.deepEqual(
      { id: afterLogin.id, address: afterLogin.address, state: afterLogin.state, since: afterLogin.since },
      { id: before.id, address: ALICE, state: 'transaction', since: before.since },
      'same id and time; now with its mailbox',
    );
    assert.deepEqual((await control.listSessions({ domain: 'Sessions.TEST' })).map((s) => s.id), [before.id]);
    assert.deepEqual(await control.listSessions({ domain: 'other.test' }), []);
    const changed = events.filter((e): e is Extract<AdminEvent, { type: 'sessionChanged' }> => e.type === 'sessionChanged' && e.id === before.id);
    await eventually(() => events.some((e) => e.type === 'sessionChanged' && e.id === before.id && e.session?.state === 'transaction'), 'the sessionChanged event of the log-in');
    assert.ok(changed.length > 0 && changed[0]?.session?.state === 'authorization', 'a sessionChanged event when it was greeted');

    assert.match(await client.send('quit'), /^\+OK/);
    await eventually(async () => (await row()) === undefined, 'the session gone from the list after QUIT');
    await eventually(() => events.some((e) => e.type === 'sessionChanged' && e.id === before.id && e.session === null), 'the sessionChanged event of its end');
  });

  it('shows STLS and POP3S sessions as encrypted, before and after log-in', async () => {
    const stls = await connect('stls');
    assert.deepEqual(
      (({ encrypted, listener, state }) => ({ encrypted, listener, state }))((await stls.row()) as SessionInfo),
      { encrypted: true, listener: 'pop3', state: 'authorization' },
    );
    const implicit = await connect('pop3s');
    assert.deepEqual(
      (({ encrypted, listener, address }) => ({ encrypted, listener, address }))((await implicit.row()) as SessionInfo),
      { encrypted: true, listener: 'pop3s', address: null },
    );
    assert.match(await implicit.client.send(`login ${BOB} pw-bob`), /^\+OK/);
    const bob = (await control.listSessions({ domain: 'other.test' }))[0];
    assert.deepEqual(bob && [bob.address, bob.encrypted, bob.listener, bob.state], [BOB, true, 'pop3s', 'transaction']);
  });

  it('endSession closes a logged-in session, discards its DELE, audits it and announces it; a second call says NOT_FOUND', async () => {
    const { client, row } = await connect('plain');
    assert.match(await client.send(`login ${ALICE} pw-alice`), /^\+OK/);
    assert.match(await client.send('dele 1'), /^\+OK/);
    const open = (await row()) as SessionInfo;
    assert.equal(open.state, 'transaction');

    const ended = await control.endSession({ id: open.id });
    assert.deepEqual(ended, open, 'the reply is the session as it was');
    await eventually(() => client.closedAt !== null, 'poplib sees its connection closed');
    assert.equal(client.unasked, `${ENDED}\r\n`, 'the last words before the close');
    assert.equal(await row(), undefined, 'no longer listed');
    await eventually(() => events.some((e) => e.type === 'sessionClosed' && e.address === ALICE && e.reason === 'ended by the administrator'), 'the sessionClosed event');
    assert.ok(events.some((e) => e.type === 'sessionChanged' && e.id === open.id && e.session === null), 'the sessionChanged event of its end');

    const alice = (await control.listMailboxes({ domain: 'sessions.test' })).find((m) => m.address === ALICE);
    assert.equal(alice?.messages, 2, 'the DELE was not applied');

    const audit = (await readAudit(service.mailroot)).filter((a) => a.op === 'endSession');
    assert.deepEqual(
      audit.map((a) => [a.actor, a.target, a.result, a.detail]),
      [['hostile-test', `session ${open.id}`, 'ok', `${ALICE} from ${open.client}`]],
    );

    const again = await rejection(control.endSession({ id: open.id }));
    assert.equal(again.code, 'NOT_FOUND');
    assert.match(again.message, new RegExp(`No open POP3 session has the id ${open.id}`));
    const failedLine = (await readAudit(service.mailroot)).filter((a) => a.op === 'endSession').at(-1);
    assert.deepEqual([failedLine?.result, failedLine?.target], ['error', `session ${open.id}`], 'the refused call is audited too');
  });

  it('endSession ends a session that has not logged in yet', async () => {
    const { client, row } = await connect('plain');
    const open = (await row()) as SessionInfo;
    await control.endSession({ id: open.id });
    await eventually(() => client.closedAt !== null, 'poplib sees its connection closed');
    assert.equal(client.unasked, `${ENDED}\r\n`);
    assert.equal(await row(), undefined);
  });

  it('refuses an id of the wrong form with the form to use', async () => {
    const bad = await rejection(control.endSession({ id: 'alice' }));
    assert.equal(bad.code, 'INVALID_ARGUMENT');
    assert.match(bad.message, /not a session id .*listSessions shows them/);
    const extra = await rejection(control.listSessions({ domain: 'sessions.test', user: 'x' } as never));
    assert.equal(extra.code, 'INVALID_ARGUMENT');
  });
});
