import type { MemoryTransportOptions } from '../transport/memory/memory-transport.js';
import type { Transport } from '../transport/transport.interface.js';
import type { BusClientOptions } from '../interfaces/bus-client-options.interface.js';

/** NATS connection settings (see NatsTransportOptions for every field). */
export interface NatsTransportConfig {
  servers: string | string[];
  [option: string]: unknown;
}

/**
 * Which transport the bus runs on:
 * - `'memory'` (default): the embedded in-process transport, no server needed;
 * - `{ memory: { broker } }`: memory with a given broker;
 * - `{ nats: { servers, … } }`: NATS;
 * - a Transport instance of your own.
 * Without a `transport` option, `NATS_URL` in the environment selects NATS.
 */
export type BusTransportConfig = 'memory' | { memory: MemoryTransportOptions } | { nats: NatsTransportConfig } | Transport;

/**
 * BusModule's options: every BusClientOptions field (the bus's own; `logger` defaults to Nest's Logger), plus
 * which transport to run on.
 */
export interface BusModuleOptions extends BusClientOptions {
  transport?: BusTransportConfig;
}
