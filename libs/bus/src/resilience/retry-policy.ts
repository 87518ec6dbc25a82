import type { BusError } from '../errors/bus-error.js';
import type { ErrorCode } from '../errors/error-codes.js';
import { backoffDelay } from './backoff.js';

/** Retry with exponential backoff and full jitter. */
export interface RetryPolicy {
  /** Total tries, the first included. Default 3. */
  attempts?: number;
  /** First backoff (ms). Default 50. */
  initialDelay?: number;
  /** Largest backoff (ms). Default 2 000. */
  maxDelay?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Retry only these codes; default: any error whose `retryable` flag is set. */
  retryOn?: ErrorCode[];
  /**
   * Timeout of each try (ms), within the call's deadline: a request lost with a failed server then times out
   * (AGENT_TIMEOUT, retryable) in time for another try. Default: none (each try may use all the time left).
   */
  attemptTimeout?: number;
}

export const DEFAULT_RETRY: Required<Omit<RetryPolicy, 'retryOn' | 'attemptTimeout'>> = {
  attempts: 3,
  initialDelay: 50,
  maxDelay: 2000,
  factor: 2,
};

export function shouldRetry(err: BusError, policy: RetryPolicy): boolean {
  return policy.retryOn ? policy.retryOn.includes(err.code) : err.retryable;
}

/** Backoff before attempt `attempt` (2 = the first retry): a random delay between half and all of the exponential cap. */
export function retryDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const curve = {
    initial: policy.initialDelay ?? DEFAULT_RETRY.initialDelay,
    factor: policy.factor ?? DEFAULT_RETRY.factor,
    max: policy.maxDelay ?? DEFAULT_RETRY.maxDelay,
  };
  return backoffDelay(attempt - 2, curve, [0.5, 1], random);
}
