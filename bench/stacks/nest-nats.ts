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

/** NestJS' built-in NATS transport: a Transport.NATS microservice and a ClientProxy from ClientProxyFactory. */
export async function nestNatsStack(url: string): Promise<NestNatsStack> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(NestNatsBenchModule, {
    transport: Transport.NATS,
    options: { servers: [url] },
    logger: ['error', 'warn'],
  });
  await app.listen();
  const client: ClientProxy = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [url] } });
  await client.connect();
  return {
    name: 'Nest built-in Transport.NATS',
    invoke: (payload) => firstValueFrom(client.send(ECHO, payload)),
    stream: (n) => lastValueFrom(client.send(STREAM, { n }).pipe(count())),
    close: async () => {
      await client.close();
      await app.close();
    },
  };
}
