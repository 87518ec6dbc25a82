import type { ReorderLimits } from '../caller/reorder-buffer.js';
import type { BusPolicies } from '../resilience/call-policy.js';
import type { DurableEventsOptions } from '../durable/durable-options.js';
import type { BusLogger } from '../runtime/bus-logger.js';
import type { DiscoveryOptions, ResolvedDiscoveryOptions } from './discovery-options.interface.js';

/** How a BusClient is set up; `BusModule` options extend these. */
export interface BusClientOptions {
  /** This agent's id: `from` of everything it sends. */
  agentId: string;
  subjectPrefix?: string;
  /** Tenant scope of subjects (`{prefix}.{tenant}.invoke.*`) and default tenant_id. */
  tenant?: string;
  /** Default invoke timeout (ms). Default 30 000. */
  defaultTimeout?: number;
  /** Default stream timeout (ms), for the whole stream. Default 300 000. */
  defaultStreamTimeout?: number;
  /** Flow-control window a stream consumer grants (frames). Default 256. */
  streamWindow?: number;
  /**
   * Frames a stream consumer buffers unread from a responder WITH flow control (one that ignores its window) before
   * BACKPRESSURE_DROP. Default 4096 (at least twice the window).
   */
  maxBufferedFrames?: number;
  /**
   * Bytes (wire size of the frames) a stream consumer buffers unread from a responder WITHOUT flow control (upstream
   * runtimes: they cannot be slowed down) before BACKPRESSURE_DROP, per stream. Default 33 554 432 (32 MiB).
   */
  maxBufferedBytes?: number;
  /** Limits of the buffer that puts stream frames arriving out of order back in seq order. */
  reorder?: Partial<ReorderLimits>;
  /** How often a responder checks that callers of long calls are still there (ms). Default 5 000. */
  livenessInterval?: number;
  /** Retry, circuit breaker, bulkhead and timeout defaults, per target or for all calls. */
  policies?: BusPolicies;
  /**
   * Send the message of an unexpected handler error (a plain Error, not a BusError/HttpException/RpcException
   * thrown on purpose) to the caller. Default false: the caller gets `internal error (error id …)` and the log
   * line with that id holds the message and stack, so no internal detail reaches another agent or an HTTP client.
   */
  exposeErrors?: boolean;
  /** OpenTelemetry spans and metrics (no-ops without an SDK). Default true. */
  telemetry?: boolean;
  /**
   * An audit trail: one OpenTelemetry log record per invoke or stream this bus serves (caller agent, tenant,
   * user, target, outcome, duration, trace id; never the payload), through the global LoggerProvider
   * (docs/security.md, "Audit trail"). Default false.
   */
  audit?: boolean;
  /**
   * Requests above the NATS server's max_payload go out chunked (docs/PROTOCOL-EXTENSIONS.md §7) only to targets
   * whose responders have shown the `chunk` extension in a reply (`negotiated`, the default): an upstream runtime
   * cannot read a chunked message, so to a target not known to accept one an oversize request fails at once with
   * INVALID_REQUEST. `always`: chunk to every target (every responder is one of ours).
   */
  chunkRequests?: 'negotiated' | 'always';
  /**
   * Events above max_payload go out chunked only with this set (every subscriber is one of ours); by default an
   * oversize publish fails with INVALID_REQUEST, since an upstream subscriber would lose a chunked event.
   */
  chunkEvents?: boolean;
  /**
   * Answer the NATS Services API (`nats micro ls|info|stats`) as a service named after the agent id, with one
   * endpoint per target and per-target statistics, and be listed by `DiscoveryClient`. Default: on over NATS, off
   * on the memory transport (see docs/discovery.md for why); `true`, `false` or DiscoveryOptions.
   */
  discovery?: boolean | DiscoveryOptions;
  /**
   * Targets this agent calls (invoke, stream, task submit), as names or NATS patterns (`worker.*`, `billing.>`):
   * what its generated NATS permissions allow it to call (docs/security.md). Absent: unrestricted, it may call
   * every target. The bus does not check it itself; the NATS server does, with the permissions generated from it.
   */
  calls?: string[];
  /** Event types this agent publishes (names or patterns). Absent: unrestricted, it may publish every event type. */
  publishes?: string[];
  /**
   * Event patterns this agent subscribes to later than at start (a gateway's event routes subscribe when a
   * client asks), so that its permissions cover them. The ones subscribed at start are found by themselves.
   */
  subscribes?: string[];
  /** The durable log of `publish(…, { durable: true })` and durable subscriptions (docs/events.md). Defaults there. */
  durableEvents?: DurableEventsOptions;
  logger?: BusLogger;
}

/** BusClientOptions with every default applied (`bus.options`). */
export type ResolvedBusOptions = Required<
  Omit<
    BusClientOptions,
    'tenant' | 'reorder' | 'logger' | 'subjectPrefix' | 'policies' | 'discovery' | 'calls' | 'publishes' | 'subscribes' | 'durableEvents'
  >
> & {
  calls?: string[];
  publishes?: string[];
  subscribes?: string[];
  policies?: BusPolicies;
  tenant?: string;
  reorder: ReorderLimits;
  /** Absent when discovery is off. */
  discovery?: ResolvedDiscoveryOptions;
  durableEvents?: DurableEventsOptions;
};
