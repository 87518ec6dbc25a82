import type { MemoryTransportOptions } from '../transport/memory/memory-transport.js';
import type { Transport } from '../transport/transport.interface.js';
import type { BusPolicies } from '../resilience/call-policy.js';

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

export interface BusModuleOptions {
  /** This agent's id (`from` of everything it sends). Required. */
  agentId: string;
  transport?: BusTransportConfig;
  /** Subject prefix; default `acp.v1`. */
  subjectPrefix?: string;
  /** Tenant scope of subjects and default tenant_id. */
  tenant?: string;
  /** Default invoke timeout (ms); default 30 000. */
  defaultTimeout?: number;
  /** Default stream timeout (ms); default 300 000. */
  defaultStreamTimeout?: number;
  /** Flow-control window of stream consumers (frames); default 256. */
  streamWindow?: number;
  /** Caller liveness probe interval for long calls (ms); default 5 000. */
  livenessInterval?: number;
  /** Retry, circuit breaker, bulkhead and timeout for calls this app makes, per target or as defaults. */
  policies?: BusPolicies;
  /** OpenTelemetry spans and metrics (free without an SDK). Default true. */
  telemetry?: boolean;
}
