import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nkeys } from '@nats-io/transport-node';
import { BusError, NatsTransport, type NatsTransportOptions } from '@openagentio/nestjs';
import { NatsServer } from '../support/nats-server.js';
import { isAuthFailure, NatsClients, nextStatus, quietLogger, RecordingLogger, within } from './helpers.js';

const USERS = `authorization {
  users = [
    { user: alice, password: "alice-pw" }
    { user: bob, password: "bob-pw", permissions: {
        publish: { allow: [">"], deny: ["acp.v1.invoke.secret"] }
        subscribe: { allow: [">"], deny: ["acp.v1.events.hidden.>"] }
    } }
    { user: carol, password: "carol-pw", permissions: {
        publish: { allow: [">"] }
        subscribe: { allow: ["acp.>", "_INBOX_carol.>"] }
    } }
  ]
}`;

const NKEY_USER = nkeys.createUser();
const NKEY_SEED = new TextDecoder().decode(NKEY_USER.getSeed());
const OTHER_SEED = new TextDecoder().decode(nkeys.createUser().getSeed());

describe('NATS authentication and permissions', () => {
  let users: NatsServer;
  let tokens: NatsServer;
  let nkeyServer: NatsServer;
  const clients = new NatsClients({ timeout: 2000 });
  const client = (agentId: string, opts: NatsTransportOptions, logger = quietLogger) => clients.bus(agentId, opts, logger);

  before(async () => {
    [users, tokens, nkeyServer] = await Promise.all([
      NatsServer.start({ extraConfig: USERS }),
      NatsServer.start({ extraConfig: 'authorization { token: "s3cret-token" }' }),
      NatsServer.start({ extraConfig: `authorization { users = [ { nkey: ${NKEY_USER.getPublicKey()} } ] }` }),
    ]);
  });
  after(async () => {
    await clients.closeAll();
    await Promise.all([users?.stop(), tokens?.stop(), nkeyServer?.stop()]);
  });

  it('right user/password connects and works; a wrong password or none fails at connect with AUTH_FAILURE', async () => {
    const alice = client('alice', { servers: users.url, user: 'alice', pass: 'alice-pw' });
    await alice.connect();
    alice.handleInvoke('hello', () => 'hi');
    await alice.transport.flush();
    assert.equal(await alice.invoke('hello'), 'hi');
    await assert.rejects(
      new NatsTransport({ servers: users.url, user: 'alice', pass: 'wrong', logger: quietLogger }).connect(),
      isAuthFailure(/rejected the credentials/),
    );
    await assert.rejects(
      new NatsTransport({ servers: users.url, logger: quietLogger }).connect(),
      isAuthFailure(new RegExp(`127\\.0\\.0\\.1:${users.port}`)),
    );
  });

  it('right token connects; a wrong token fails with AUTH_FAILURE', async () => {
    const t = client('tok', { servers: tokens.url, token: 's3cret-token' });
    await t.connect();
    assert.equal(t.transport.status, 'connected');
    await assert.rejects(
      new NatsTransport({ servers: tokens.url, token: 'nope', logger: quietLogger }).connect(),
      isAuthFailure(/Authorization Violation/),
    );
  });

  it('an nkey seed authenticates; a different seed fails with AUTH_FAILURE', async () => {
    const k = client('nk', { servers: nkeyServer.url, nkeySeed: NKEY_SEED });
    await k.connect();
    k.handleInvoke('nk.ping', () => 'pong');
    await k.transport.flush();
    assert.equal(await k.invoke('nk.ping'), 'pong');
    await assert.rejects(
      new NatsTransport({ servers: nkeyServer.url, nkeySeed: OTHER_SEED, logger: quietLogger }).connect(),
      isAuthFailure(/Authorization Violation/),
    );
  });

  it('a publish the user may not make fails the invoke at once with AUTH_FAILURE naming the subject', async () => {
    const logger = new RecordingLogger();
    const alice = client('alice2', { servers: users.url, user: 'alice', pass: 'alice-pw' });
    const bob = client('bob', { servers: users.url, user: 'bob', pass: 'bob-pw' }, logger);
    await alice.connect();
    await bob.connect();
    alice.handleInvoke('secret', () => 'classified');
    alice.handleInvoke('public', () => 'open');
    await alice.transport.flush();
    const detail = nextStatus(bob.transport, 'connected', (d) => !!d && d.includes('permission denied'));
    const t0 = Date.now();
    await assert.rejects(bob.invoke('secret', {}, { timeout: 10_000 }), isAuthFailure(/may not publish to "acp\.v1\.invoke\.secret"/));
    assert.ok(Date.now() - t0 < 2000, 'failed at once, not at the deadline');
    assert.match((await within(detail, 1000, 'status detail')) ?? '', /acp\.v1\.invoke\.secret/);
    assert.ok(logger.lines.some((l) => l.includes('permission denied')));
    // the connection survives: what bob may do still works
    assert.equal(await bob.invoke('public'), 'open');
  });

  it('a subscription the user may not make is logged and reported, and the connection stays usable', async () => {
    const logger = new RecordingLogger();
    const bob = client('bob2', { servers: users.url, user: 'bob', pass: 'bob-pw' }, logger);
    await bob.connect();
    const detail = nextStatus(bob.transport, 'connected', (d) => !!d && d.includes('hidden'));
    bob.subscribe('hidden.>', () => assert.fail('must not receive'));
    assert.match((await within(detail, 2000, 'status detail')) ?? '', /may not subscribe to "acp\.v1\.events\.hidden\.>"/);
    await logger.waitFor(/permission denied.*hidden/);
    bob.handleInvoke('bob.ok', () => 'yes');
    await bob.transport.flush();
    assert.equal(await bob.invoke('bob.ok'), 'yes');
  });

  it("a user that may not subscribe to the reply inbox fails at connect with AUTH_FAILURE that says what to allow, not at each call's deadline", async () => {
    const carol = client('carol', { servers: users.url, user: 'carol', pass: 'carol-pw' });
    const t0 = Date.now();
    await assert.rejects(
      carol.connect(),
      isAuthFailure(/may not subscribe to "_INBOX\.\w+\.>".*reply inbox.*allow the user to subscribe to "_INBOX\.>".*inboxPrefix/),
    );
    assert.ok(Date.now() - t0 < 2000, 'refused at connect, at once');
    assert.equal(carol.isConnected, false);
  });

  it('with an inboxPrefix the user may subscribe to, calls, streams and chunked messages work', async () => {
    const opts: NatsTransportOptions = {
      servers: users.url,
      user: 'carol',
      pass: 'carol-pw',
      inboxPrefix: '_INBOX_carol',
      maxPayload: 1024,
    };
    const server = client('carol-server', opts);
    const caller = client('carol-caller', opts);
    await server.connect();
    await caller.connect();
    server.handleInvoke('carol.echo', (p: unknown) => p);
    server.handleStream('carol.count', async (p: { n: number }, ctx) => {
      for (let i = 0; i < p.n; i++) await ctx.writer.delta(String(i));
      return 'done';
    });
    await server.transport.flush();
    assert.equal(await caller.invoke('carol.echo', 'hi'), 'hi');
    assert.equal(await caller.stream('carol.count', { n: 4 }).text(), '0123');
    // Above maxPayload, so it travels in chunks through the chunk machinery's own inbox, also under the prefix.
    const big = { text: 'x'.repeat(5000) };
    assert.deepEqual(await caller.invoke('carol.echo', big), big);
  });

  it('an inboxPrefix that is not a subject prefix is refused with INVALID_REQUEST when the transport is made', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /inboxPrefix must be a non-empty string/],
      ['_INBOX.>', /inboxPrefix "_INBOX\.>" contains a wildcard/],
      ['*', /inboxPrefix "\*" contains a wildcard/],
      ['a b', /inboxPrefix "a b" contains white space/],
      ['a..b', /inboxPrefix "a\.\.b" has an empty token/],
    ];
    for (const [bad, re] of cases) {
      assert.throws(
        () => new NatsTransport({ inboxPrefix: bad }),
        (e: unknown) => e instanceof BusError && e.code === 'INVALID_REQUEST' && re.test(e.message),
        bad,
      );
    }
  });
});
