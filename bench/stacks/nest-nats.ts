import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, MessagePattern, Payload, Transport, type ClientProxy, type MicroserviceOptions } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom, Observable, count } from 'rxjs';
import type { InvokeStack } from './types.js';

const ECHO = 'bench.nest.echo';
const STREAM = 'bench.nest.stream';

@Controller()
class NestNatsBenchController {
  @MessagePattern(ECHO)
  echo(@Payload() p: unknown): unknown {
    return p;
  }

  /** Streamed reply: n values, sent as n `{response}` messages and `{isDisposed}` (no flow control). */
  @MessagePattern(STREAM)
  stream(@Payload() p: { n: number }): Observable<{ delta: string }> {
    return new Observable((sub) => {
      for (let i = 0; i < p.n; i++) sub.next({ delta: 'tok ' });
      sub.complete();
    });
  }
}

@Module({ controllers: [NestNatsBenchController] })
class NestNatsBenchModule {}

export interface NestNatsStack extends InvokeStack {
  /** Streams n deltas through ClientProxy.send; resolves with the number received. */
  stream(n: number): Promise<number>;
}

/** The responder half of Nest's built-in NATS stack: a Transport.NATS microservice serving `@MessagePattern`s. */
export async function startNestNatsResponder(url: string): Promise<{ close(): Promise<void> }> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(NestNatsBenchModule, {
    transport: Transport.NATS,
    options: { servers: [url] },
    logger: ['error', 'warn'],
  });
  await app.listen();
  return { close: () => app.close() };
}

/** The caller half: a ClientProxy from ClientProxyFactory, `firstValueFrom(client.send())`. */
export async function nestNatsCaller(url: string): Promise<InvokeStack & { client: ClientProxy }> {
  const client: ClientProxy = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [url] } });
  await client.connect();
  return {
    name: 'Nest built-in Transport.NATS',
    client,
    invoke: (payload) => firstValueFrom(client.send(ECHO, payload)),
    close: () => client.close(),
  };
}

/** NestJS' built-in NATS transport: a Transport.NATS microservice and a ClientProxy from ClientProxyFactory. */
export async function nestNatsStack(url: string): Promise<NestNatsStack> {
  const app = await startNestNatsResponder(url);
  const caller = await nestNatsCaller(url);
  return {
    name: caller.name,
    invoke: caller.invoke,
    stream: (n) => lastValueFrom(caller.client.send(STREAM, { n }).pipe(count())),
    close: async () => {
      await caller.close();
      await app.close();
    },
  };
}
