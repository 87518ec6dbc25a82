import type { BulkheadOptions } from './bulkhead.js';
import type { CircuitBreakerOptions } from './circuit-breaker.js';
import type { RetryPolicy } from './retry-policy.js';

/**
 * Resilience settings of calls to a target. They come from, in order of precedence: the call's options, the
 * target's entry in `policies.targets`, and `policies.defaults`. The remaining deadline of an enclosing call
 * always wins over any timeout.
 */
export interface CallPolicy {
  /** Timeout (ms) of the whole call, retries included. */
  timeout?: number;
  /** `false` disables retries set at a wider level. */
  retry?: RetryPolicy | false;
  circuitBreaker?: CircuitBreakerOptions | false;
  bulkhead?: BulkheadOptions | false;
}

export interface BusPolicies {
  defaults?: CallPolicy;
  /** Per target (exact name). */
  targets?: Record<string, CallPolicy>;
}

/** Whether a call under `policy` needs the resilient path (a retry, a circuit breaker or a bulkhead). */
export function needsResilience(policy: CallPolicy | undefined): boolean {
  return !!policy && (!!policy.retry || !!policy.circuitBreaker || !!policy.bulkhead);
}

export function resolvePolicy(policies: BusPolicies | undefined, target: string, call: CallPolicy): CallPolicy {
  const d = policies?.defaults ?? {};
  const t = policies?.targets?.[target] ?? {};
  return {
    timeout: call.timeout ?? t.timeout ?? d.timeout,
    retry: call.retry ?? t.retry ?? d.retry,
    circuitBreaker: call.circuitBreaker ?? t.circuitBreaker ?? d.circuitBreaker,
    bulkhead: call.bulkhead ?? t.bulkhead ?? d.bulkhead,
  };
}
