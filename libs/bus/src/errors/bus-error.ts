import { RpcException } from '@nestjs/microservices';
import type { Envelope, ErrorPayload } from '../protocol/envelope.js';
import { DEFAULT_RETRYABLE, ErrorCodes, HTTP_STATUS_OF, isErrorCode, type ErrorCode } from './error-codes.js';

export interface BusErrorOptions {
  retryable?: boolean;
  cause?: Record<string, unknown>;
  /** The error frame this error was read from, when it came over the wire. */
  envelope?: Envelope;
}

/**
 * The one error type of the bus. It carries an acp/1.0 code, a message, the retryable flag and an optional
 * structured cause, and is what `invoke` and `stream` throw for an error reply.
 *
 * It extends Nest's `RpcException` so that exception filters can catch it like any RPC error.
 *
 * @example
 * throw new BusError('INVALID_REQUEST', 'city is required', { cause: { fields: ['city'] } });
 */
export class BusError extends RpcException {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details?: Record<string, unknown>;
  readonly envelope?: Envelope;

  constructor(code: ErrorCode, message: string, options: BusErrorOptions = {}) {
    const safeCode: ErrorCode = isErrorCode(code) ? code : ErrorCodes.AGENT_UNAVAILABLE;
    const retryable = options.retryable ?? DEFAULT_RETRYABLE[safeCode];
    super({ code: safeCode, message, retryable, ...(options.cause ? { cause: options.cause } : {}) });
    this.name = 'BusError';
    this.message = message;
    this.code = safeCode;
    this.retryable = retryable;
    if (options.cause) this.details = options.cause;
    if (options.envelope) this.envelope = options.envelope;
  }

  /** HTTP status for this code (docs/protocol.md §1). */
  get status(): number {
    return HTTP_STATUS_OF[this.code];
  }

  toPayload(): ErrorPayload {
    const p: ErrorPayload = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.details && Object.keys(this.details).length > 0) p.cause = this.details;
    return p;
  }

  /** Reads an ErrorPayload from the wire; an unknown code becomes AGENT_UNAVAILABLE, keeping the original in cause. */
  static fromPayload(payload: unknown, envelope?: Envelope): BusError {
    const p = (payload && typeof payload === 'object' ? payload : {}) as Partial<ErrorPayload>;
    const message = typeof p.message === 'string' ? p.message : 'remote error';
    const cause = p.cause && typeof p.cause === 'object' && Object.keys(p.cause).length > 0 ? p.cause : undefined;
    if (isErrorCode(p.code)) {
      return new BusError(p.code, message, { retryable: typeof p.retryable === 'boolean' ? p.retryable : undefined, cause, envelope });
    }
    return new BusError(ErrorCodes.AGENT_UNAVAILABLE, message, {
      retryable: typeof p.retryable === 'boolean' ? p.retryable : false,
      cause: { ...(cause ?? {}), remote_code: p.code ?? null },
      envelope,
    });
  }
}
