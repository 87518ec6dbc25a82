import type { SupervisionOptions } from './supervision-options.interface.js';
import { ErrorCodes, type BusClient, type BusLogger } from '@openagentio/nestjs';
import { BridgeError } from '../errors/bridge-error.js';

/** Health a bridge reports; the bridge module aggregates it for the health indicator. */
export type BridgeHealthStatus = 'starting' | 'healthy' | 'degraded' | 'unhealthy' | 'stopped';

export interface BridgeHealth {
  status: BridgeHealthStatus;
  lastError?: string;
  restarts: number;
  /** Free-form details (connected peer, targets served, …). */
  details?: Record<string, unknown>;
}

/** What a bridge gets when it starts: the connected bus and a logger. */
export interface BridgeContext {
  readonly bus: BusClient;
  readonly logger: BusLogger;
  /**
   * Call when the outside peer fails while running (connection lost, process exited). Supervision stops the
   * bridge and starts it again with exponential backoff and jitter, within the restart budget.
   */
  readonly reportFailure: (error: Error) => void;
  /**
   * For bridges that ride out a peer's outage themselves (retrying without a restart, so nothing they hold is
   * lost): `degraded` while the peer is unreachable, `healthy` once it answers again. Optional for callers that
   * build a context by hand.
   */
  readonly reportHealth?: (status: 'degraded' | 'healthy', error?: Error) => void;
}

/**
 * A bridge maps an outside protocol onto the bus (MCP tools, OpenAI-compatible endpoints, Matrix rooms, …).
 * A custom bridge is a class implementing this interface, registered by type with the bridge module.
 *
 * - `start` connects to the peer and registers bus handlers/subscriptions. Throw `PermanentBridgeError` for
 *   what retrying cannot fix (bad config, bad credentials); any other error is retried with backoff.
 * - `stop` releases everything `start` created (handlers, subscriptions, connections, child processes).
 */
export interface Bridge {
  readonly name: string;
  readonly type: string;
  start(ctx: BridgeContext): Promise<void>;
  stop(): Promise<void>;
  /** Optional extra details merged into health. */
  describe?(): Record<string, unknown>;
  /** Optional restart policy of this bridge, over the module's `supervision` option. */
  readonly supervision?: SupervisionOptions;
}

/** An error supervision does not retry: fix the configuration or credentials instead. */
export class PermanentBridgeError extends BridgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.AGENT_UNAVAILABLE, message, options);
    this.name = 'PermanentBridgeError';
  }
}

/** One entry of an upstream bridge configuration document (`version: openagentio.bridge/v1`, docs/protocol.md §6). */
export interface BridgeDefinition {
  name: string;
  type: string;
  config: Record<string, unknown>;
  /**
   * Mapping hints (upstream's `BridgeMappings`: `target_prefix`, `event_prefix`, `session_strategy`, …), as a
   * key/value map. A document may write them as a map (upstream's way) or as a list of maps, which are merged.
   */
  mappings?: Record<string, unknown>;
}

/** Builds a bridge from its definition; registered per bridge type. */
export type BridgeFactory = (definition: BridgeDefinition) => Bridge;
