import type { BusError } from '../errors/bus-error.js';
import { latencyBucket, LATENCY_BUCKETS } from './latency-buckets.js';

/** Requests and errors of one caller agent (the request's `from`) on one target. */
export interface CallerCount {
  requests: number;
  errors: number;
}

/** Distinct callers counted per target; later ones share one entry (`*`), so a flood of ids costs no memory. */
export const MAX_CALLERS = 32;

/**
 * What one target's responder counted, for `$SRV.STATS`: requests taken off its subject (answered, refused or
 * invalid), those that ended in an error the handler is to blame for (a caller's cancellation is not one), the last
 * such error, and the time handlers ran. Only kept with discovery on; a request costs a few additions.
 */
export class EndpointCounters {
  requests = 0;
  errors = 0;
  /** `CODE: message` of the last error, empty before the first. */
  lastError = '';
  /** Handler time of the requests that were timed (ms, sub-millisecond precision), and how many were. */
  timedMs = 0;
  timed = 0;
  /** Timed requests per latency bucket (latency-buckets.ts): the console's p50/p99 come from their differences. */
  readonly latency = new Uint32Array(LATENCY_BUCKETS);
  /** Requests per caller agent, where the request names one (`from`): the console's invocation edges. */
  readonly callers = new Map<string, CallerCount>();

  /**
   * One request done: `ms` of handler time (undefined: not timed, see sampleNext); `error` when it failed; `from`
   * the caller's agent id, when known.
   */
  record(ms: number | undefined, error?: BusError, from?: string): void {
    this.requests++;
    if (ms !== undefined) {
      this.timed++;
      this.timedMs += ms;
      this.latency[latencyBucket(ms)]++;
    }
    if (error) {
      this.errors++;
      this.lastError = `${error.code}: ${error.message}`;
    }
    if (from !== undefined) {
      let c = this.callers.get(from);
      if (c === undefined) {
        if (this.callers.size < MAX_CALLERS) this.callers.set(from, (c = { requests: 0, errors: 0 }));
        else c = this.other();
      }
      c.requests++;
      if (error) c.errors++;
    }
  }

  /**
   * The STATS endpoint's `data` (ADR-32 leaves it to the service): the latency histogram as `[bucket, count]` pairs
   * of the non-empty buckets, and `[requests, errors]` per caller.
   */
  data(): { acp_latency: Array<[number, number]>; acp_callers: Record<string, [number, number]> } {
    const acp_latency: Array<[number, number]> = [];
    for (let i = 0; i < this.latency.length; i++) if (this.latency[i] > 0) acp_latency.push([i, this.latency[i]]);
    const acp_callers: Record<string, [number, number]> = {};
    for (const [id, c] of this.callers) acp_callers[id] = [c.requests, c.errors];
    return { acp_latency, acp_callers };
  }

  private other(): CallerCount {
    let c = this.callers.get('*');
    if (c === undefined) {
      c = { requests: 0, errors: 0 };
      this.callers.set('*', c);
    }
    return c;
  }

  /**
   * Whether to time the next request where two clock reads are a noticeable part of it (an in-process direct call
   * takes about 1 µs, the reads about a tenth of that): each of a target's first 256 requests, then one in 16.
   * Requests over the network are all timed.
   */
  get sampleNext(): boolean {
    return this.requests < 256 || (this.requests & 15) === 0;
  }

  /** Total handler time (ms): as measured when every request was timed, else the timed ones' average × requests. */
  get processingMs(): number {
    if (this.timed === 0) return 0;
    return this.timed === this.requests ? this.timedMs : (this.timedMs / this.timed) * this.requests;
  }
}
