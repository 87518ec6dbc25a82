import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { MemoryTransport } from '../transport/memory/memory-transport.js';
import type { Transport } from '../transport/transport.interface.js';
import type { BusTransportConfig, NatsTransportConfig } from './bus-module-options.interface.js';

/** Builds the transport a BusModule was configured with; `NATS_URL` picks NATS when nothing is configured. */
export async function createTransport(config: BusTransportConfig | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Transport> {
  if (config === undefined) {
    const url = env.NATS_URL?.trim();
    return url ? createNats({ servers: url.split(',').map((s) => s.trim()) }) : new MemoryTransport();
  }
  if (config === 'memory') return new MemoryTransport();
  if (typeof config === 'object' && 'memory' in config) return new MemoryTransport(config.memory);
  if (typeof config === 'object' && 'nats' in config) return createNats(config.nats);
  if (isTransport(config)) return config;
  throw new BusError(ErrorCodes.INVALID_REQUEST, `unknown bus transport option: ${JSON.stringify(config)}`);
}

async function createNats(options: NatsTransportConfig): Promise<Transport> {
  // Loaded on demand so memory-only apps never load the NATS client.
  const modulePath = '../transport/nats/nats-transport.js';
  const { NatsTransport } = (await import(modulePath)) as { NatsTransport: new (o: NatsTransportConfig) => Transport };
  return new NatsTransport(options);
}

function isTransport(v: unknown): v is Transport {
  return !!v && typeof (v as Transport).publish === 'function' && typeof (v as Transport).subscribe === 'function';
}
