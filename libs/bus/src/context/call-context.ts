import { AsyncLocalStorage } from 'node:async_hooks';
import type { Envelope } from '../protocol/envelope.js';

/** Session fields of a call, as they travel in the envelope. */
export interface SessionInfo {
  session_id?: string;
  conversation_id?: string;
  tenant_id?: string;
  user_id?: string;
  channel?: string;
}

/** Trace context carried beside the session (W3C). */
export interface TraceInfo {
  trace_id?: string;
  span_id?: string;
  traceparent?: string;
  tracestate?: string;
  baggage?: string;
}

/** What a handler runs inside: the inbound envelope, its deadline and the signal that aborts it. */
export interface CallContext {
  readonly envelope: Envelope;
  /** The invoke/stream target or the event subscription pattern being served. */
  readonly target: string;
  readonly kind: 'invoke' | 'stream' | 'event' | 'task';
  /** Aborted at the deadline, on cancellation by the caller, or when the caller is gone. */
  readonly signal: AbortSignal;
  /** Absolute deadline (epoch ms), if the call has one. */
  readonly deadline?: number;
  readonly session: Readonly<SessionInfo>;
  readonly trace: Readonly<TraceInfo>;
}

/**
 * The ambient call context. Nested invoke/stream/publish calls read it to inherit session, trace, deadline and
 * cancellation; BusSession exposes it to injectable services. One store per process, like nestjs-cls.
 */
export const callContextStorage = new AsyncLocalStorage<CallContext>();

export function currentCallContext(): CallContext | undefined {
  return callContextStorage.getStore();
}
