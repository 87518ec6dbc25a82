import type { CallContext } from '../context/call-context.js';
import { toBusError } from '../errors/to-bus-error.js';
import type { CallOptions } from '../interfaces/call-options.interface.js';
import type { Envelope } from '../protocol/envelope.js';
import { Bulkhead, type BulkheadOptions } from '../resilience/bulkhead.js';
import type { CallPolicy } from '../resilience/call-policy.js';
import { CircuitBreaker, isTargetFailure, type CircuitBreakerOptions } from '../resilience/circuit-breaker.js';
import { resolveRetry, RetryExecutor } from '../resilience/retry-executor.js';
import type { BusRuntime } from '../runtime/bus-runtime.js';
import type { CallTrace } from './call-trace.js';
import { resultOf } from './result-of.js';

/** An invoke over messages as it was made: what each of its tries shares. */
export interface InvokeSpec {
  readonly target: string;
  readonly payload: unknown;
  readonly options: CallOptions;
  readonly ctx: CallContext | undefined;
  readonly tracing: CallTrace | undefined;
  /** Resolve with the result (as `resultOf` reads it) instead of the reply envelope. */
  readonly unwrap: boolean;
}

/** One try of an invoke over messages, resolving with its reply envelope (`attempt` 0 without a retry policy). */
export type InvokeAttempt = (spec: InvokeSpec, deadline: number, attempt: number) => Promise<unknown>;

/**
 * Invokes under a call policy: each try passes the target's circuit breaker and waits for a bulkhead slot, and
 * failed tries are retried by the bus's retry executor within the call's deadline.
 */
export class ResilientInvoker {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly bulkheads = new Map<string, Bulkhead>();

  constructor(
    private readonly rt: BusRuntime,
    private readonly attempt: InvokeAttempt,
  ) {}

  async invoke(spec: InvokeSpec, deadline: number, policy: CallPolicy): Promise<unknown> {
    const { target, options, ctx, tracing } = spec;
    // Each try resolves with the envelope; the result is read from the last one.
    const attemptSpec: InvokeSpec = spec.unwrap ? { ...spec, unwrap: false } : spec;
    const retryPolicy = resolveRetry(policy.retry);
    const breaker = policy.circuitBreaker ? this.breakerFor(target, policy.circuitBreaker) : undefined;
    const bulkhead = policy.bulkhead ? this.bulkheadFor(target, policy.bulkhead) : undefined;
    const once = async (attempt: number): Promise<Envelope> => {
      let admitted = false;
      try {
        breaker?.acquire();
        admitted = true;
        if (bulkhead) await bulkhead.acquire(waitSignal(deadline, options.signal, ctx?.signal));
        let reply: Envelope;
        try {
          const tryDeadline = retryPolicy?.attemptTimeout ? Math.min(deadline, Date.now() + retryPolicy.attemptTimeout) : deadline;
          reply = (await this.attempt(attemptSpec, tryDeadline, retryPolicy ? attempt : 0)) as Envelope;
        } finally {
          bulkhead?.release();
        }
        breaker?.record(true);
        return reply;
      } catch (e) {
        const err = toBusError(e);
        if (admitted) breaker?.record(false, isTargetFailure(err));
        throw err;
      }
    };
    let reply: Envelope;
    if (!retryPolicy) reply = await once(1);
    else {
      const outcome = await new RetryExecutor(retryPolicy, this.rt.stats).run(once, {
        deadline,
        signal: options.signal ?? ctx?.signal,
        stop: () => !!(options.signal?.aborted || ctx?.signal.aborted),
        onRetry: (err, next, delay) =>
          tracing?.span.addEvent('retry', { 'acp.attempt': next, 'acp.error.code': err.code, 'acp.backoff_ms': delay }),
      });
      if (!outcome.ok) throw outcome.error;
      reply = outcome.value;
    }
    return spec.unwrap ? resultOf(reply) : reply;
  }

  /** The caller-side circuit breaker of a target (created with the first options seen). */
  breakerFor(target: string, options: CircuitBreakerOptions = {}): CircuitBreaker {
    let b = this.breakers.get(target);
    if (!b) this.breakers.set(target, (b = new CircuitBreaker(target, options)));
    return b;
  }

  bulkheadFor(target: string, options: BulkheadOptions): Bulkhead {
    let b = this.bulkheads.get(target);
    if (!b) this.bulkheads.set(target, (b = new Bulkhead(target, options)));
    return b;
  }
}

// Waiting for a bulkhead slot ends at the deadline or when the call is aborted.
function waitSignal(deadline: number, ...signals: Array<AbortSignal | undefined>): AbortSignal {
  const timeout = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
  return AbortSignal.any([timeout, ...signals.filter((s): s is AbortSignal => !!s)]);
}
