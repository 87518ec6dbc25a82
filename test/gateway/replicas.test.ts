import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { INestApplication } from '@nestjs/common';
import { BusClient, type HandlerContext, NatsTransport, type StreamWriter } from '@openagentio/nestjs';
import type { GatewayModuleOptions } from '@openagentio/nestjs-gateway';
import { quietLogger } from '../nats/helpers.js';
import { NatsServer } from '../support/nats-server.js';
import { until } from '../bridge/helpers.js';
import { gatewayApp } from './gateway-app.js';
import { openSse } from './sse-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Two gateway replicas (as behind one load balancer) and an agent, each on its own NATS connection.
describe('gateway replicas: a detached stream is reachable from every replica (peerStreams)', () => {
  let nats: NatsServer;
  const buses: BusClient[] = [];
  const apps: INestApplication[] = [];
  let urlA: string;
  let urlB: string;
  let urlSolo: string;
  let aborted = 0;
  let runs = 0;
  const auth = { 'alice-token': { tenant_id: 'acme', user_id: 'alice' }, 'bob-token': { tenant_id: 'acme', user_id: 'bob' } };
  const alice = { authorization: 'Bearer alice-token' };
  const bob = { authorization: 'Bearer bob-token' };

  // Short liveness probes, so that a replica that dies is noticed within a second (the default is 5 s).
  const bus = async (agentId: string) => {
    const b = new BusClient(new NatsTransport({ servers: nats.url, logger: quietLogger }), {
      agentId,
      logger: quietLogger,
      livenessInterval: 200,
    });
    await b.connect();
    buses.push(b);
    return b;
  };
  const gateway = async (agentId: string, extra: Partial<GatewayModuleOptions> = {}) => {
    const b = await bus(agentId);
    const { app, url } = await gatewayApp(b, { streamTargets: ['writer'], auth: { bearerTokens: auth }, detachGraceMs: 2000, ...extra });
    apps.push(app);
    gatewayBuses.set(url, b);
    return url;
  };
  const gatewayBuses = new Map<string, BusClient>();

  before(async () => {
    nats = await NatsServer.start();
    const agent = await bus('agent');
    agent.handleStream('writer', async (p: { n: number; delay: number }, ctx: HandlerContext & { writer: StreamWriter }) => {
      runs++;
      ctx.signal.addEventListener('abort', () => aborted++);
      for (let i = 0; i < p.n && !ctx.signal.aborted; i++) {
        await ctx.writer.delta(`w${i} `);
        await sleep(p.delay);
      }
      return { words: p.n };
    });
    await agent.transport.flush();
    urlA = await gateway('gateway-a', { replicaId: 'gw-a' });
    urlB = await gateway('gateway-b', { replicaId: 'gw-b' });
    urlSolo = await gateway('gateway-solo', { replicaId: 'gw-solo', peerStreams: false });
  });
  after(async () => {
    for (const app of apps) await app.close();
    for (const b of buses) await b.close();
    await nats?.stop();
  });

  const start = async (url: string, body: unknown, headers = alice) => {
    const r = await fetch(`${url}/v1/agents/writer/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    assert.equal(r.status, 201);
    return ((await r.json()) as { stream_id: string }).stream_id;
  };

  it('stream ids name the replica that runs them', async () => {
    const id = await start(urlA, { n: 1, delay: 1 });
    assert.match(id, /^gw-a~[0-9a-f-]{36}$/);
  });

  it('started on A, read on B: every frame in order, then resumed on B after Last-Event-ID, then 204 once all is seen', async () => {
    const id = await start(urlA, { n: 8, delay: 25 });
    const first = await openSse(`${urlB}/v1/streams/${id}`, { headers: alice });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-stream-id'), id);
    await first.waitEvents(3);
    first.close();
    const lastId = first.events[2].id!;
    const rest = await openSse(`${urlB}/v1/streams/${id}`, { headers: { ...alice, 'last-event-id': lastId } });
    await rest.waitEnd();
    const frames = [...first.events.slice(0, 3), ...rest.events].map((e) => JSON.parse(e.data));
    assert.deepEqual(
      frames.map((f) => f.seq ?? 0),
      Array.from({ length: 10 }, (_, i) => i),
    ); // started, 8 deltas, final
    assert.equal(frames.at(-1).event_type, 'agent.response.final');
    assert.deepEqual(frames.at(-1).payload, { result: { words: 8 } });
    // The same frames a client attached on A gets, byte for byte.
    const onA = await openSse(`${urlA}/v1/streams/${id}`, { headers: alice });
    await onA.waitEnd();
    assert.deepEqual(
      onA.events.map((e) => e.data),
      [...first.events.slice(0, 3), ...rest.events].map((e) => e.data),
    );
    const done = await fetch(`${urlB}/v1/streams/${id}`, { headers: { ...alice, 'last-event-id': frames.at(-1).event_id } });
    assert.equal(done.status, 204);
  });

  it('DELETE on B cancels a stream A runs: the agent handler is aborted and the stream ends with an error frame', async () => {
    const before = aborted;
    const id = await start(urlA, { n: 1000, delay: 10 });
    const del = await fetch(`${urlB}/v1/streams/${id}`, { method: 'DELETE', headers: alice });
    assert.equal(del.status, 204);
    await until(() => aborted > before, 3000, 'agent handler aborted');
    const tail = await openSse(`${urlB}/v1/streams/${id}`, { headers: alice });
    await tail.waitEnd();
    assert.equal(tail.events.at(-1)!.event, 'agent.response.error');
  });

  it('a client attached through B keeps the stream alive past the grace period; leaving B lets A cancel it', async () => {
    const before = aborted;
    const id = await start(urlA, { n: 1000, delay: 20 });
    const viaB = await openSse(`${urlB}/v1/streams/${id}`, { headers: alice });
    await viaB.waitEvents(2);
    await sleep(2300); // longer than detachGraceMs: only the attachment through B keeps it running
    assert.equal(aborted, before, 'still running while attached through B');
    const seen = viaB.events.length;
    await until(() => viaB.events.length > seen, 2000, 'frames still flowing');
    viaB.close();
    await until(() => aborted > before, 5000, 'cancelled after the grace period once B detached');
  });

  it("another user's stream, an unknown id, or a replica that does not exist is 404 on every replica", async () => {
    const id = await start(urlA, { n: 50, delay: 20 });
    assert.equal((await fetch(`${urlB}/v1/streams/${id}`, { headers: bob })).status, 404);
    assert.equal((await fetch(`${urlB}/v1/streams/${id}`, { method: 'DELETE', headers: bob })).status, 404);
    assert.equal((await fetch(`${urlA}/v1/streams/${id}`, { headers: bob })).status, 404);
    const unknown = 'gw-a~00000000-0000-4000-8000-000000000000';
    assert.equal((await fetch(`${urlB}/v1/streams/${unknown}`, { headers: alice })).status, 404);
    assert.equal((await fetch(`${urlB}/v1/streams/gw-gone~${unknown.slice(5)}`, { method: 'DELETE', headers: alice })).status, 404);
    // bob's failed attempts did not disturb alice's stream
    const mine = await openSse(`${urlB}/v1/streams/${id}`, { headers: alice });
    await mine.waitEnd();
    assert.equal(mine.events.at(-1)!.event, 'agent.response.final');
  });

  it('an EventSource started on A (GET …/stream) that reconnects to B with Last-Event-ID resumes the same stream', async () => {
    const runsBefore = runs;
    const q = `/v1/agents/writer/stream?payload=${encodeURIComponent(JSON.stringify({ n: 8, delay: 25 }))}`;
    const a = await openSse(urlA + q, { headers: alice });
    const id = a.headers.get('x-stream-id');
    assert.match(id ?? '', /^gw-a~/);
    await a.waitEvents(3);
    a.close();
    const b = await openSse(urlB + q, { headers: { ...alice, 'last-event-id': a.events.at(-1)!.id! } });
    assert.equal(b.status, 200);
    assert.equal(b.headers.get('x-stream-id'), id);
    await b.waitEnd();
    const seqs = [...a.events, ...b.events].map((e) => JSON.parse(e.data).seq ?? 0);
    assert.deepEqual(
      seqs,
      Array.from({ length: 10 }, (_, i) => i),
    );
    assert.equal(runs, runsBefore + 1, 'resumed on B, not started again');
    assert.equal((await fetch(urlB + q, { headers: { ...alice, 'last-event-id': b.events.at(-1)!.id! } })).status, 204);
    // Someone else's Last-Event-ID, or one no replica has, is a 404 (after the other replicas had their say).
    assert.equal((await fetch(urlB + q, { headers: { ...bob, 'last-event-id': a.events.at(-1)!.id! } })).status, 404);
    assert.equal((await fetch(urlB + q, { headers: { ...alice, 'last-event-id': '00000000-0000-7000-8000-000000000000' } })).status, 404);
  });

  it('when the replica running a stream dies, a client attached through another replica sees its connection end soon', async () => {
    const urlC = await gateway('gateway-c', { replicaId: 'gw-c' });
    const id = await start(urlC, { n: 1000, delay: 20 });
    const viaB = await openSse(`${urlB}/v1/streams/${id}`, { headers: alice });
    await viaB.waitEvents(2);
    // C's process "dies": no more frames or probes from it, no goodbye.
    const c = gatewayBuses.get(urlC)!;
    (c as unknown as { responder: { inflight: Map<string, unknown> } }).responder.inflight.clear();
    await c.transport.close();
    const t0 = Date.now();
    await viaB.waitEnd(5000);
    assert.ok(Date.now() - t0 < 3000, `ended ${Date.now() - t0} ms after the replica died`);
    // Reconnecting finds nothing: the stream died with its replica.
    assert.equal((await fetch(`${urlB}/v1/streams/${id}`, { headers: alice })).status, 404);
  });

  it('with peerStreams: false a replica neither serves its streams to others nor reaches theirs', async () => {
    const solo = await start(urlSolo, { n: 20, delay: 10 });
    assert.equal((await fetch(`${urlA}/v1/streams/${solo}`, { headers: alice })).status, 404);
    const onA = await start(urlA, { n: 20, delay: 10 });
    assert.equal((await fetch(`${urlSolo}/v1/streams/${onA}`, { headers: alice })).status, 404);
  });
});
