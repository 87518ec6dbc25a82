import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Controller, Inject, Injectable, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientProxy,
  ClientsModule,
  EventPattern,
  MessagePattern,
  Payload,
  RpcException,
  Transport,
  type AsyncMicroserviceOptions,
  type ClientProviderOptions,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { firstValueFrom, interval, lastValueFrom, map, take, toArray, type Observable } from 'rxjs';
import { BusClientProxy, BusModule, busMicroservice, MemoryBroker } from '@openagentio/nestjs';
import { deferred } from '../support/bus-fixture.js';
import { NatsServer } from '../support/nats-server.js';

// A small app written for Nest's built-in NATS transport: patterns, send, emit, an Observable reply. It is
// defined once, as a function of its transport options; the test runs it on Transport.NATS, then on the bus
// with only those options changed.

interface TransportChoice {
  name: string;
  /** The microservice options (server side). */
  server: () => MicroserviceOptions | AsyncMicroserviceOptions;
  /** The ClientsModule entry for the client (client side). */
  client: ClientProviderOptions;
  /** Extra module imports (the bus needs its BusModule). */
  imports: () => unknown[];
}

const orders: Array<{ id: number; seenBy: string }> = [];
let orderSeen = deferred<void>();

@Controller()
class MathController {
  @MessagePattern('math.sum')
  sum(@Payload() numbers: number[]): number {
    return numbers.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('math.count')
  count(@Payload() upTo: number): Observable<number> {
    return interval(5).pipe(
      take(upTo),
      map((i) => i + 1),
    );
  }

  @MessagePattern({ cmd: 'divide' })
  divide(@Payload() p: { a: number; b: number }): number {
    if (p.b === 0) throw new RpcException({ code: 'E_DIV_ZERO', message: 'cannot divide by zero' });
    return p.a / p.b;
  }

  @EventPattern('order.created')
  created(@Payload() order: { id: number }): void {
    orders.push({ id: order.id, seenBy: 'audit' });
    if (orders.length >= 2) orderSeen.resolve();
  }

  @EventPattern('order.created')
  createdAgain(@Payload() order: { id: number }): void {
    orders.push({ id: order.id, seenBy: 'mailer' });
    if (orders.length >= 2) orderSeen.resolve();
  }
}

@Injectable()
class MathService {
  constructor(@Inject('MATH') private readonly client: ClientProxy) {}

  sum(numbers: number[]): Promise<number> {
    return firstValueFrom(this.client.send<number>('math.sum', numbers));
  }

  count(upTo: number): Promise<number[]> {
    return lastValueFrom(this.client.send<number>('math.count', upTo).pipe(toArray()));
  }

  divide(a: number, b: number): Promise<number> {
    return firstValueFrom(this.client.send<number>({ cmd: 'divide' }, { a, b }));
  }

  orderCreated(id: number): Promise<unknown> {
    return lastValueFrom(this.client.emit('order.created', { id }), { defaultValue: undefined });
  }
}

async function startApp(choice: TransportChoice): Promise<{ app: INestMicroservice; math: MathService }> {
  @Module({
    imports: [...(choice.imports() as never[]), ClientsModule.register([choice.client])],
    controllers: [MathController],
    providers: [MathService],
  })
  class AppModule {}
  const options = { ...choice.server(), logger: false } as MicroserviceOptions & { logger: false };
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, options);
  await app.listen();
  return { app, math: app.get(MathService) };
}

describe('an app written for Transport.NATS, ported by changing only its transport options', () => {
  let nats: NatsServer;
  before(async () => {
    nats = await NatsServer.start();
  });
  after(async () => {
    await nats?.stop();
  });

  const choices = (): TransportChoice[] => [
    {
      name: "Nest's own Transport.NATS (the reference)",
      server: () => ({ transport: Transport.NATS, options: { servers: [nats.url] } }),
      client: { name: 'MATH', transport: Transport.NATS, options: { servers: [nats.url] } },
      imports: () => [],
    },
    {
      name: 'the bus over memory',
      server: () => busMicroservice(),
      client: { name: 'MATH', customClass: BusClientProxy, options: { transport: { memory: { broker: sharedBroker } } } },
      imports: () => [BusModule.forRoot({ agentId: 'math', transport: { memory: { broker: sharedBroker } } })],
    },
    {
      name: 'the bus over NATS',
      server: () => busMicroservice(),
      client: { name: 'MATH', customClass: BusClientProxy, options: { transport: { nats: { servers: nats.url } } } },
      imports: () => [BusModule.forRoot({ agentId: 'math', transport: { nats: { servers: nats.url } } })],
    },
  ];
  const sharedBroker = new MemoryBroker();

  for (const index of [0, 1, 2]) {
    it(`runs the same way on ${['Transport.NATS', 'the bus over memory', 'the bus over NATS'][index]}`, async () => {
      const choice = choices()[index];
      orders.length = 0;
      orderSeen = deferred<void>();
      const { app, math } = await startApp(choice);
      try {
        assert.equal(await math.sum([1, 2, 3, 4]), 10, `${choice.name}: send → one value`);
        assert.deepEqual(await math.count(4), [1, 2, 3, 4], `${choice.name}: an Observable reply arrives value by value, in order`);
        assert.equal(await math.divide(9, 3), 3, `${choice.name}: an object pattern`);
        await assert.rejects(math.divide(1, 0), (err: unknown) => {
          assert.deepEqual(
            err,
            { code: 'E_DIV_ZERO', message: 'cannot divide by zero' },
            `${choice.name}: the RpcException object reaches the client`,
          );
          return true;
        });
        await math.orderCreated(7);
        await orderSeen.promise;
        assert.deepEqual(
          orders.map((o) => o.seenBy).sort(),
          ['audit', 'mailer'],
          `${choice.name}: emit reaches every @EventPattern handler`,
        );
        assert.ok(orders.every((o) => o.id === 7));
      } finally {
        await app.close();
      }
    });
  }
});
