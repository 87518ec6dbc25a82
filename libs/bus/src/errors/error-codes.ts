/** The eight acp/1.0 error codes; no other code may reach the wire. */
export const ErrorCodes = {
  AGENT_TIMEOUT: 'AGENT_TIMEOUT',
  AGENT_UNAVAILABLE: 'AGENT_UNAVAILABLE',
  BACKPRESSURE_DROP: 'BACKPRESSURE_DROP',
  TRANSPORT_FAILURE: 'TRANSPORT_FAILURE',
  CODEC_FAILURE: 'CODEC_FAILURE',
  AUTH_FAILURE: 'AUTH_FAILURE',
  INVALID_REQUEST: 'INVALID_REQUEST',
  NO_HANDLER: 'NO_HANDLER',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** HTTP status the gateway answers with for each code (docs/protocol.md §1). */
export const HTTP_STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  AGENT_TIMEOUT: 504,
  AGENT_UNAVAILABLE: 502,
  BACKPRESSURE_DROP: 429,
  TRANSPORT_FAILURE: 502,
  CODEC_FAILURE: 500,
  AUTH_FAILURE: 401,
  INVALID_REQUEST: 400,
  NO_HANDLER: 404,
};

/** Whether a code is retryable when the error does not say otherwise. */
export const DEFAULT_RETRYABLE: Readonly<Record<ErrorCode, boolean>> = {
  AGENT_TIMEOUT: true,
  AGENT_UNAVAILABLE: true,
  BACKPRESSURE_DROP: true,
  TRANSPORT_FAILURE: true,
  CODEC_FAILURE: false,
  AUTH_FAILURE: false,
  INVALID_REQUEST: false,
  NO_HANDLER: false,
};

const CODES = new Set<string>(Object.values(ErrorCodes));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && CODES.has(value);
}
