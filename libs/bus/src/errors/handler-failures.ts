import type { BusLogger } from '../runtime/bus-logger.js';
import { BusError } from './bus-error.js';
import { ErrorCodes } from './error-codes.js';

/**
 * Counts a handler failure in the bus's stats and logs an unexpected one: a handler cancelled by its caller has not
 * failed, one that timed out has; an error that is not a BusError is logged with its stack.
 */
export function countHandlerFailure(
  stats: { handlerErrors: number },
  logger: BusLogger,
  target: string,
  error: BusError,
  raw: unknown,
  aborted: boolean,
): void {
  if (aborted && error.code !== ErrorCodes.AGENT_TIMEOUT) return;
  stats.handlerErrors++;
  if (error.code === ErrorCodes.AGENT_UNAVAILABLE && !(raw instanceof BusError)) {
    logger.error(`handler for "${target}" failed: ${error.message}`, (raw as Error)?.stack);
  }
}

// The errors a responder ends or refuses a call with, the same on the message path and for direct calls.

/** Refused: the target already runs `limit` calls (retryable). */
export function concurrencyLimitError(target: string, limit: number): BusError {
  return new BusError(ErrorCodes.BACKPRESSURE_DROP, `"${target}" is at its concurrency limit (${limit})`);
}

/** Refused: the call's deadline had passed before its handler could start. */
export function deadlinePassedError(): BusError {
  return new BusError(ErrorCodes.AGENT_TIMEOUT, 'deadline already passed on arrival');
}

/** The handler's abort reason at the call's deadline. */
export function deadlineExceededError(target: string): BusError {
  return new BusError(ErrorCodes.AGENT_TIMEOUT, `deadline of "${target}" exceeded`);
}

/** The handler's abort reason when its caller cancelled the call. */
export function cancelledByCallerError(): BusError {
  return new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'cancelled by caller', { retryable: false, cause: { reason: 'cancelled' } });
}

/** The handler's abort reason when its caller no longer exists. */
export function callerGoneError(): BusError {
  return new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'caller is gone', { retryable: false });
}
