import type { BusLogger } from '../runtime/bus-logger.js';
import { BusError } from './bus-error.js';
import { randomUUID } from 'node:crypto';
import { ErrorCodes } from './error-codes.js';
import { isUnexpectedError, toBusError } from './to-bus-error.js';

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
  errorId?: string,
): void {
  if (!countsAsFailure(error, aborted)) return;
  stats.handlerErrors++;
  if (errorId !== undefined || (error.code === ErrorCodes.AGENT_UNAVAILABLE && !(raw instanceof BusError))) {
    const message = (raw as Error)?.message ?? String(raw);
    logger.error(`handler for "${target}" failed${errorId ? ` (error id ${errorId})` : ''}: ${message}`, (raw as Error)?.stack);
  }
}

/** Whether a handler that ended with `error` failed: one cancelled by its caller has not, one that timed out has. */
export function countsAsFailure(error: BusError, aborted: boolean): boolean {
  return !aborted || error.code === ErrorCodes.AGENT_TIMEOUT;
}

/**
 * The error a failed handler's caller receives: the abort reason when the call was aborted, the error itself when
 * it was thrown on purpose (a BusError, an HttpException, an RpcException), and for anything else, unless
 * `expose` is set, `internal error (error id …)`: the id is in the log line that holds the real message.
 */
export function handlerFailure(
  raw: unknown,
  aborted: boolean,
  abortReason: unknown,
  expose: boolean,
): { error: BusError; errorId?: string } {
  if (aborted && !(raw instanceof BusError)) return { error: toBusError(abortReason) };
  if (expose || !isUnexpectedError(raw)) return { error: toBusError(raw) };
  const errorId = randomUUID();
  return {
    error: new BusError(ErrorCodes.AGENT_UNAVAILABLE, `internal error (error id ${errorId})`, {
      retryable: false,
      cause: { error_id: errorId },
    }),
    errorId,
  };
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
