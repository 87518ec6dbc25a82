import type { BusError } from '../errors/bus-error.js';

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

  /** One request done: `ms` of handler time (undefined: not timed, see sampleNext); `error` when it failed. */
  record(ms: number | undefined, error?: BusError): void {
    this.requests++;
    if (ms !== undefined) {
      this.timed++;
      this.timedMs += ms;
    }
    if (error) {
      this.errors++;
      this.lastError = `${error.code}: ${error.message}`;
    }
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
