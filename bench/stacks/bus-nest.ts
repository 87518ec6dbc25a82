import 'reflect-metadata';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as busLib from '@openagentio/nestjs';
import { BusClient, type BusLogger } from '@openagentio/nestjs';
import type { TransportFactory } from './bus.js';
import type { InvokeStack } from './types.js';

export const NEST_ECHO = 'bench.nest-bus.echo';

/**
 * "Our bus client to a decorated Nest handler": a Nest microservice on BusServer (BusModule.forRoot with the
 * given transport) serving `@Invoke(NEST_ECHO) echo(@Payload() p)`, called by a plain BusClient on its own
 * connection. The Nest integration is reached through the library index at run time, so this file compiles
 * whatever state that integration is in; it returns undefined when the pieces are not exported.
 */
export async function busNestStack(name: string, make: TransportFactory): Promise<InvokeStack | undefined> {
  const app = await startBusNestResponder(make);
  if (!app) return undefined;
  const quiet: BusLogger | undefined = process.env.BENCH_VERBOSE ? undefined : { log() {}, warn() {}, error() {} };
  const client = new BusClient(make('nest-client'), { agentId: 'bench-nest-client', logger: quiet });
  await client.connect();
  return {
    name,
    invoke: (p) => client.invoke(NEST_ECHO, p),
    close: async () => {
      await client.close().catch(() => {});
      await app.close();
    },
  };
}

/** The responder half: the Nest microservice on BusServer serving `@Invoke(NEST_ECHO)`. */
export async function startBusNestResponder(make: TransportFactory): Promise<INestMicroservice | undefined> {
  const L = busLib as unknown as Record<string, any>;
  if (!L.BusModule?.forRoot || !L.Invoke || !L.Payload || !L.busMicroservice) return undefined;

  @Controller()
  class NestBusBenchController {
    @L.Invoke(NEST_ECHO)
    echo(@L.Payload() p: unknown): unknown {
      return p;
    }
  }

  @Module({
    imports: [L.BusModule.forRoot({ agentId: 'bench-nest-server', transport: make('nest-server') })],
    controllers: [NestBusBenchController],
  })
  class NestBusBenchModule {}

  const app: INestMicroservice = await NestFactory.createMicroservice(NestBusBenchModule, {
    ...L.busMicroservice(),
    logger: ['error', 'warn'],
  });
  await app.listen();
  return app;
}
