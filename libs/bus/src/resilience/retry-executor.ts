import type { BusError } from '../errors/bus-error.js';
import { toBusError } from '../errors/to-bus-error.js';
import { abortableSleep } from '../timers/abortable-sleep.js';
import { DEFAULT_RETRY, retryDelay, shouldRetry, type RetryPolicy } from './retry-policy.js';

/** A retry policy with its defaults applied. */
export type ResolvedRetryPolicy = typeof DEFAULT_RETRY & RetryPolicy;

export function resolveRetry(policy: RetryPolicy | false | undefined): ResolvedRetryPolicy | undefined {
  return policy ? { ...DEFAULT_RETRY, ...policy } : undefined;
}

/** How a run of attempts ended: the value, or the last error (as a BusError and as thrown) after `attempts` tries. */
export type RetryOutcome<T> = { ok: true; value: T; attempts: number } | { ok: false; error: BusError; cause: unknown; attempts: number };

export interface RetryRunOptions {
  /** No retry starts whose backoff would end at or after this time (epoch ms). */
  deadline?: number;
  /** Aborting stops the run: no further attempt, and a backoff in progress ends. */
  signal?: AbortSignal;
  /** Also stops the run (no further attempt) when it returns true. */
  stop?: () => boolean;
  /** An attempt that already failed before the run (the run then starts with its retry). */
  firstFailure?: unknown;
  /** Called before each retry's backoff. */
  onRetry?: (error: BusError, nextAttempt: number, delay: number) => void;
}

/**
 * The one rule for retries on this bus (invokes and streams on the caller, handlers on the responder, event
 * subscribers): which failures are tried again, after which backoff, and never past the deadline or an abort.
 * Streams, which retry from a timer, ask `nextDelay`; the others run their attempts through `run`.
 */
export class RetryExecutor {
  constructor(
    readonly policy: ResolvedRetryPolicy,
    private readonly counter?: { retries: number },
  ) {}

  /** The backoff before the attempt after `attempt` failed with `error`, or undefined when there is none. */
  nextDelay(error: BusError, attempt: number, deadline = Infinity): number | undefined {
    if (attempt >= this.policy.attempts || !shouldRetry(error, this.policy)) return undefined;
    const delay = retryDelay(attempt + 1, this.policy);
    return Date.now() + delay >= deadline ? undefined : delay;
  }

  /** Counts a retry that is about to happen (the bus's `retries` stat). */
  counted(): void {
    if (this.counter) this.counter.retries++;
  }

  /** Runs `attempt` (1 for the first try) until it succeeds or the policy gives up; never rejects. */
  async run<T>(attempt: (n: number) => T | Promise<T>, options: RetryRunOptions = {}): Promise<RetryOutcome<T>> {
    let n = 1;
    let cause: unknown = options.firstFailure;
    let failed = 'firstFailure' in options;
    for (;;) {
      if (!failed) {
        try {
          return { ok: true, value: await attempt(n), attempts: n };
        } catch (err) {
          cause = err;
        }
      }
      failed = false;
      const error = toBusError(cause);
      const delay = options.signal?.aborted || options.stop?.() ? undefined : this.nextDelay(error, n, options.deadline);
      if (delay === undefined) return { ok: false, error, cause, attempts: n };
      this.counted();
      options.onRetry?.(error, n + 1, delay);
      try {
        await abortableSleep(delay, options.signal);
      } catch {
        return { ok: false, error, cause, attempts: n };
      }
      n++;
    }
  }
}
