import type { OrchestrationHost } from './orchestration-host.js';
import type { ParallelBranch } from './parallel-branch.js';
import type { ParallelEvent, ParallelOptions, ParallelResult } from './parallel-options.js';
import { ParallelRun } from './parallel-run.js';

/** Events queued for the consumer beyond which a streaming branch waits (and so, through flow control, its agent). */
const HIGH_WATER = 64;

/**
 * A fan-out read as it happens: each branch's `start`, its stream deltas interleaved as they arrive (each tagged
 * with its branch), and its `end` with its outcome. Iteration ends when the outcome is decided; `result()` gives it
 * (and throws a ParallelError as `bus.parallel` does). Leaving the loop early cancels every branch. The branches
 * start with the first read (or `result()`), in the call context of that read.
 *
 * @example
 * const fan = bus.parallelStream([{ stream: 'writer.en', payload }, { stream: 'writer.fr', payload }]);
 * for await (const ev of fan) if (ev.type === 'delta') console.log(ev.branch, ev.delta);
 * const { branches } = await fan.result();
 */
export class ParallelStream<T = unknown> implements AsyncIterableIterator<ParallelEvent<T>> {
  private readonly run: ParallelRun<T>;
  private outcome?: Promise<ParallelResult<T>>;
  private queue: ParallelEvent<T>[] = [];
  private waiter?: () => void;
  private space?: { promise: Promise<void>; release: () => void };
  private finished = false;
  private failure?: unknown;
  private discard = false;

  constructor(host: OrchestrationHost, branches: readonly ParallelBranch[], options: ParallelOptions = {}) {
    this.run = new ParallelRun<T>(host, branches, options, (ev) => this.push(ev));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ParallelEvent<T>>> {
    this.start();
    for (;;) {
      if (this.queue.length > 0) {
        const value = this.queue.shift()!;
        if (this.space && this.queue.length <= HIGH_WATER / 2) this.releaseSpace();
        return { value, done: false };
      }
      if (this.finished) {
        if (this.failure !== undefined) {
          const f = this.failure;
          this.failure = undefined;
          throw f;
        }
        return { value: undefined, done: true };
      }
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  /** Leaving a for-await loop early: every branch still running is cancelled. */
  async return(): Promise<IteratorResult<ParallelEvent<T>>> {
    this.cancel('consumer stopped reading');
    this.finished = true;
    this.failure = undefined;
    this.queue = [];
    return { value: undefined, done: true };
  }

  /** Cancels every branch still running; the fan-out rejects with the cancellation. */
  cancel(reason: unknown = 'cancelled'): void {
    this.start();
    this.run.cancel(reason);
  }

  /** The outcome (what `bus.parallel` resolves with); events not read yet are dropped. */
  result(): Promise<ParallelResult<T>> {
    this.start();
    this.discard = true;
    this.queue = [];
    this.releaseSpace();
    return this.outcome!;
  }

  private start(): void {
    if (this.outcome) return;
    try {
      this.outcome = this.run.start();
    } catch (err) {
      this.outcome = Promise.reject(err);
    }
    this.outcome.then(
      () => this.end(undefined),
      (err: unknown) => this.end(err),
    );
  }

  private end(err: unknown): void {
    this.finished = true;
    this.failure = err;
    this.wake();
  }

  private push(ev: ParallelEvent<T>): Promise<void> | undefined {
    if (this.discard) return undefined;
    this.queue.push(ev);
    this.wake();
    if (ev.type !== 'delta' || this.queue.length < HIGH_WATER) return undefined;
    if (!this.space) {
      let release!: () => void;
      const promise = new Promise<void>((r) => (release = r));
      this.space = { promise, release };
    }
    return this.space.promise;
  }

  private releaseSpace(): void {
    const s = this.space;
    this.space = undefined;
    s?.release();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
