import type { SessionInfo } from '../context/call-context.js';

/** Options of one invoke, stream or publish. Session and trace fields default to the ambient call's. */
export interface CallOptions extends SessionInfo {
  /** Milliseconds; never more than what is left of the enclosing call's deadline. */
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
  /** Flow-control window in frames (default: the bus option, 64). */
  window?: number;
}

export interface PublishOptions extends Omit<CallOptions, 'timeout' | 'signal'> {}

export interface SubscribeOptions {
  /** Queue group: one member of the group receives each event. Default: none (fan-out). */
  queue?: string;
}

export interface HandlerOptions {
  /** Queue group; default: the target name, so replicas share the load. */
  queue?: string;
  /** Maximum handler executions in flight for this target on this instance; default unlimited. */
  concurrency?: number;
}
