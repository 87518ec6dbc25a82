import type { TransportSubscription } from '../transport/transport.interface.js';
import type { DEFAULT_RETRY, RetryPolicy } from '../resilience/retry-policy.js';
import type { InvokeHandler, StreamHandler } from './responder.js';

/** A handler registered on a responder, with its options and the executions it has in flight. */
export interface Registration {
  readonly target: string;
  readonly kind: 'invoke' | 'stream';
  readonly handler: InvokeHandler | StreamHandler;
  readonly concurrency: number;
  readonly timeout?: number;
  readonly retry?: typeof DEFAULT_RETRY & RetryPolicy;
  readonly deferStarted: boolean;
  active: number;
  subs: TransportSubscription[];
  /** False once unsubscribed or its responder stopped. */
  live: boolean;
}
