import { BusError } from './bus-error.js';
import { ErrorCodes } from './error-codes.js';

/**
 * What `invoke` and `stream` reject with when the caller aborts its own call (its `signal`, or the signal of
 * the handler it calls from). Its `name` is `'AbortError'`, as for `fetch` and Node's own APIs, so code that
 * already tells "I stopped it" from "it failed" by name keeps working; `reason` is the signal's reason. It is
 * still a BusError (AGENT_UNAVAILABLE, not retryable, `cause.reason = 'cancelled'`) so that it keeps its acp/1.0
 * shape wherever it is sent on.
 *
 * @example
 * const ac = new AbortController();
 * const answer = bus.invoke('weather.forecast', { city: 'Oslo' }, { signal: ac.signal });
 * ac.abort();
 * await answer.catch((e) => (e.name === 'AbortError' ? undefined : Promise.reject(e)));
 */
export class CallAbortedError extends BusError {
  /** The abort reason the signal carried. */
  readonly reason: unknown;

  constructor(message: string, reason: unknown) {
    super(ErrorCodes.AGENT_UNAVAILABLE, message, { retryable: false, cause: { reason: 'cancelled' } });
    this.name = 'AbortError';
    this.reason = reason;
  }
}
