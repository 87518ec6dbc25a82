import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { BusClient, BusError, NatsTransport, type TransportMessage, type TransportStatus } from '@openagentio/nestjs';
import { createEvent } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { freePort, NatsServer } from '../support/nats-server.js';

const quiet = { log() {}, warn() {}, error() {}, debug() {} };

/** Resolves with the next `n` messages a handler receives. */
function collector(n: number) {
  const got: TransportMessage[] = [];
  let resolve!: (m: TransportMessage[]) => void;
  const done = new Promise<TransportMessage[]>((r) => (resolve = r));
  return {
    got,
    done,
    handler: (m: TransportMessage) => {
      got.push(m);
      if (got.length === n) resolve(got);
    },
  };
}

describe('NatsTransport', () => {
  let server: NatsServer;
  const open: Array<{ close(): Promise<void> }> = [];
  const transport = async (opts = {}) => {
    const t = new NatsTransport({ servers: server.url, logger: quiet, ...opts });
    open.push(t);
    await t.connect();
    return t;
  };

  before(async () => {
    server = await NatsServer.start();
  });
  after(async () => {
    await Promise.all(open.map((t) => t.close()));
    await server.stop();
  });

  it('delivers envelopes across connections, with the reply subject, and reports connected', async () => {
    const a = await transport();
    const b = await transport();
    assert.equal(a.status, 'connected');
    const c = collector(1);
    b.subscribe('acp.v1.events.t1', c.handler);
    await b.flush();
    const env = createEvent('t1', { n: 1 }, { from: 'a' });
    a.publish('acp.v1.events.t1', env, { reply: '_INBOX.x.1' });
    const [m] = await c.done;
    assert.equal(m.subject, 'acp.v1.events.t1');
    assert.equal(m.reply, '_INBOX.x.1');
    assert.deepEqual(m.envelope, env);
  });

  it('matches * and > wildcards and load-balances a queue group', async () => {
    const a = await transport();
    const b = await transport();
    const star = collector(2);
    const gt = collector(3);
    b.subscribe('w.*.x', star.handler);
    b.subscribe('w.>', gt.handler);
    const q1: TransportMessage[] = [];
    const q2: TransportMessage[] = [];
    b.subscribe('q.s', (m) => q1.push(m), { queue: 'g' });
    b.subscribe('q.s', (m) => q2.push(m), { queue: 'g' });
    await b.flush();
    const env = createEvent('e', undefined, { from: 'a' });
    a.publish('w.1.x', env);
    a.publish('w.2.x', env);
    a.publish('w.1.y.z', env);
    for (let i = 0; i < 20; i++) a.publish('q.s', env);
    await a.flush();
    assert.deepEqual(
      (await star.done).map((m) => m.subject),
      ['w.1.x', 'w.2.x'],
    );
    assert.deepEqual((await gt.done).map((m) => m.subject).sort(), ['w.1.x', 'w.1.y.z', 'w.2.x']);
    // a's publishes reached the server (a.flush), so b's PONG comes after their delivery
    await b.flush();
    // both members of the group together received each message exactly once
    assert.equal(q1.length + q2.length, 20);
  });

  it('turns a request to nobody into a no-responders status on the reply subject', async () => {
    const a = await transport();
    const inbox = a.newInbox();
    assert.match(inbox, /^_INBOX\.[A-Za-z0-9]+$/);
    const c = collector(1);
    a.subscribe(`${inbox}.>`, c.handler);
    a.publish('nobody.here', createEvent('x', undefined, { from: 'a' }), { reply: `${inbox}.7` });
    const [m] = await c.done;
    assert.deepEqual(m, { subject: `${inbox}.7`, status: 'no-responders' });
  });

  it('turns undecodable and schema-invalid bodies into TransportMessage.error, never a throw', async () => {
    const a = await transport();
    const raw = await connect({ servers: server.url });
    try {
      const c = collector(3);
      a.subscribe('bad.>', c.handler);
      await a.flush();
      raw.publish('bad.1', 'not json', { reply: 'r.1' });
      raw.publish('bad.2', JSON.stringify({ spec_version: 'acp/1.0' }));
      raw.publish('bad.3', new Uint8Array([0xff, 0xfe, 0x7b]));
      const got = await c.done;
      assert.equal(got[0].error?.code, 'CODEC_FAILURE');
      assert.equal(got[0].reply, 'r.1');
      assert.equal(got[1].error?.code, 'INVALID_REQUEST');
      assert.match(got[1].error!.message, /acp\/1\.0/);
      assert.equal(got[2].error?.code, 'CODEC_FAILURE');
      assert.ok(got.every((m) => m.envelope === undefined));
    } finally {
      await raw.close();
    }
  });

  it('stops delivering after unsubscribe and rejects a bad subject with INVALID_REQUEST', async () => {
    const a = await transport();
    const got: TransportMessage[] = [];
    const sub = a.subscribe('u.s', (m) => got.push(m));
    const probe = collector(1);
    a.subscribe('u.probe', probe.handler);
    await a.flush();
    sub.unsubscribe();
    sub.unsubscribe();
    a.publish('u.s', createEvent('e', undefined, { from: 'a' }));
    a.publish('u.probe', createEvent('e', undefined, { from: 'a' }));
    await probe.done; // published after u.s on the same connection: u.s would have arrived first
    assert.equal(got.length, 0);
    assert.throws(
      () => a.publish('bad subject', createEvent('e', undefined, { from: 'a' })),
      (e: unknown) => e instanceof BusError && e.code === 'INVALID_REQUEST',
    );
  });

  it('close() drains, reports closed, is idempotent, and publish afterwards is TRANSPORT_FAILURE', async () => {
    const a = new NatsTransport({ servers: server.url, logger: quiet });
    await a.connect();
    const seen: TransportStatus[] = [];
    a.onStatus((s) => seen.push(s));
    await Promise.all([a.close(), a.close()]);
    assert.equal(a.status, 'closed');
    assert.deepEqual(seen, ['closed']);
    assert.throws(
      () => a.publish('x', createEvent('e', undefined, { from: 'a' })),
      (e: unknown) => e instanceof BusError && e.code === 'TRANSPORT_FAILURE',
    );
  });

  it('fails connect to an unreachable server with TRANSPORT_FAILURE naming the URL', async () => {
    const port = await freePort();
    const t = new NatsTransport({ servers: `nats://127.0.0.1:${port}`, logger: quiet, timeout: 1000 });
    const started = Date.now();
    await assert.rejects(t.connect(), (e: unknown) => {
      assert.ok(e instanceof BusError);
      assert.equal(e.code, 'TRANSPORT_FAILURE');
      assert.ok(e.message.includes(`127.0.0.1:${port}`), e.message);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
    await t.close();
  });

  it('runs a BusClient: invoke, stream and NO_HANDLER within milliseconds', async () => {
    const caller = new BusClient(new NatsTransport({ servers: server.url, logger: quiet }), { agentId: 'caller', logger: quiet });
    const worker = new BusClient(new NatsTransport({ servers: server.url, logger: quiet }), { agentId: 'worker', logger: quiet });
    open.push(caller, worker);
    await caller.connect();
    await worker.connect();
    worker.handleInvoke('math.add', ({ a, b }: { a: number; b: number }) => a + b);
    worker.handleStream('words', async function* () {
      yield 'a';
      yield 'b';
      return 'ab';
    });
    await worker.transport.flush();
    assert.equal(await caller.invoke('math.add', { a: 2, b: 3 }), 5);
    const frames = [];
    for await (const f of caller.stream('words', {})) frames.push(f);
    assert.deepEqual(
      frames.map((f) => [f.event_type, f.seq ?? 0]),
      [
        ['agent.response.started', 0],
        ['agent.response.delta', 1],
        ['agent.response.delta', 2],
        ['agent.response.final', 3],
      ],
    );
    const t0 = Date.now();
    await assert.rejects(
      caller.invoke('nobody.home', {}, { timeout: 5000 }),
      (e: unknown) => e instanceof BusError && e.code === 'NO_HANDLER',
    );
    assert.ok(Date.now() - t0 < 1000, `NO_HANDLER took ${Date.now() - t0} ms`);
  });
});
