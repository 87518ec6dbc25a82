import type { TransportSubscription } from '../transport/transport.interface.js';
import type { RetryExecutor } from '../resilience/retry-executor.js';
import type { InvokeHandler, StreamHandler } from '../interfaces/handler.interface.js';
import type { EndpointCounters } from '../discovery/endpoint-counters.js';
import type { ServedEndpoint, TargetAbout } from '../discovery/served-endpoint.js';

/**
 * A handler registered on a responder, with its options and the executions it has in flight; discovery reads it
 * as a ServedEndpoint.
 */
export interface Registration extends ServedEndpoint {
  readonly target: string;
  readonly kind: 'invoke' | 'stream';
  /** The invoke subject it is subscribed on, and its queue group. */
  readonly subject: string;
  readonly queue: string;
  /** Description, tags, input schema, internal: what discovery shows. */
  readonly about: TargetAbout;
  /** Requests, errors and handler time of this target; kept only with discovery on. */
  readonly counters?: EndpointCounters;
  readonly handler: InvokeHandler | StreamHandler;
  readonly concurrency: number;
  readonly timeout?: number;
  /** Handler-side retries, when the handler was registered with a retry policy. */
  readonly retry?: RetryExecutor;
  readonly deferStarted: boolean;
  active: number;
  subs: TransportSubscription[];
  /** False once unsubscribed or its responder stopped. */
  live: boolean;
}
