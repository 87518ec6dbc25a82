import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { MemoryTransport } from '../transport/memory/memory-transport.js';
import type { Transport } from '../transport/transport.interface.js';
import type { BusTransportConfig, NatsTransportConfig } from './bus-module-options.interface.js';
import { agentInboxPrefix } from '../security/agent-inbox.js';

/**
 * Builds the transport a BusModule was configured with; `NATS_URL` picks NATS when nothing is configured, with
 * credentials from `NATS_USER`/`NATS_PASS`, `NATS_NKEY_SEED` or `NATS_CREDS`. A NATS transport of an agent gets the
 * inbox prefix `_INBOX.<agent token>` unless one is configured: the prefix its generated permissions allow it alone.
 */
export async function createTransport(
  config: BusTransportConfig | undefined,
  env: NodeJS.ProcessEnv = process.env,
  agentId?: string,
): Promise<Transport> {
  if (config === undefined) {
    const url = env.NATS_URL?.trim();
    return url
      ? createNats({ servers: url.split(',').map((s) => s.trim()), ...natsCredentialsFromEnv(env) }, agentId)
      : new MemoryTransport();
  }
  if (config === 'memory') return new MemoryTransport();
  if (typeof config === 'object' && 'memory' in config) return new MemoryTransport(config.memory);
  if (typeof config === 'object' && 'nats' in config) return createNats(config.nats, agentId);
  if (isTransport(config)) return config;
  throw new BusError(ErrorCodes.INVALID_REQUEST, `unknown bus transport option: ${JSON.stringify(config)}`);
}

async function createNats(options: NatsTransportConfig, agentId?: string): Promise<Transport> {
  // Loaded on demand so memory-only apps never load the NATS client.
  const modulePath = '../transport/nats/nats-transport.js';
  const { NatsTransport } = (await import(modulePath)) as { NatsTransport: new (o: NatsTransportConfig) => Transport };
  if (options.inboxPrefix === undefined && agentId !== undefined) options = { ...options, inboxPrefix: agentInboxPrefix(agentId) };
  return new NatsTransport(options);
}

/** NATS credentials named by the environment (only the variables that are set). */
function natsCredentialsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  const set = (key: string, name: string) => {
    const v = env[name]?.trim();
    if (v) out[key] = v;
  };
  set('user', 'NATS_USER');
  set('pass', 'NATS_PASS');
  set('nkeySeed', 'NATS_NKEY_SEED');
  set('credsFile', 'NATS_CREDS');
  set('token', 'NATS_TOKEN');
  return out;
}

function isTransport(v: unknown): v is Transport {
  return !!v && typeof (v as Transport).publish === 'function' && typeof (v as Transport).subscribe === 'function';
}
