import { BusClient, type BusLogger, MemoryBroker, MemoryTransport } from '@openagentio/nestjs';
import { until as pollUntil } from '../support/bus-fixture.js';

export const quietLogger: BusLogger = { log: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

/** Connected bus clients on one in-memory broker. */
export async function memoryBuses(...agentIds: string[]): Promise<{ broker: MemoryBroker; buses: BusClient[]; close(): Promise<void> }> {
  const broker = new MemoryBroker();
  const buses = agentIds.map(
    (agentId) => new BusClient(new MemoryTransport({ broker, validate: true }), { agentId, logger: quietLogger, livenessInterval: 500 }),
  );
  for (const b of buses) await b.connect();
  return { broker, buses, close: async () => void (await Promise.all(buses.map((b) => b.close()))) };
}

export function until(pred: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  return pollUntil(pred, timeoutMs, what);
}

import { Module, type DynamicModule } from '@nestjs/common';

@Module({})
class TestBusModule {}

/** A global module providing an already-connected BusClient, as BusModule.forRoot does. */
export function testBusModule(bus: BusClient): DynamicModule {
  return { module: TestBusModule, global: true, providers: [{ provide: BusClient, useValue: bus }], exports: [BusClient] };
}
