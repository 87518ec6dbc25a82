import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestMicroservice } from '@nestjs/common';
import { BusClient, DiscoveryClient, NatsTransport } from '@openagentio/nestjs';
import { NatsServer } from '../support/nats-server.js';
import { HandlerLog, startOrdersApp } from './orders-app.js';

const CALLS = 4000;
const IN_FLIGHT = 64;

/**
 * Discovery lists the responder's own subscriptions and counts on them: it must never add a subscription to a
 * target, or a request would be handled twice (a plain one) or by two queue members.
 */
describe('discovery under load: each invoke handled exactly once', () => {
  let server: NatsServer;
  let replicas: INestMicroservice[];
  let caller: BusClient;

  before(async () => {
    server = await NatsServer.start();
    const transport = { nats: { servers: server.url } };
    replicas = [await startOrdersApp({ transport, discovery: true }), await startOrdersApp({ transport, discovery: true })];
    caller = new BusClient(new NatsTransport({ servers: server.url }), { agentId: 'load.caller', discovery: false });
    await caller.connect();
  });

  after(async () => {
    await caller?.close();
    for (const app of replicas ?? []) await app.close();
    await server?.stop();
  });

  it(`${CALLS} invokes with ${IN_FLIGHT} in flight over two replicas: each handler call counted once, STATS agrees`, async () => {
    let next = 0;
    const results: number[] = [];
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < CALLS) {
          const n = next++;
          results.push(await caller.invoke<number>('orders.count', { n }));
        }
      }),
    );
    assert.equal(results.length, CALLS);
    const logs = replicas.map((r) => r.get(HandlerLog));
    const handled = new Map<number, number>();
    for (const log of logs) for (const [n, times] of log.counted) handled.set(n, (handled.get(n) ?? 0) + times);
    assert.equal(handled.size, CALLS, 'every call reached a handler');
    assert.deepEqual([...new Set(handled.values())], [1], 'and exactly one handler, once');
    assert.equal(logs[0].total + logs[1].total, CALLS);
    assert.ok(logs[0].total > 0 && logs[1].total > 0, 'the queue group spread them over both replicas');
    // Each replica's STATS counts what its handler took: together exactly the calls made.
    const stats = await new DiscoveryClient(caller).stats('shop.orders');
    const perInstance = new Map(stats.map((s) => [s.id, s.endpoints.find((e) => e.name === 'orders_count')!.num_requests]));
    for (const app of replicas) {
      const bus = app.get(BusClient);
      assert.equal(perInstance.get(bus.service!.id), app.get(HandlerLog).total);
    }
    // And the server holds one subscription per replica on the subject, in the target's queue group, nothing else.
    const res = await fetch(`http://127.0.0.1:${server.monitorPort}/subsz?subs=1&test=acp.v1.invoke.orders.count`);
    const subs = ((await res.json()) as { subscriptions_list: Array<{ subject: string; qgroup?: string }> }).subscriptions_list;
    assert.deepEqual(
      subs.filter((s) => s.subject === 'acp.v1.invoke.orders.count' || !s.qgroup).map((s) => [s.subject, s.qgroup]),
      [
        ['acp.v1.invoke.orders.count', 'orders.count'],
        ['acp.v1.invoke.orders.count', 'orders.count'],
      ],
    );
  });
});
