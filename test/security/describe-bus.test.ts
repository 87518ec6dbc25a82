import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BusClient, MemoryTransport, describeBus, type AgentSpec } from '@openagentio/nestjs';
import { gatewayApp } from '../gateway/gateway-app.js';

describe('describeBus: what a running bus serves, subscribes to and declares', () => {
  const closers: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  it("takes the handlers, subscriptions, declared calls and a gateway's exposed targets and event routes", async () => {
    const bus = new BusClient(new MemoryTransport(), { agentId: 'front.door', calls: ['worker.*'], publishes: ['front.>'] });
    await bus.connect();
    closers.push(() => bus.close());
    bus.handleInvoke('front.ask', () => 'ok');
    bus.subscribe('orders.*', () => undefined);
    const { app } = await gatewayApp(bus, { streamTargets: ['writer'], taskTargets: ['report.build'], subscribeEvents: ['news.>'] });
    closers.push(() => app.close());
    const spec: AgentSpec = describeBus(bus);
    assert.equal(spec.agentId, 'front.door');
    assert.ok(spec.serves!.includes('front.ask'));
    // The gateway's replica targets differ per instance: one pattern for all (permissionPattern).
    assert.ok(spec.serves!.includes('gateway.peer.*.attach'), `${spec.serves}`);
    assert.ok(!spec.serves!.some((t) => /^gateway\.peer\.(?!\*)/.test(t)), 'no replica id of this boot');
    assert.deepEqual(spec.calls!.sort(), ['gateway.peer.>', 'report.build', 'worker.*', 'writer']);
    assert.deepEqual(spec.publishes, ['front.>']);
    assert.ok(spec.subscribes!.includes('orders.*') && spec.subscribes!.includes('news.>'), `${spec.subscribes}`);
    assert.equal(spec.discovery, undefined, 'on by default over NATS');
    assert.equal(spec.durableEvents, undefined, 'no durable subscription, no events log');
  });

  it('names the durable consumers a bus subscribes with', async () => {
    const bus = new BusClient(new MemoryTransport(), { agentId: 'billing' });
    await bus.connect();
    closers.push(() => bus.close());
    await bus.subscribe('order.*', () => undefined, { durable: 'billing' }).ready;
    assert.deepEqual(describeBus(bus).durableEvents, { consumers: ['billing'] });
  });
});
