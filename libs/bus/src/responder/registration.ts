import type { TransportSubscription } from '../transport/transport.interface.js';
import type { RetryExecutor } from '../resilience/retry-executor.js';
import type { InvokeHandler, StreamHandler } from '../interfaces/handler.interface.js';

/** A handler registered on a responder, with its options and the executions it has in flight. */
export interface Registration {
  readonly target: string;
  readonly kind: 'invoke' | 'stream';
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
