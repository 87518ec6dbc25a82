import { HttpException } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { BusError } from './bus-error.js';
import { ErrorCodes, isErrorCode, type ErrorCode } from './error-codes.js';

const HTTP_TO_CODE: Record<number, ErrorCode> = {
  400: ErrorCodes.INVALID_REQUEST,
  401: ErrorCodes.AUTH_FAILURE,
  403: ErrorCodes.AUTH_FAILURE,
  404: ErrorCodes.NO_HANDLER,
  408: ErrorCodes.AGENT_TIMEOUT,
  413: ErrorCodes.INVALID_REQUEST,
  422: ErrorCodes.INVALID_REQUEST,
  429: ErrorCodes.BACKPRESSURE_DROP,
  504: ErrorCodes.AGENT_TIMEOUT,
};

/** The acp/1.0 code of an HTTP status (docs/protocol.md §1, read backwards): 5xx without its own code is AGENT_UNAVAILABLE. */
export function codeOfHttpStatus(status: number): ErrorCode {
  return HTTP_TO_CODE[status] ?? (status >= 500 ? ErrorCodes.AGENT_UNAVAILABLE : ErrorCodes.INVALID_REQUEST);
}

/**
 * Maps anything a handler, pipe, guard or filter can throw to a BusError:
 * - BusError: itself;
 * - an AbortSignal's reason (TimeoutError → AGENT_TIMEOUT, AbortError → AGENT_UNAVAILABLE 'cancelled');
 * - Nest HttpException (ValidationPipe's BadRequestException → INVALID_REQUEST with the failing fields,
 *   guards' ForbiddenException → AUTH_FAILURE, …);
 * - RpcException with an ErrorPayload-shaped object or a string;
 * - any other Error → AGENT_UNAVAILABLE, not retryable (the handler failed, not the network).
 */
export function toBusError(err: unknown): BusError {
  if (err instanceof BusError) return err;
  if (err instanceof Error && err.name === 'TimeoutError') {
    return new BusError(ErrorCodes.AGENT_TIMEOUT, err.message || 'deadline exceeded');
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return new BusError(ErrorCodes.AGENT_UNAVAILABLE, err.message || 'cancelled', { retryable: false, cause: { reason: 'cancelled' } });
  }
  if (err instanceof HttpException) return fromHttpException(err);
  if (err instanceof RpcException) return fromRpcError(err.getError(), err.message);
  if (isPlainErrorObject(err)) return fromRpcError(err, String((err as { message?: unknown }).message ?? 'error'));
  if (err instanceof Error) {
    return new BusError(ErrorCodes.AGENT_UNAVAILABLE, err.message || err.name, { retryable: false });
  }
  return new BusError(ErrorCodes.AGENT_UNAVAILABLE, typeof err === 'string' ? err : 'handler failed', { retryable: false });
}

/**
 * Whether `err` was not thrown on purpose: not a BusError, HttpException or RpcException, not an error object an
 * exception filter made, not an abort reason. Its text may hold internals (addresses, credentials, stack
 * details), so it does not leave the process unless the bus is told to expose it.
 */
export function isUnexpectedError(err: unknown): boolean {
  if (err instanceof BusError || err instanceof HttpException || err instanceof RpcException) return false;
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return false;
  return !isPlainErrorObject(err);
}

function fromHttpException(err: HttpException): BusError {
  const status = err.getStatus();
  const code = codeOfHttpStatus(status);
  const response = err.getResponse();
  let message = err.message;
  let cause: Record<string, unknown> | undefined;
  if (response && typeof response === 'object') {
    const r = response as { message?: unknown; error?: unknown };
    if (Array.isArray(r.message)) {
      // ValidationPipe: one message per failing constraint.
      const messages = r.message.map(String);
      message = messages.join('; ');
      cause = { errors: messages, fields: [...new Set(messages.map((m) => m.split(' ')[0]))] };
    } else if (typeof r.message === 'string') {
      message = r.message;
    }
  }
  return new BusError(code, message, { cause: { ...(cause ?? {}), http_status: status } });
}

function fromRpcError(error: unknown, fallbackMessage: string): BusError {
  if (typeof error === 'string') {
    if (error === 'Forbidden resource') return new BusError(ErrorCodes.AUTH_FAILURE, error);
    return new BusError(ErrorCodes.AGENT_UNAVAILABLE, error, { retryable: false });
  }
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown };
    if (isErrorCode(e.code)) return BusError.fromPayload(error);
    const message = typeof e.message === 'string' ? e.message : fallbackMessage;
    // A guard's refusal, after Nest's RPC exception filter made it `{ status: 'error', message }`.
    const code = message === 'Forbidden resource' ? ErrorCodes.AUTH_FAILURE : ErrorCodes.AGENT_UNAVAILABLE;
    return new BusError(code, message, { retryable: false, cause: { ...(error as Record<string, unknown>) } });
  }
  return new BusError(ErrorCodes.AGENT_UNAVAILABLE, fallbackMessage, { retryable: false });
}

function isPlainErrorObject(v: unknown): boolean {
  return !!v && typeof v === 'object' && !(v instanceof Error) && 'message' in (v as object);
}
