import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import type { BusClient } from '@openagentio/nestjs';
import { GatewayModule, type GatewayModuleOptions } from '@openagentio/nestjs-gateway';
import { testBusModule } from '../bridge/helpers.js';

/** A Nest HTTP app with the gateway over `bus`, listening on a free port. */
export async function gatewayApp(
  bus: BusClient,
  options: GatewayModuleOptions,
  extra: { imports?: any[]; providers?: any[]; nestOptions?: Record<string, unknown>; configure?: (app: INestApplication) => void } = {},
): Promise<{ app: INestApplication; url: string }> {
  const mod = await Test.createTestingModule({
    imports: [testBusModule(bus), GatewayModule.forRoot(options), ...(extra.imports ?? [])],
    providers: extra.providers ?? [],
  }).compile();
  const app = mod.createNestApplication({ logger: false, ...(extra.nestOptions ?? {}) });
  extra.configure?.(app);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return { app, url: `http://127.0.0.1:${port}` };
}
