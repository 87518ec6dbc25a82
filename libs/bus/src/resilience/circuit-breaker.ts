import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';

export interface CircuitBreakerOptions {
  /** Failure ratio over the window that opens the circuit. Default 0.5. */
  failureRatio?: number;
  /** Calls the window must hold before the ratio counts. Default 10. */
  minimumCalls?: number;
  /** Rolling window (ms). Default 10 000. */
  window?: number;
  /** How long the circuit stays open before a half-open probe (ms). Default 5 000. */
  openFor?: number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * A per-target circuit breaker on the caller side: it counts outcomes in a rolling window, opens when the
 * failure ratio is reached, fails fast while open with a retryable AGENT_UNAVAILABLE, and lets one probe
 * through when `openFor` has passed (half-open): success closes it, failure opens it again.
 * Only failures that say something about the target count (timeouts, unavailable, transport, backpressure).
 */
export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private openedAt = 0;
  private probing = false;
  private events: Array<{ at: number; ok: boolean }> = [];
  private readonly opts: Required<CircuitBreakerOptions>;

  constructor(
    readonly target: string,
    options: CircuitBreakerOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.opts = { failureRatio: 0.5, minimumCalls: 10, window: 10_000, openFor: 5_000, ...options };
  }

  get currentState(): CircuitState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.opts.openFor) return 'half-open';
    return this.state;
  }

  /** Throws AGENT_UNAVAILABLE when the call may not go through; otherwise reserves the (half-open) probe. */
  acquire(): void {
    const state = this.currentState;
    if (state === 'closed') return;
    if (state === 'half-open' && !this.probing) {
      this.state = 'half-open';
      this.probing = true;
      return;
    }
    throw new BusError(ErrorCodes.AGENT_UNAVAILABLE, `circuit for "${this.target}" is open`, {
      retryable: true,
      cause: { circuit: 'open' },
    });
  }

  record(ok: boolean, countsAsFailure = !ok): void {
    const t = this.now();
    if (this.state === 'half-open') {
      this.probing = false;
      if (ok || !countsAsFailure) {
        this.state = 'closed';
        this.events = [];
      } else {
        this.open(t);
      }
      return;
    }
    if (!ok && !countsAsFailure) return;
    this.events.push({ at: t, ok });
    const from = t - this.opts.window;
    while (this.events.length > 0 && this.events[0].at < from) this.events.shift();
    if (this.state === 'closed' && this.events.length >= this.opts.minimumCalls) {
      const failures = this.events.reduce((n, e) => n + (e.ok ? 0 : 1), 0);
      if (failures / this.events.length >= this.opts.failureRatio) this.open(t);
    }
  }

  private open(at: number): void {
    this.state = 'open';
    this.openedAt = at;
    this.events = [];
  }
}

const TARGET_FAILURES = new Set<string>([
  ErrorCodes.AGENT_TIMEOUT,
  ErrorCodes.AGENT_UNAVAILABLE,
  ErrorCodes.TRANSPORT_FAILURE,
  ErrorCodes.BACKPRESSURE_DROP,
  ErrorCodes.NO_HANDLER,
]);

/** Whether an error says the target is unhealthy (a bad request or auth failure does not). */
export function isTargetFailure(err: BusError): boolean {
  return TARGET_FAILURES.has(err.code) && err.details?.reason !== 'cancelled';
}
