// @Subscribe with { durable } in Nest apps: two replicas of one app share a durable consumer, a second app with
// another durable name gets every event, and a handler's throw is redelivered. On memory and on JetStream.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Controller, type INestMicroservice } from '@nestjs/common';
import {
  BusClient,
  Envelope,
  MemoryBroker,
  MemoryTransport,
  NatsTransport,
  Payload,
  Subscribe,
  type Envelope as Env,
} from '@openagentio/nestjs';
import { RecordingLogger, until } from '../support/bus-fixture.js';
import { startNestBusApp } from '../support/nest-bus-app.js';
import { NatsServer } from '../support/nats-server.js';

const billed: Array<{ app: string; order: number }> = [];
const audited: number[] = [];
const failedOnce = new Set<number>();

function billingController(app: string) {
  @Controller()
  class Billing {
    @Subscribe('nestdu.order.*', { durable: 'billing', retry: { attempts: 3, initialDelay: 10, maxDelay: 20 } })
    bill(@Payload() p: { order: number }, @Envelope() _e: Env) {
      // Order 7 fails on its first delivery: it comes back.
      if (p.order === 7 && !failedOnce.has(7)) {
        failedOnce.add(7);
        throw new Error('card declined');
      }
      billed.push({ app, order: p.order });
    }
  }
  return Billing;
}

@Controller()
class Audit {
  @Subscribe('nestdu.order.*', { durable: 'audit' })
  audit(@Payload() p: { order: number }) {
    audited.push(p.order);
  }
}

for (const kind of ['memory', 'nats + jetstream'] as const) {
  describe(`@Subscribe({ durable }) in Nest apps [${kind}]`, () => {
    const apps: INestMicroservice[] = [];
    let server: NatsServer | undefined;
    let pub: BusClient | undefined;
    after(async () => {
      for (const a of apps) await a.close();
      await pub?.close();
      await server?.stop();
    });

    it('replicas share the durable consumer, another name gets every event, a throw is redelivered', async () => {
      billed.length = 0;
      audited.length = 0;
      failedOnce.clear();
      const broker = new MemoryBroker();
      if (kind !== 'memory') server = await NatsServer.start({ jetstream: true });
      const transport = () => (server ? { nats: { servers: server.url } } : { memory: { broker } });
      apps.push(await startNestBusApp({ agentId: 'billing-1', transport: transport(), controllers: [billingController('b1')] }));
      apps.push(await startNestBusApp({ agentId: 'billing-2', transport: transport(), controllers: [billingController('b2')] }));
      apps.push(await startNestBusApp({ agentId: 'audit', transport: transport(), controllers: [Audit] }));
      pub = new BusClient(server ? new NatsTransport({ servers: server.url }) : new MemoryTransport({ broker }), {
        agentId: 'shop',
        logger: new RecordingLogger(),
      });
      await pub.connect();
      for (let i = 0; i < 20; i++) await pub.publish(`nestdu.order.${i % 2 ? 'eu' : 'us'}`, { order: i }, { durable: true });
      await until(() => billed.length === 20 && audited.length === 20, 10_000, `billed ${billed.length}, audited ${audited.length}`);
      assert.deepEqual(
        billed.map((b) => b.order).sort((a, b) => a - b),
        Array.from({ length: 20 }, (_x, i) => i),
      );
      assert.ok(billed.some((b) => b.app === 'b1') && billed.some((b) => b.app === 'b2'), 'both replicas billed');
      assert.ok(failedOnce.has(7), 'order 7 failed once and was billed on redelivery');
      assert.equal(new Set(audited).size, 20);
    });
  });
}
