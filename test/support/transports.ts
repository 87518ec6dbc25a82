import { MemoryBroker } from '../../libs/bus/src/transport/memory/memory-broker.js';
import { MemoryTransport } from '../../libs/bus/src/transport/memory/memory-transport.js';
import type { Transport } from '../../libs/bus/src/transport/transport.interface.js';

/**
 * A transport under test. `setup` starts whatever the transport needs (a broker, a nats-server) and returns
 * a factory of connections to it; the shared bus suite (test/bus/*.test.ts) runs once per fixture.
 */
export interface TransportFixture {
  readonly name: string;
  setup(): Promise<TransportEnv>;
}

export interface TransportEnv {
  /** A new, not yet connected transport to the same server/broker (one per bus client). */
  newTransport(): Transport;
  teardown(): Promise<void>;
}

export const memoryFixture: TransportFixture = {
  name: 'memory',
  async setup() {
    const broker = new MemoryBroker();
    return {
      newTransport: () => new MemoryTransport({ broker, validate: true }),
      teardown: async () => {},
    };
  },
};

/** Every transport the shared suite runs on. The NATS fixture is added here by the NATS transport work. */
export const transportFixtures: TransportFixture[] = [memoryFixture];
