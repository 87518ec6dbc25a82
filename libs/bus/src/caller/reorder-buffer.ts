import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { Envelope } from '../protocol/envelope.js';

export interface ReorderLimits {
  /** Frames held while waiting for a gap to fill (upstream: 256). */
  maxPending: number;
  /** Largest distance ahead of the next expected seq that is accepted (upstream: 1024). */
  maxGap: number;
}

export const DEFAULT_REORDER_LIMITS: ReorderLimits = { maxPending: 256, maxGap: 1024 };

/**
 * Puts stream frames back in `seq` order, drops duplicates, and bounds what it holds: a frame too far ahead
 * or too many frames waiting is BACKPRESSURE_DROP, as in the upstream runtimes.
 */
export class ReorderBuffer {
  /** Frames ahead of a gap; made on the first one (in-order streams, the usual case, never need it). */
  private pending?: Map<number, Envelope>;

  constructor(
    private readonly limits: ReorderLimits = DEFAULT_REORDER_LIMITS,
    /** The seq of the next frame in order (a stream makes its buffer on its first frame out of order). */
    private expected = 0,
  ) {}

  /** Accepts a frame and returns the frames now deliverable in order (possibly none). Throws BusError on overflow. */
  accept(frame: Envelope): Envelope[] {
    const seq = frame.seq ?? 0;
    const pending = this.pending;
    if (seq < this.expected || pending?.has(seq)) return NONE;
    if (seq === this.expected) {
      this.expected++;
      if (!pending || pending.size === 0) return [frame];
      const out = [frame];
      let next = pending.get(this.expected);
      while (next) {
        pending.delete(this.expected);
        out.push(next);
        this.expected++;
        next = pending.get(this.expected);
      }
      return out;
    }
    if (seq - this.expected > this.limits.maxGap) {
      throw new BusError(
        ErrorCodes.BACKPRESSURE_DROP,
        `stream frame seq ${seq} is more than ${this.limits.maxGap} ahead of ${this.expected}`,
      );
    }
    if (pending && pending.size >= this.limits.maxPending) {
      throw new BusError(ErrorCodes.BACKPRESSURE_DROP, `more than ${this.limits.maxPending} out-of-order stream frames pending`);
    }
    (this.pending ??= new Map()).set(seq, frame);
    return NONE;
  }

  get nextExpected(): number {
    return this.expected;
  }

  get pendingCount(): number {
    return this.pending?.size ?? 0;
  }
}

const NONE: Envelope[] = [];
