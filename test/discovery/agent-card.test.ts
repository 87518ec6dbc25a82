import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { AgentCard } from '@a2a-js/sdk';
import { AgentCardResolver } from '@a2a-js/sdk/client';
import { BusClient, MemoryBroker, MemoryTransport, NatsTransport } from '@openagentio/nestjs';
import { type A2aAgentCard } from '@openagentio/nestjs-gateway';
import { ACP_TARGETS_EXTENSION } from '@openagentio/nestjs-gateway/internal/agent-card.js';
import { type GatewayAgentListing } from '@openagentio/nestjs-gateway/internal/agent-directory.service.js';
import { gatewayApp } from '../gateway/gateway-app.js';
import { quietLogger } from '../mcp/helpers.js';
import { NatsServer } from '../support/nats-server.js';
import { BillingAgent, startOrdersApp } from './orders-app.js';

/** The DTO of orders.create (test/discovery/orders-app.ts) as a JSON Schema. */
const CREATE_ORDER_SCHEMA = {
  type: 'object',
  properties: { sku: { type: 'string', minLength: 1 }, quantity: { type: 'integer', minimum: 1 }, note: { type: 'string' } },
  required: ['sku', 'quantity'],
};

describe('gateway: A2A agent card and GET /v1/agents list only what it exposes', () => {
  let server: NatsServer;
  let agents: INestMicroservice[];
  let gatewayBus: BusClient;
  let gateway: { app: INestApplication; url: string };

  before(async () => {
    server = await NatsServer.start();
    const transport = { nats: { servers: server.url } };
    agents = [
      await startOrdersApp({ transport }),
      await startOrdersApp({ transport }),
      await startOrdersApp({ transport, agentId: 'billing', controllers: [BillingAgent] }),
    ];
    gatewayBus = new BusClient(new NatsTransport({ servers: server.url }), { agentId: 'edge', logger: quietLogger });
    await gatewayBus.connect();
    gateway = await gatewayApp(gatewayBus, {
      // Not orders.count, not billing.*; `gateway.>` covers this gateway's own gateway.peer.* targets, which are
      // internal and stay out all the same.
      invokeTargets: ['orders.create', 'orders.check', 'gateway.>'],
      streamTargets: ['orders.*'],
      agentCard: {
        name: 'Shop',
        description: 'The shop agents',
        version: '1.0.0',
        provider: { organization: 'Acme', url: 'https://acme.test' },
      },
    });
  });

  after(async () => {
    await gateway?.app.close();
    await gatewayBus?.close();
    for (const a of agents ?? []) await a.close();
    await server?.stop();
  });

  it('serves /.well-known/agent-card.json: the exposed targets as skills, their DTO schemas, typed as the A2A SDK reads it', async () => {
    const res = await fetch(`${gateway.url}/.well-known/agent-card.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    // Compile-time: the card's declared type is the A2A SDK's AgentCard (this file does not compile otherwise).
    const card: A2aAgentCard = (await res.json()) as A2aAgentCard;
    const asSdk: AgentCard = card;
    assert.equal(asSdk.name, 'Shop');
    assert.equal(card.version, '1.0.0');
    assert.deepEqual(card.provider, { organization: 'Acme', url: 'https://acme.test' });
    assert.deepEqual(
      card.skills.map((s) => s.id),
      ['orders.check', 'orders.count', 'orders.create', 'orders.feed'],
      'orders.count: streamTargets orders.* covers it; billing.* and the internal gateway.peer.* are not exposed',
    );
    const create = card.skills.find((s) => s.id === 'orders.create')!;
    assert.equal(create.description, 'Creates an order');
    assert.deepEqual(create.tags, ['orders', 'write', 'invoke']);
    assert.equal(card.supportedInterfaces[0].url, `${gateway.url}/v1`);
    assert.equal(card.capabilities.streaming, true);
    const ext = card.capabilities.extensions.find((e) => e.uri === ACP_TARGETS_EXTENSION)!;
    const targets = ext.params!.targets as Record<string, { kind: string; inputSchema?: unknown; invoke?: string; stream?: string }>;
    assert.deepEqual(targets['orders.create'], {
      kind: 'invoke',
      inputSchema: CREATE_ORDER_SCHEMA,
      invoke: `${gateway.url}/v1/agents/orders.create/invoke`,
      stream: `${gateway.url}/v1/agents/orders.create/stream`,
    });
    assert.deepEqual(targets['orders.feed'], { kind: 'stream', stream: `${gateway.url}/v1/agents/orders.feed/stream` });
    // The SDK's own client reads it, and its protobuf codec keeps every skill and the schemas.
    const resolved = await AgentCardResolver.default.resolve(gateway.url);
    assert.deepEqual(
      resolved.skills.map((s) => s.id),
      card.skills.map((s) => s.id),
    );
    const decoded = AgentCard.fromJSON(card);
    assert.deepEqual(
      decoded.skills.map((s) => [s.id, s.description]),
      card.skills.map((s) => [s.id, s.description]),
    );
    assert.deepEqual(decoded.capabilities?.extensions[0].params?.targets['orders.create'].inputSchema, CREATE_ORDER_SCHEMA);
  });

  it('GET /v1/agents groups the exposed targets by agent, with every instance', async () => {
    const res = await fetch(`${gateway.url}/v1/agents`);
    assert.equal(res.status, 200);
    const { agents: listed } = (await res.json()) as { agents: GatewayAgentListing[] };
    assert.deepEqual(
      listed.map((a) => [a.agent_id, a.service]),
      [['shop.orders', 'shop_orders']],
    );
    assert.deepEqual(
      listed[0].instances.sort(),
      agents
        .slice(0, 2)
        .map((a) => a.get(BusClient).service!.id)
        .sort(),
    );
    const create = listed[0].targets.find((t) => t.name === 'orders.create')!;
    assert.deepEqual(create.input_schema, CREATE_ORDER_SCHEMA);
    assert.equal(create.invoke, '/v1/agents/orders.create/invoke');
  });

  it('a target that stops being served leaves the card', async () => {
    const billingBus = agents[2].get(BusClient);
    const sub = billingBus.handleInvoke('orders.extra', () => 1, { description: 'comes and goes' });
    await sub.ready;
    // Exposed by streamTargets orders.*: it shows up once discovery hears of it.
    await until(async () => (await card()).skills.some((s) => s.id === 'orders.extra'));
    sub.unsubscribe();
    await until(async () => !(await card()).skills.some((s) => s.id === 'orders.extra'));
  });

  async function card(): Promise<A2aAgentCard> {
    return (await (await fetch(`${gateway.url}/.well-known/agent-card.json`)).json()) as A2aAgentCard;
  }
});

describe('gateway on the memory transport, discovery off: the card lists what its own bus serves', () => {
  it('lists the local targets it exposes', async () => {
    const bus = new BusClient(new MemoryTransport({ broker: new MemoryBroker() }), { agentId: 'solo', logger: quietLogger });
    await bus.connect();
    assert.equal(bus.service, undefined, 'discovery is off by default in memory');
    await bus.handleInvoke('solo.echo', (p: unknown) => p, { description: 'Echoes', inputSchema: { type: 'object' } }).ready;
    await bus.handleInvoke('solo.hidden', () => 1).ready;
    const gw = await gatewayApp(bus, { invokeTargets: ['solo.echo'] });
    try {
      const card = (await (await fetch(`${gw.url}/.well-known/agent-card.json`)).json()) as A2aAgentCard;
      assert.deepEqual(
        card.skills.map((s) => [s.id, s.description]),
        [['solo.echo', 'Echoes']],
      );
    } finally {
      await gw.app.close();
      await bus.close();
    }
  });
});

/** Polls `check` until it holds (discovery news travels as messages; there is no event to await over HTTP). */
async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
