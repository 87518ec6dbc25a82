import type { StreamCall } from '../caller/stream-call.js';
import type { BusSubscription } from '../interfaces/bus-subscription.interface.js';
import type { CallOptions, PublishOptions, StreamOptions, SubscribeOptions } from '../interfaces/call-options.interface.js';
import type { EventHandler } from '../interfaces/handler.interface.js';
import type { Envelope } from '../protocol/envelope.js';

/**
 * What the orchestration helpers need from a bus: its public API, nothing internal. `BusClient` is one; the helpers
 * call it exactly as an application would, so every branch and every handoff is an ordinary acp/1.0 call with the
 * bus's own deadlines, cancellation, tracing and metrics.
 */
export interface OrchestrationHost {
  readonly agentId: string;
  readonly options: { readonly telemetry: boolean };
  invoke<R = unknown>(target: string, payload?: unknown, options?: CallOptions): Promise<R>;
  stream(target: string, payload?: unknown, options?: StreamOptions): StreamCall;
  publish(eventType: string, payload?: unknown, options?: PublishOptions): Promise<Envelope>;
  subscribe<P = unknown>(pattern: string, handler: EventHandler<P>, options?: SubscribeOptions): BusSubscription;
}
