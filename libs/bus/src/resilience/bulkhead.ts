import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';

export interface BulkheadOptions {
  /** Calls to the target in flight at once. */
  maxConcurrent: number;
  /** Calls that may wait for a slot; past it, BACKPRESSURE_DROP. Default 0. */
  maxQueue?: number;
}

/** Bounds concurrent calls to one target on the caller side, with a bounded wait queue. */
export class Bulkhead {
  private active = 0;
  private readonly waiting: Array<{ resolve: () => void; reject: (e: unknown) => void; signal?: AbortSignal; onAbort?: () => void }> = [];

  constructor(
    readonly target: string,
    private readonly options: BulkheadOptions,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    if (this.active < this.options.maxConcurrent) {
      this.active++;
      return;
    }
    if (this.waiting.length >= (this.options.maxQueue ?? 0)) {
      throw new BusError(
        ErrorCodes.BACKPRESSURE_DROP,
        `bulkhead for "${this.target}" is full (${this.options.maxConcurrent} in flight, ${this.options.maxQueue ?? 0} queued)`,
        { retryable: true },
      );
    }
    await new Promise<void>((resolve, reject) => {
      const entry: (typeof this.waiting)[number] = { resolve, reject, signal };
      if (signal) {
        entry.onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.waiting.push(entry);
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) {
      if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
      next.resolve();
    } else {
      this.active--;
    }
  }
}
