import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestMicroservice } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Svcm } from '@nats-io/services';
import { BusClient, type ServiceInfo, type ServiceStats } from '@openagentio/nestjs';
import { NatsServer } from '../support/nats-server.js';
import { nats, natsCli, natsJson } from '../support/natscli.js';
import { BillingAgent, startOrdersApp } from './orders-app.js';

/** What `nats micro info --json` prints: the instance's INFO and its STATS. */
interface MicroInfoJson {
  info: ServiceInfo;
  stats: ServiceStats;
}

/**
 * The NATS Services API (ADR-32) of our buses, read by the real `nats` CLI (natscli v0.5.0, which validates every
 * answer against the ADR's JSON schemas and drops those that fail) and by the @nats-io/services client.
 */
describe('discovery over NATS: nats micro ls|info|stats', () => {
  let server: NatsServer;
  let replicas: INestMicroservice[];
  let billing: INestMicroservice;
  let nc: NatsConnection;
  const busOf = (app: INestMicroservice) => app.get(BusClient);

  // The first run builds natscli (a minute or two, longer beside other tests): more than a test's own timeout.
  before(
    async () => {
      await natsCli(); // built on first use, before any server starts
      server = await NatsServer.start();
      const transport = { nats: { servers: server.url } };
      // Two replicas of one agent (its id has a dot: the service name maps it), and a second agent.
      replicas = [await startOrdersApp({ transport }), await startOrdersApp({ transport })];
      billing = await startOrdersApp({
        transport,
        agentId: 'billing',
        discovery: { version: '1.2.3', description: 'Billing agent' },
        controllers: [BillingAgent],
      });
      nc = await connect({ servers: server.url });
    },
    { timeout: 600_000 },
  );

  after(async () => {
    await nc?.close();
    for (const app of [...(replicas ?? []), billing]) await app?.close();
    await server?.stop();
  });

  it('is on by default over NATS: one instance id per process, the agent id mapped to an ADR-32 name', () => {
    const [a, b] = replicas.map(busOf);
    assert.equal(a.service?.name, 'shop_orders');
    assert.equal(b.service?.name, 'shop_orders');
    assert.notEqual(a.service?.id, b.service?.id);
    assert.match(a.service!.id, /^[A-Za-z0-9]{22}$/);
  });

  it('nats micro ls shows one service per agent with one instance per replica', async () => {
    const listed = await natsJson<ServiceInfo[]>(server.url, ['micro', 'ls']);
    const ids = (name: string) =>
      listed
        .filter((s) => s.name === name)
        .map((s) => s.id)
        .sort();
    assert.deepEqual(ids('shop_orders'), replicas.map((r) => busOf(r).service!.id).sort());
    assert.deepEqual(ids('billing'), [busOf(billing).service!.id]);
    assert.deepEqual([...new Set(listed.map((s) => s.name))].sort(), ['billing', 'shop_orders']);
    const mine = listed.find((s) => s.name === 'billing')!;
    assert.equal(mine.version, '1.2.3');
    assert.equal(mine.description, 'Billing agent');
    assert.equal(mine.metadata['acp.agent_id'], 'billing');
    // The table form lists both services as well.
    const table = await nats(server.url, ['micro', 'ls']);
    assert.match(table, /shop_orders/);
    assert.match(table, /billing/);
  });

  it("nats micro info lists each target's exact subject and queue group, with kind, description, tags and DTO schema", async () => {
    const id = busOf(replicas[1]).service!.id;
    const { info } = await natsJson<MicroInfoJson>(server.url, ['micro', 'info', 'shop_orders', id]);
    assert.equal(info.id, id);
    const byTarget = new Map(info.endpoints.map((e) => [e.metadata['acp.target'], e]));
    assert.deepEqual([...byTarget.keys()].sort(), ['orders.check', 'orders.count', 'orders.create', 'orders.feed']);
    const create = byTarget.get('orders.create')!;
    assert.equal(create.name, 'orders_create');
    assert.equal(create.subject, 'acp.v1.invoke.orders.create');
    assert.equal(create.queue_group, 'orders.create');
    assert.equal(create.metadata['acp.kind'], 'invoke');
    assert.equal(create.metadata['acp.description'], 'Creates an order');
    assert.equal(create.metadata['acp.tags'], 'orders,write');
    assert.deepEqual(JSON.parse(create.metadata['acp.input_schema']), {
      type: 'object',
      properties: { sku: { type: 'string', minLength: 1 }, quantity: { type: 'integer', minimum: 1 }, note: { type: 'string' } },
      required: ['sku', 'quantity'],
    });
    assert.equal(byTarget.get('orders.feed')!.metadata['acp.kind'], 'stream');
    // Exactly what the server has: one subscription per replica on each subject, in the target's queue group.
    const subs = await subscriptions(server, 'acp.v1.invoke.orders.create');
    assert.deepEqual(subs, [
      { subject: 'acp.v1.invoke.orders.create', qgroup: 'orders.create' },
      { subject: 'acp.v1.invoke.orders.create', qgroup: 'orders.create' },
    ]);
  });

  it('$SRV.PING.<name>.<id> answers from that instance only; $SRV.PING.<name> from every replica', async () => {
    const id = busOf(replicas[0]).service!.id;
    // A fixed window (not a first-answer race): an answer from anyone else would have to arrive inside it.
    const client = new Svcm(nc as never).client({ strategy: 'timer', maxWait: 500 });
    const one = await collect(await client.ping('shop_orders', id));
    assert.deepEqual(
      one.map((p) => [p.name, p.id]),
      [['shop_orders', id]],
    );
    const all = await collect(await client.ping('shop_orders'));
    assert.deepEqual(all.map((p) => p.id).sort(), replicas.map((r) => busOf(r).service!.id).sort());
    const everyone = await collect(await client.ping());
    assert.equal(everyone.length, 3);
    const text = await nats(server.url, ['micro', 'ping', 'billing', '--timeout', '500ms']);
    assert.match(text, new RegExp(`billing ${busOf(billing).service!.id}`));
  });

  it('after 5 invokes with 1 failure, STATS shows 5 requests, 1 error, the last error and a processing time above zero', async () => {
    const caller = busOf(replicas[0]);
    for (let i = 0; i < 4; i++) await caller.invoke('orders.check', {});
    await assert.rejects(caller.invoke('orders.check', { fail: true }), /credit limit/);
    // Through the replicas' queue group: add up the two instances, as `nats micro stats` does.
    const stats = await natsJson<ServiceStats[]>(server.url, ['micro', 'stats', 'shop_orders']);
    assert.equal(stats.length, 2);
    const check = stats.flatMap((s) => s.endpoints).filter((e) => e.name === 'orders_check');
    assert.equal(check.length, 2);
    assert.equal(
      check.reduce((n, e) => n + e.num_requests, 0),
      5,
    );
    assert.equal(
      check.reduce((n, e) => n + e.num_errors, 0),
      1,
    );
    assert.deepEqual(check.map((e) => e.last_error).filter(Boolean), ['INVALID_REQUEST: order 7 is over the credit limit']);
    assert.ok(check.reduce((n, e) => n + e.processing_time, 0) > 0, 'processing time in nanoseconds');
    for (const e of check) {
      assert.equal(e.subject, 'acp.v1.invoke.orders.check');
      assert.equal(e.queue_group, 'orders.check');
      if (e.num_requests > 0) assert.equal(e.average_processing_time, Math.round(e.processing_time / e.num_requests));
    }
    // The table form sums them up too.
    const table = await nats(server.url, ['micro', 'stats', 'shop_orders']);
    assert.match(table, /orders_check/);
    // The same from the @nats-io/services client.
    const fromLib = await collect(
      await new Svcm(nc as never).client({ strategy: 'stall', maxWait: 2000, stall: 300 }).stats('shop_orders'),
    );
    assert.equal(
      fromLib
        .flatMap((s) => s.endpoints ?? [])
        .filter((e) => e.name === 'orders_check')
        .reduce((n, e) => n + e.num_requests, 0),
      5,
    );
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The server's subscriptions on `subject` (monitoring endpoint /subsz). */
async function subscriptions(server: NatsServer, subject: string): Promise<Array<{ subject: string; qgroup?: string }>> {
  const res = await fetch(`http://127.0.0.1:${server.monitorPort}/subsz?subs=1&test=${encodeURIComponent(subject)}`);
  const body = (await res.json()) as { subscriptions_list?: Array<{ subject: string; qgroup?: string }> };
  return (body.subscriptions_list ?? []).filter((s) => s.subject === subject).map((s) => ({ subject: s.subject, qgroup: s.qgroup }));
}
