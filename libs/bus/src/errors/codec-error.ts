import { BusError } from './bus-error.js';
import { ErrorCodes } from './error-codes.js';

/**
 * A message that cannot be encoded (a cycle, a BigInt, nesting too deep): the sender's own error, so CODEC_FAILURE
 * and never retryable, the same on every transport.
 */
export function codecError(err: unknown, what: string): BusError {
  if (err instanceof BusError) return err;
  return new BusError(ErrorCodes.CODEC_FAILURE, `${what} cannot be encoded as JSON: ${(err as Error)?.message ?? String(err)}`, {
    retryable: false,
  });
}
