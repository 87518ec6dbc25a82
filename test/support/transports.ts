import { MemoryBroker, MemoryTransport, NatsTransport, type Transport } from '@openagentio/nestjs';
import { NatsServer } from './nats-server.js';

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

/** A nats-server of its own (started with `options`) on a free loopback port; every transport a separate connection. */
function natsServerFixture(name: string, options: Parameters<typeof NatsServer.start>[0] = {}): TransportFixture {
  return {
    name,
    async setup() {
      const server = await NatsServer.start(options);
      const made: NatsTransport[] = [];
      return {
        newTransport: () => {
          const t = new NatsTransport({ servers: server.url, reconnectTimeWait: 100, timeout: 2000 });
          made.push(t);
          return t;
        },
        // Connections a test left open would otherwise try to reconnect to the dead server for ever.
        teardown: async () => {
          await Promise.all(made.map((t) => t.close().catch(() => undefined)));
          await server.stop();
        },
      };
    },
  };
}

export const natsFixture: TransportFixture = natsServerFixture('nats');

/**
 * The memory transport as apps use it by default: object copies (jsonClone) instead of validated JSON text, and
 * invokes to a handler in the process as direct calls (DirectCall) instead of messages.
 */
export const memoryCopyFixture: TransportFixture = {
  name: 'memory (object copies, direct calls)',
  async setup() {
    const broker = new MemoryBroker();
    return {
      newTransport: () => new MemoryTransport({ broker, validate: false }),
      teardown: async () => {},
    };
  },
};

/** Every transport the shared suite runs on. */
export const transportFixtures: TransportFixture[] = [memoryFixture, memoryCopyFixture, natsFixture];

/** NATS with JetStream on (a store directory of its own): the durable events suite runs here and on memory. */
export const jetstreamFixture: TransportFixture = natsServerFixture('nats + jetstream', { jetstream: true });

/** Every transport the durable events suite runs on: both memory forms and JetStream. */
export const durableFixtures: TransportFixture[] = [memoryFixture, memoryCopyFixture, jetstreamFixture];
