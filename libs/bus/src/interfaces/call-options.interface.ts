import type { SessionInfo } from '../context/call-context.js';
import type { CallPolicy } from '../resilience/call-policy.js';
import type { RetryPolicy } from '../resilience/retry-policy.js';
import type { DurableSubscribeOptions } from '../durable/durable-options.js';

/** Options of one invoke, stream or publish. Session and trace fields default to the ambient call's. */
export interface CallOptions extends SessionInfo, CallPolicy {
  /** Milliseconds, retries included; never more than what is left of the enclosing call's deadline. */
  timeout?: number;
  /** Aborting it cancels the call (and the remote handler, when the responder supports cancellation). */
  signal?: AbortSignal;
  traceparent?: string;
  tracestate?: string;
  baggage?: string;
  /** Free-form metadata; keys beginning `acp.` are reserved. */
  metadata?: Record<string, unknown>;
}

export interface StreamOptions extends CallOptions {
  /** Yield the terminal error frame instead of throwing a BusError from the iterator. Default false. */
  yieldErrors?: boolean;
  /** Flow-control window in frames (default: the bus option, 256). */
  window?: number;
  /** Bytes buffered unread from a responder without flow control before BACKPRESSURE_DROP (default: the bus option, 32 MiB). */
  maxBufferedBytes?: number;
}

export type PublishOptions = Omit<CallOptions, 'timeout' | 'signal'> & {
  /** What the event answers or stems from (a bridge sets the outside message's id, as upstream bridges do). */
  correlation_id?: string;
  /**
   * Store the event in the durable log (a JetStream stream, or the memory transport's log) and resolve once it is
   * stored; a repeat of the same event_id within the duplicate window is stored once. Default false (core publish).
   */
  durable?: boolean;
  /**
   * Durable publishes only: the event's id (a UUID) instead of a new one, so a publisher that retries after a crash
   * (an outbox) has its event stored once. Default: a new UUIDv7.
   */
  event_id?: string;
};

export interface SubscribeOptions extends DurableSubscribeOptions {
  /** Queue group: one member of the group receives each event. Default: none (fan-out). */
  queue?: string;
  /**
   * Run a failing handler again (retryable errors only, unless `retryOn` says otherwise). A durable subscription
   * redelivers every failure (only `retryOn` codes, when given) up to `attempts` (default 3), after the policy's backoff.
   */
  retry?: RetryPolicy;
  /** Publish events whose handler failed for good to `{prefix}.dlq.{event_type}`. Default true. */
  deadLetter?: boolean;
}

export interface HandlerOptions {
  /** Queue group; default: the target name, so replicas share the load. */
  queue?: string;
  /** Maximum handler executions in flight for this target on this instance; default unlimited. */
  concurrency?: number;
  /** Longest a handler may run (ms); the caller's deadline still wins when it is earlier. */
  timeout?: number;
  /** Run the handler again on a retryable error (streams: only while no delta has been written). */
  retry?: RetryPolicy;
  /**
   * Streams only: send `started` when the handler calls `writer.started(meta)` (or, at the latest, before its first
   * delta or final frame) instead of before the handler runs, so it can carry what the handler learns first.
   * A handler that fails before that sends its error frame alone, which a caller may retry.
   */
  deferStarted?: boolean;
  /** What the target does: shown by discovery (`nats micro info`, DiscoveryClient, the gateway's agent card). */
  description?: string;
  /** Labels shown by discovery (and as the skill's tags on the gateway's agent card). */
  tags?: string[];
  /**
   * The JSON Schema of the payload, shown by discovery; or a function that makes it, called once, when discovery is
   * first asked. `@Invoke`/`@Stream` methods get it from their `@Payload()` class-validator DTO when not given.
   */
  inputSchema?: Record<string, unknown> | (() => Record<string, unknown> | undefined);
  /**
   * Plumbing of another component, not something to offer users (the gateway's `gateway.peer.*` targets):
   * discovery marks it (`acp.internal`), and user-facing lists (agent card, `/v1/agents`) leave it out.
   */
  internal?: boolean;
  /**
   * The target pattern generated NATS permissions grant for this handler instead of its name, for a target that
   * differs per instance (the gateway's `gateway.peer.<replica>.attach` is `gateway.peer.*.attach`), so one
   * permission set serves every replica (docs/security.md). Default: the target.
   */
  permissionPattern?: string;
}
