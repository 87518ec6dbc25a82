import 'reflect-metadata';
import { Module, type DynamicModule, type INestMicroservice, type LoggerService, type Provider, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BusModule, busMicroservice, MemoryBroker, type BusModuleOptions } from '@openagentio/nestjs';

/** What a test's Nest app is made of: the bus (its agent id and transport) and the test's own classes. */
export interface NestBusAppSpec {
  agentId: string;
  /** The bus's transport, as BusModule.forRoot takes it (`{ memory: { broker } }`, `{ nats: { servers } }`, an instance). Default: a fresh in-memory broker. */
  transport?: BusModuleOptions['transport'];
  /** Further BusModule options (maxBufferedFrames, reorder, …). */
  bus?: Omit<BusModuleOptions, 'agentId' | 'transport'>;
  controllers?: Type[];
  providers?: Provider[];
  imports?: Array<Type | DynamicModule>;
  /** Nest's logger for the app; default none. */
  logger?: LoggerService | false;
  /** Runs before listen(): global pipes, filters, interceptors. */
  configure?: (app: INestMicroservice) => void;
  /** Whether to listen() before returning (default true); false for a test of what listen() does. */
  listen?: boolean;
}

/**
 * A Nest microservice on the bus strategy (BusServer) with the given controllers and providers, listening: what a
 * user's `NestFactory.createMicroservice(AppModule, busMicroservice())` makes. Close it with `app.close()`.
 */
export async function startNestBusApp(spec: NestBusAppSpec): Promise<INestMicroservice> {
  const transport = spec.transport ?? { memory: { broker: new MemoryBroker() } };
  @Module({
    imports: [BusModule.forRoot({ ...spec.bus, agentId: spec.agentId, transport }), ...(spec.imports ?? [])],
    controllers: spec.controllers ?? [],
    providers: spec.providers ?? [],
  })
  class NestBusTestApp {}
  const app = await NestFactory.createMicroservice(NestBusTestApp, { ...busMicroservice(), logger: spec.logger ?? false });
  spec.configure?.(app);
  if (spec.listen !== false) await app.listen();
  return app;
}
