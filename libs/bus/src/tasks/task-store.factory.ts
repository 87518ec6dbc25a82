import type { BusClient } from '../bus/bus-client.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { NatsTransport } from '../transport/nats/nats-transport.js';
import { JetStreamTaskStore } from './jetstream-task-store.js';
import { MemoryTaskStore } from './memory-task-store.js';
import type { TaskStore } from './task-store.interface.js';
import type { TasksModuleOptions } from './tasks.module-definition.js';

/** The store TasksModule options ask for, initialised (JetStream: streams and bucket created and read back). */
export async function createTaskStore(bus: BusClient, options: TasksModuleOptions): Promise<TaskStore> {
  if ((options.store ?? 'memory') === 'memory') return new MemoryTaskStore(options.memory);
  if (!bus.isConnected) await bus.connect();
  const nc = bus.transport instanceof NatsTransport ? bus.transport.connection : undefined;
  if (!nc) {
    throw new BusError(ErrorCodes.TRANSPORT_FAILURE, 'TasksModule store "jetstream" needs the bus on a connected NATS transport', {
      retryable: false,
    });
  }
  const store = new JetStreamTaskStore(nc, options.jetstream, bus.logger);
  await store.init();
  return store;
}
