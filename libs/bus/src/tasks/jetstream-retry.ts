import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';

/**
 * How long a task store operation keeps retrying through a JetStream election or a lost server before it gives
 * up with a retryable TRANSPORT_FAILURE (ms). An election on a healthy cluster takes a few seconds; a frozen server
 * is noticed by the connection within 4 s (pingInterval × (maxPingOut + 1)), and one JetStream request waits 5 s.
 */
export const DEFAULT_RETRY_WINDOW_MS = 20_000;

const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'NoRespondersError',
  'RequestError',
  'ConnectionError',
  'JetStreamNotEnabled',
  'JetStreamStatusError',
]);
/** What servers answer while a stream or the meta group has no leader, or a peer catches up. */
const TRANSIENT_TEXT =
  /temporarily unavailable|not enabled|timeout|no responders|no suitable peers|leader|not current|disconnect|reconnect/i;

/** A JetStream failure that an election or a reconnect mends: worth the same request again shortly. */
export function isTransient(err: unknown): boolean {
  if (err instanceof BusError) return err.retryable && err.code === ErrorCodes.TRANSPORT_FAILURE;
  const e = err as { name?: string; message?: string; code?: unknown } | undefined;
  if (!e) return false;
  if (e.name === 'ClosedConnectionError' || e.name === 'DrainingConnectionError') return false;
  if (e.name && TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code === 503 || e.code === '503' || e.code === 408 || e.code === '408') return true;
  return TRANSIENT_TEXT.test(e.message ?? '');
}

/** The retryable TRANSPORT_FAILURE a store operation ends with when JetStream stays unavailable. */
export function unavailable(what: string, err: unknown, windowMs?: number): BusError {
  if (err instanceof BusError) return err;
  const reason = (err as Error | undefined)?.message ?? String(err);
  return new BusError(
    ErrorCodes.TRANSPORT_FAILURE,
    `task store unavailable: ${what} failed${windowMs ? ` for ${windowMs} ms` : ''} (${reason}); try again`,
    { retryable: true },
  );
}

/**
 * Runs `op` until it succeeds, retrying transient failures with backoff for up to `windowMs`; `op` gets whether
 * an earlier try failed transiently (its write may have landed anyway, so it must be idempotent or check). A
 * failure that is not transient is thrown as it is; one that outlasts the window becomes a retryable
 * TRANSPORT_FAILURE, never a raw NATS error.
 */
export async function retrying<T>(what: string, windowMs: number, op: (retry: boolean) => Promise<T>): Promise<T> {
  const until = Date.now() + windowMs;
  let delay = 50;
  for (let retry = false; ; retry = true) {
    try {
      return await op(retry);
    } catch (err) {
      if (!isTransient(err)) throw err;
      if (Date.now() + delay > until) throw unavailable(what, err, windowMs);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1000);
    }
  }
}
